import { clipScale } from "../codegen/runtime/clip.js";
import { checkOptimizerState, optimizerSlotNames } from "../codegen/runtime/optimizer-state.js";
import type { OptimizerKind, OptimizerState } from "../codegen/runtime/public-types.js";
import type { TrainConfig } from "../ir/types.js";
import type { Tensor } from "./tensor.js";

export type { OptimizerKind, OptimizerState };

export interface OptimizerConfig {
  readonly kind: OptimizerKind;
  readonly lr: number;
  readonly momentum?: number;
  readonly beta1?: number;
  readonly beta2?: number;
  readonly eps?: number;
  /** L2 added to the gradient (sgd, adam), or decoupled (adamw): PyTorch's weight_decay. */
  readonly weightDecay?: number;
  /** Global gradient-norm clipping before each step (clip_grad_norm_'s max_norm); absent or 0: none. */
  readonly clip?: number;
}

/** One parameter and its gradient, as the optimizer sees them. */
export interface Slot {
  readonly key: string;
  readonly param: Tensor;
  readonly grad: Tensor;
}

export interface Optimizer {
  readonly kind: OptimizerKind;
  /** One step over the slots, at the configured rate or `lr` (a schedule's rate for this batch). */
  step(slots: readonly Slot[], lr?: number): void;
  /** The state (steps taken, buffers per slot by its §8 name), float64 copies, for checkpoints. */
  state(slots: readonly Slot[]): OptimizerState;
  /** Continues from a state (same kind, the same slots and sizes); throws an Error naming what differs. */
  setState(state: OptimizerState, slots: readonly Slot[]): void;
}

export const DEFAULT_LR = { sgd: 0.01, adam: 0.001, adamw: 0.001 } as const;
/** torch.optim.AdamW's default weight_decay (sgd and adam default to none). */
export const DEFAULT_ADAMW_WEIGHT_DECAY = 0.01;

/**
 * torch.nn.utils.clip_grad_norm_(max_norm=clip): the global L2 norm over every slot's gradient;
 * when clip / (norm + 1e-6) < 1, every gradient is scaled by it (in place).
 */
export function clipGradients(slots: readonly Slot[], clip: number): void {
  let squares = 0;
  for (const { grad } of slots) for (const x of grad.data) squares += x * x;
  const scale = clipScale(squares, clip);
  if (scale !== 1) for (const { grad } of slots) for (let i = 0; i < grad.data.length; i++) grad.data[i]! *= scale;
}

/** What every optimizer shares: the step count, clipping, the per-slot buffers and their export. */
abstract class Base implements Optimizer {
  protected t = 0;
  protected readonly buffers = new Map<string, Map<string, Float64Array>>();
  constructor(readonly kind: OptimizerKind, protected readonly lr: number, protected readonly weightDecay: number, private readonly clip: number) {
    for (const name of optimizerSlotNames(kind)) this.buffers.set(name, new Map());
  }

  step(slots: readonly Slot[], lr = this.lr): void {
    this.t++;
    if (this.clip > 0) clipGradients(slots, this.clip);
    this.update(slots, lr);
  }

  protected abstract update(slots: readonly Slot[], lr: number): void;

  /** The slot's buffer `name`, zeros the first time. */
  protected buffer(name: string, slot: Slot): Float64Array {
    const map = this.buffers.get(name)!;
    let b = map.get(slot.key);
    if (!b) map.set(slot.key, (b = new Float64Array(slot.param.data.length)));
    return b;
  }

  state(slots: readonly Slot[]): OptimizerState {
    const out: Record<string, Record<string, Float64Array>> = {};
    for (const name of optimizerSlotNames(this.kind)) {
      out[name] = {};
      for (const slot of slots) out[name][slot.key] = Float64Array.from(this.buffer(name, slot));
    }
    return { kind: this.kind, step: this.t, slots: out };
  }

  setState(state: OptimizerState, slots: readonly Slot[]): void {
    checkOptimizerState(state, this.kind, slots.map((s) => ({ name: s.key, size: s.param.data.length })));
    for (const name of optimizerSlotNames(this.kind)) for (const slot of slots) this.buffer(name, slot).set(state.slots[name]![slot.key]!);
    this.t = state.step;
  }
}

/** SGD in PyTorch's form: g += wd·w (weight_decay); v = M·v + g; w −= lr·v (v starts at 0). */
class Sgd extends Base {
  constructor(lr: number, private readonly momentum: number, weightDecay: number, clip: number) {
    super("sgd", lr, weightDecay, clip);
  }

  protected update(slots: readonly Slot[], lr: number): void {
    for (const slot of slots) {
      const w = slot.param.data;
      const g = slot.grad.data;
      if (this.weightDecay !== 0) for (let i = 0; i < w.length; i++) g[i]! += this.weightDecay * w[i]!;
      if (this.momentum === 0) {
        for (let i = 0; i < w.length; i++) w[i]! -= lr * g[i]!;
        continue;
      }
      const v = this.buffer("velocity", slot);
      for (let i = 0; i < w.length; i++) {
        v[i] = this.momentum * v[i]! + g[i]!;
        w[i]! -= lr * v[i]!;
      }
    }
  }
}

/**
 * Adam (Kingma & Ba), bias-corrected, PyTorch's defaults: β1 0.9, β2 0.999, eps 1e-8. adam adds
 * weight_decay·w to the gradient (torch.optim.Adam); adamw first shrinks w by (1 − lr·weight_decay)
 * (torch.optim.AdamW).
 */
class Adam extends Base {
  constructor(kind: "adam" | "adamw", lr: number, private readonly beta1: number, private readonly beta2: number, private readonly eps: number, weightDecay: number, clip: number) {
    super(kind, lr, weightDecay, clip);
  }

  protected update(slots: readonly Slot[], lr: number): void {
    const c1 = 1 - this.beta1 ** this.t;
    const c2 = 1 - this.beta2 ** this.t;
    const decoupled = this.kind === "adamw";
    const decay = decoupled ? 1 - lr * this.weightDecay : 1;
    for (const slot of slots) {
      const w = slot.param.data;
      const g = slot.grad.data;
      const m = this.buffer("m", slot);
      const v = this.buffer("v", slot);
      if (!decoupled && this.weightDecay !== 0) for (let i = 0; i < w.length; i++) g[i]! += this.weightDecay * w[i]!;
      if (decay !== 1) for (let i = 0; i < w.length; i++) w[i]! *= decay;
      for (let i = 0; i < w.length; i++) {
        m[i] = this.beta1 * m[i]! + (1 - this.beta1) * g[i]!;
        v[i] = this.beta2 * v[i]! + (1 - this.beta2) * g[i]! * g[i]!;
        w[i]! -= (lr * (m[i]! / c1)) / (Math.sqrt(v[i]! / c2) + this.eps);
      }
    }
  }
}

/**
 * The optimizer a train { } block describes (sgd at its default rate when it names none), with the
 * command line's overrides: optimizer line, `weight_decay` and `clip` in one config.
 */
export function optimizerConfigOf(train: TrainConfig | undefined, overrides: { readonly lr?: number; readonly weightDecay?: number; readonly clip?: number } = {}): OptimizerConfig {
  const base = train?.optimizer ?? { kind: "sgd" as const };
  const weightDecay = overrides.weightDecay ?? train?.weightDecay;
  const clip = overrides.clip ?? train?.clip;
  return { ...base, lr: overrides.lr ?? base.lr ?? DEFAULT_LR[base.kind], ...(weightDecay === undefined ? {} : { weightDecay }), ...(clip === undefined ? {} : { clip }) };
}

export function makeOptimizer(c: OptimizerConfig): Optimizer {
  const clip = c.clip ?? 0;
  if (c.kind === "sgd") return new Sgd(c.lr, c.momentum ?? 0, c.weightDecay ?? 0, clip);
  const weightDecay = c.weightDecay ?? (c.kind === "adamw" ? DEFAULT_ADAMW_WEIGHT_DECAY : 0);
  return new Adam(c.kind, c.lr, c.beta1 ?? 0.9, c.beta2 ?? 0.999, c.eps ?? 1e-8, weightDecay, clip);
}
