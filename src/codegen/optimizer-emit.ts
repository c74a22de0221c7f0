/**
 * The generated optimizer: SGD in PyTorch's form (g += wd·w; v = M·v + g; w −= lr·v), Adam (β1,
 * β2, eps as configured; L2 weight decay added to g) and AdamW (w shrunk by 1 − lr·wd first), with
 * optional global gradient-norm clipping first — over the trainable ranges of the weights arena,
 * the same arithmetic as src/interp/optimizers.ts.
 */
export const optimizerCode = {
  fields(arr: string): string {
    return `  /** Optimizer state: SGD's velocity in v; Adam's moments in m and v; the steps taken in t. */
  private readonly m: ${arr};
  private readonly v: ${arr};
  private t = 0;
  /**
   * The optimizer and its settings; change them before training if you like. weightDecay: L2 added
   * to the gradient (sgd, adam) or decoupled (adamw), PyTorch's weight_decay; clip: the global
   * gradient norm is clipped to it before each step (clip_grad_norm_), 0 for none.
   */
  optimizer: { kind: "sgd" | "adam" | "adamw"; lr: number; momentum: number; beta1: number; beta2: number; eps: number; weightDecay: number; clip: number } = { kind: TRAIN_DEFAULTS.optimizer, lr: TRAIN_DEFAULTS.lr, momentum: TRAIN_DEFAULTS.momentum, beta1: TRAIN_DEFAULTS.beta1, beta2: TRAIN_DEFAULTS.beta2, eps: TRAIN_DEFAULTS.eps, weightDecay: TRAIN_DEFAULTS.weightDecay, clip: TRAIN_DEFAULTS.clip };`;
  },
  allocate(arr: string): string {
    void arr;
    return `    this.m = new Arr(WEIGHT_COUNT);\n    this.v = new Arr(WEIGHT_COUNT);`;
  },
  /** Export and import of the state (checkpoints), over the arena's buffers (runtime/optimizer-state.ts). */
  stateMethods(): string {
    return `
  /** The optimizer's state: steps taken and, per trainable weight by §8 name, sgd's velocity or Adam's m and v (float64 copies). For checkpoints. */
  optimizerState(): OptimizerState {
    return arenaOptimizerState(this.optimizer.kind, this.t, WEIGHTS, { velocity: this.v, m: this.m, v: this.v });
  }

  /** Continues from a state optimizerState() gave; throws an Error naming what differs (another optimizer kind, other weights or sizes). */
  setOptimizerState(state: OptimizerState): void {
    this.t = setArenaOptimizerState(state, this.optimizer.kind, WEIGHTS, { velocity: this.v, m: this.m, v: this.v });
  }`;
  },
  reset(): string {
    return `    this.m.fill(0);\n    this.v.fill(0);\n    this.t = 0;`;
  },
  /**
   * The body of the kernels' stepRange(from, to, kind, rate, momentum, beta1, beta2, eps, t,
   * weightDecay, scale, ranges): the update of ranges ∩ [from, to) — a threaded build's threads
   * each step their slice with it, step() all of it.
   */
  stepRange(): string {
    return `
    const kern = this.kern;
    const w = this.w;
    const g = this.g;
    const decay = kind === 2 ? 1 - rate * weightDecay : 1;
    for (const [start, end] of ranges) {
      const s = Math.max(start, from);
      const count = Math.min(end, to) - s;
      if (count <= 0) continue;
      if (scale !== 1) for (let i = s; i < s + count; i++) g[i] *= scale;
      // L2 weight decay (sgd, adam): g += wd·w, as the sgd kernel's g −= (−wd)·w
      if (weightDecay !== 0 && kind !== 2) kern.sgd(g, w, s, count, -weightDecay);
      if (kind !== 0) kern.adam(w, g, this.m, this.v, s, count, rate, beta1, beta2, 1 - beta1, 1 - beta2, 1 - beta1 ** t, 1 - beta2 ** t, eps, decay);
      else if (momentum === 0) kern.sgd(w, g, s, count, rate);
      else kern.sgdMomentum(w, g, this.v, s, count, rate, momentum);
    }`;
  },
  /** `kernels`: the step runs on the model's kernel table (this.kern: WebAssembly SIMD or JS), over the parameter `ranges`. */
  step(_config: unknown, kernels = false): string {
    if (kernels) return stepOnKernels;
    return `
    const o = this.optimizer;
    const kind = optimizerKindIndex(o.kind);
    const rate = lr ?? o.lr;
    const w = this.w;
    const g = this.g;
    const m = this.m;
    const v = this.v;
    // || 0: an optimizer object set without the newer fields steps as before
    const wd = o.weightDecay || 0;
    this.t++;
    if (o.clip > 0) {
      const scale = clipScale(squaredSum(g, TRAINABLE, 0, WEIGHT_COUNT), o.clip);
      if (scale !== 1) for (const [start, end] of TRAINABLE) for (let i = start; i < end; i++) g[i] *= scale;
    }
    if (wd !== 0 && kind !== 2) for (const [start, end] of TRAINABLE) for (let i = start; i < end; i++) g[i] += wd * w[i]!;
    if (kind === 0) {
      const mu = o.momentum;
      for (const [start, end] of TRAINABLE) {
        if (mu === 0) {
          for (let i = start; i < end; i++) w[i] -= rate * g[i]!;
        } else {
          for (let i = start; i < end; i++) {
            v[i] = mu * v[i]! + g[i]!;
            w[i] -= rate * v[i]!;
          }
        }
      }
      return;
    }
    const b1 = o.beta1;
    const b2 = o.beta2;
    const c1 = 1 - b1 ** this.t;
    const c2 = 1 - b2 ** this.t;
    const decay = kind === 2 ? 1 - rate * wd : 1;
    for (const [start, end] of TRAINABLE) {
      for (let i = start; i < end; i++) {
        const gi = g[i]!;
        m[i] = b1 * m[i]! + (1 - b1) * gi;
        v[i] = b2 * v[i]! + (1 - b2) * gi * gi;
        w[i] = w[i]! * decay - (rate * (m[i]! / c1)) / (Math.sqrt(v[i]! / c2) + o.eps);
      }
    }`;
  },
};

const stepOnKernels = `
    const o = this.optimizer;
    const kind = optimizerKindIndex(o.kind);
    const rate = lr ?? o.lr;
    this.t++;
    const scale = o.clip > 0 ? clipScale(squaredSum(this.g, ranges, 0, WEIGHT_COUNT), o.clip) : 1;
    this.stepRange(0, WEIGHT_COUNT, kind, rate, o.momentum, o.beta1, o.beta2, o.eps, this.t, o.weightDecay || 0, scale, ranges);`;
