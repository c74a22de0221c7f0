/**
 * What the runtime knows of the module it is part of, passed in rather than referred to, so
 * that each runtime file type-checks and can be tested on its own. The generated module
 * builds one `ModuleInfo` from its NETWORK, WEIGHTS and TRAIN_DEFAULTS.
 */

export type LossName = "squared" | "cross_entropy" | "binary_cross_entropy";

/** The parts of a generated Model the runtime uses (either precision). */
export interface ModelLike {
  readonly maxBatch: number;
  /** All weights and state, laid out as WEIGHTS says. */
  readonly w: Float32Array | Float64Array;
  loss: LossName | null;
  readonly optimizer: { lr: number };
  trainStep(inputs: readonly ArrayLike<number>[], targets: ArrayLike<number>, n: number, lr?: number): number;
  predict(inputs: readonly ArrayLike<number>[], n: number): Float32Array | Float64Array;
  /** Whether every weight is finite, on the model's kernels (f32 modules with WebAssembly kernels). */
  weightsFinite?(): boolean;
}

export interface WeightInfo {
  readonly name: string;
  readonly shape: readonly number[];
  readonly offset: number;
  readonly size: number;
}

export interface InputInfo {
  readonly name: string;
  readonly shape: readonly number[];
  /** Set when the input feeds only embedding layers: values must be token ids below it. */
  readonly vocabulary?: number;
}

export interface ModuleInfo<M extends ModelLike = ModelLike> {
  /** The .dl file the module was compiled from. */
  readonly source: string;
  /** The network's name (null: unnamed) and the module's number type: a checkpoint's identity. */
  readonly network: string | null;
  readonly precision: "f32" | "f64";
  readonly inputs: readonly InputInfo[];
  /** One sample's output shape. */
  readonly output: readonly number[];
  /** Whether the network ends in softmax (`run` then names each sample's class). */
  readonly outputSoftmax: boolean;
  readonly weights: readonly WeightInfo[];
  readonly defaults: {
    readonly loss: LossName | null;
    readonly optimizer: "sgd" | "adam" | "adamw";
    readonly lr: number;
    readonly batch: number;
    readonly epochs: number;
    readonly seed: number;
    /** The train block's learning-rate schedule and warmup (runtime/schedule.ts; warmup 0: none), and patience (null: none). */
    readonly schedule?: { readonly kind: "step"; readonly every: number; readonly gamma: number } | { readonly kind: "cosine" } | null;
    readonly warmup?: number;
    readonly patience?: number | null;
  };
  /** Shards of a training batch (dlc compile --threads; 1: no threads). */
  readonly shards: number;
  /** A fresh model (seeded initial weights); `threads` only where shards > 1. */
  create(options: { maxBatch: number; seed: number; threads?: number }): M;
}
