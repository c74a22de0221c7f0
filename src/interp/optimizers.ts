import type { Tensor } from "./tensor.js";

export interface OptimizerConfig {
  readonly kind: "sgd" | "adam";
  readonly lr: number;
  readonly momentum?: number;
  readonly beta1?: number;
  readonly beta2?: number;
  readonly eps?: number;
}

/** One parameter and its gradient, as the optimizer sees them. */
export interface Slot {
  readonly key: string;
  readonly param: Tensor;
  readonly grad: Tensor;
}

export interface Optimizer {
  step(slots: readonly Slot[]): void;
}

export const DEFAULT_LR = { sgd: 0.01, adam: 0.001 } as const;

/** SGD in PyTorch's form: v = M·v + g; w −= lr·v (v starts at 0). */
class Sgd implements Optimizer {
  private readonly velocity = new Map<string, Float64Array>();
  constructor(private readonly lr: number, private readonly momentum: number) {}

  step(slots: readonly Slot[]): void {
    for (const { key, param, grad } of slots) {
      const w = param.data;
      const g = grad.data;
      if (this.momentum === 0) {
        for (let i = 0; i < w.length; i++) w[i]! -= this.lr * g[i]!;
        continue;
      }
      let v = this.velocity.get(key);
      if (!v) this.velocity.set(key, (v = new Float64Array(w.length)));
      for (let i = 0; i < w.length; i++) {
        v[i] = this.momentum * v[i]! + g[i]!;
        w[i]! -= this.lr * v[i]!;
      }
    }
  }
}

/** Adam (Kingma & Ba), bias-corrected, PyTorch's defaults: β1 0.9, β2 0.999, eps 1e-8. */
class Adam implements Optimizer {
  private readonly m = new Map<string, Float64Array>();
  private readonly v = new Map<string, Float64Array>();
  private t = 0;
  constructor(private readonly lr: number, private readonly beta1: number, private readonly beta2: number, private readonly eps: number) {}

  step(slots: readonly Slot[]): void {
    this.t++;
    const c1 = 1 - this.beta1 ** this.t;
    const c2 = 1 - this.beta2 ** this.t;
    for (const { key, param, grad } of slots) {
      const w = param.data;
      const g = grad.data;
      let m = this.m.get(key);
      let v = this.v.get(key);
      if (!m || !v) {
        this.m.set(key, (m = new Float64Array(w.length)));
        this.v.set(key, (v = new Float64Array(w.length)));
      }
      for (let i = 0; i < w.length; i++) {
        m[i] = this.beta1 * m[i]! + (1 - this.beta1) * g[i]!;
        v[i] = this.beta2 * v[i]! + (1 - this.beta2) * g[i]! * g[i]!;
        w[i]! -= (this.lr * (m[i]! / c1)) / (Math.sqrt(v[i]! / c2) + this.eps);
      }
    }
  }
}

export function makeOptimizer(c: OptimizerConfig): Optimizer {
  return c.kind === "sgd" ? new Sgd(c.lr, c.momentum ?? 0) : new Adam(c.lr, c.beta1 ?? 0.9, c.beta2 ?? 0.999, c.eps ?? 1e-8);
}
