/**
 * The generated optimizer: SGD in PyTorch's form (v = M·v + g; w −= lr·v) and Adam
 * (β1, β2, eps as configured), over the trainable ranges of the weights arena — the same
 * arithmetic as src/interp/optimizers.ts.
 */
export const optimizerCode = {
  fields(arr: string): string {
    return `  /** Optimizer state: SGD's velocity in v; Adam's moments in m and v. */\n  private readonly m: ${arr};\n  private readonly v: ${arr};\n  private t = 0;\n  /** The optimizer and its settings; change them before training if you like. */\n  optimizer: { kind: "sgd" | "adam"; lr: number; momentum: number; beta1: number; beta2: number; eps: number } = { kind: TRAIN_DEFAULTS.optimizer, lr: TRAIN_DEFAULTS.lr, momentum: TRAIN_DEFAULTS.momentum, beta1: TRAIN_DEFAULTS.beta1, beta2: TRAIN_DEFAULTS.beta2, eps: TRAIN_DEFAULTS.eps };`;
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
  /** The body of a threaded build's stepRange: stepOnKernels over TRAINABLE ∩ [from, to). */
  stepRange(): string {
    return `
    const kern = this.kern;
    for (const [start, end] of TRAINABLE) {
      const s = Math.max(start, from);
      const count = Math.min(end, to) - s;
      if (count <= 0) continue;
      if (kind === 1) kern.adam(this.w, this.g, this.m, this.v, s, count, rate, beta1, beta2, 1 - beta1 ** t, 1 - beta2 ** t, eps);
      else if (momentum === 0) kern.sgd(this.w, this.g, s, count, rate);
      else kern.sgdMomentum(this.w, this.g, this.v, s, count, rate, momentum);
    }`;
  },
  /** `kernels`: the step runs on the model's kernel table (this.kern: WebAssembly SIMD or JS), over the parameter `ranges`. */
  step(_config: unknown, kernels = false): string {
    if (kernels) return stepOnKernels;
    return `
    const o = this.optimizer;
    const rate = lr ?? o.lr;
    const w = this.w;
    const g = this.g;
    const m = this.m;
    const v = this.v;
    this.t++;
    if (o.kind === "sgd") {
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
    for (const [start, end] of TRAINABLE) {
      for (let i = start; i < end; i++) {
        const gi = g[i]!;
        m[i] = b1 * m[i]! + (1 - b1) * gi;
        v[i] = b2 * v[i]! + (1 - b2) * gi * gi;
        w[i] -= (rate * (m[i]! / c1)) / (Math.sqrt(v[i]! / c2) + o.eps);
      }
    }`;
  },
};

const stepOnKernels = `
    const o = this.optimizer;
    const rate = lr ?? o.lr;
    const kern = this.kern;
    this.t++;
    if (o.kind === "sgd") {
      for (const [start, end] of ranges) {
        if (o.momentum === 0) kern.sgd(this.w, this.g, start, end - start, rate);
        else kern.sgdMomentum(this.w, this.g, this.v, start, end - start, rate, o.momentum);
      }
      return;
    }
    const c1 = 1 - o.beta1 ** this.t;
    const c2 = 1 - o.beta2 ** this.t;
    for (const [start, end] of ranges) kern.adam(this.w, this.g, this.m, this.v, start, end - start, rate, o.beta1, o.beta2, c1, c2, o.eps);`;
