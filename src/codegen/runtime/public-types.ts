/**
 * The types of the generated module's runtime API (`readData`, `loadWeights`, `saveWeights`,
 * `fit`, `main`): exported by every generated module as they are written here.
 */

/** A data set in memory: each network input's samples in one flat row-major array. */
export interface Dataset {
  /** The number of samples. */
  readonly size: number;
  /** One array per network input, in NETWORK.inputs' order: [size, ...that input's shape]. */
  readonly inputs: readonly Float64Array[];
  /** Absent when the data holds no targets (enough for inference). */
  readonly targets?: Targets;
  /** Where it came from, for messages. */
  readonly source: string;
}

export type Targets =
  /** Shaped like the output: [size, ...NETWORK.output]. */
  | { readonly kind: "values"; readonly data: Float64Array }
  /** Class indices (cross_entropy): perSample per sample — one for a [V] output, T for [T,V]. */
  | { readonly kind: "classes"; readonly perSample: number; readonly data: Int32Array };

export type DataFormat = "json" | "csv" | "idx";

export interface ReadDataOptions {
  /** The name used in messages (and, without `format`, to tell the format by its extension). */
  readonly file?: string;
  /** json, csv or idx; by default from `file`'s extension, else from the first bytes. */
  readonly format?: DataFormat;
  /** IDX: the labels file's bytes (and `labelsFile`, its name in messages). */
  readonly labels?: Uint8Array;
  readonly labelsFile?: string;
  /** Targets are required (training). Default false. */
  readonly needTargets?: boolean;
  /** How a class index is read: kept as an index for cross_entropy (or no loss), one-hot otherwise. */
  readonly loss?: "squared" | "cross_entropy" | "binary_cross_entropy" | null;
}

/** What `fit` takes: a Dataset, or a data file's object `{x, y}` (nested arrays, as §8 writes them). */
export type TrainingData = Dataset | { readonly x: unknown; readonly y?: unknown };

export interface EpochReport {
  readonly epoch: number;
  /** Mean loss per sample over the epoch (each batch's loss weighted by its size, as it was trained). */
  readonly loss: number;
  /**
   * Classification losses: the share of right predictions in the epoch's batches, from the
   * outputs each batch was trained on (training mode, before its step), as the loss is.
   */
  readonly accuracy?: number;
  /** With validation data: the mean loss and accuracy over it after the epoch (inference mode). */
  readonly valLoss?: number;
  readonly valAccuracy?: number;
  readonly samples: number;
  readonly seconds: number;
  readonly samplesPerSecond: number;
  /** The learning rate of the epoch's last batch (the base rate without a schedule or warmup); always set by the trainer. */
  readonly lr?: number;
}

export interface BatchReport {
  readonly epoch: number;
  readonly batch: number;
  readonly batches: number;
  /** Samples seen so far in this epoch. */
  readonly samples: number;
  /** The running mean loss of the epoch. */
  readonly loss: number;
  readonly seconds: number;
}

export interface FitOptions {
  /** Default: TRAIN_DEFAULTS.epochs. */
  readonly epochs?: number;
  /** Default: TRAIN_DEFAULTS.batch or the model's maxBatch, whichever is smaller; never more than the samples. */
  readonly batch?: number;
  /** Default: the model's optimizer.lr. */
  readonly lr?: number;
  /**
   * Seeds the shuffling (as `dlc train` does: seed ^ 0x9e3779b9). Default: TRAIN_DEFAULTS.seed.
   * Dropout draws from the model's own generator, seeded when the model was created.
   */
  readonly seed?: number;
  /** Validation data (a Dataset from readData, or {x, y}): its loss and accuracy in each epoch's report. */
  readonly validation?: TrainingData;
  /** Accuracy counts a class among the K highest outputs as right. Default 1. */
  readonly top?: number;
  /** Early stopping: stop when the validation loss has not improved for this many epochs (default: the train block's). */
  readonly patience?: number;
  /** The learning-rate schedule and warmup (batches): default, the train block's. `null`: none. */
  readonly schedule?: { readonly kind: "step"; readonly every: number; readonly gamma: number } | { readonly kind: "cosine" } | null;
  readonly warmup?: number;
  readonly onEpoch?: (report: EpochReport) => void;
  readonly onBatch?: (report: BatchReport) => void;
  /** Polled after every batch: training stops there, the weights consistent. */
  readonly shouldStop?: () => boolean;
}

export type FitOutcome =
  /** stopped: early, by `patience`. */
  | { readonly status: "done" | "interrupted" | "stopped"; readonly epochs: readonly EpochReport[] }
  | {
      /**
       * A batch diverged: it was undone and training stopped, the weights the last good ones
       * (the initial ones when it was the first batch: epoch 1, batch 1).
       */
      readonly status: "diverged";
      readonly epochs: readonly EpochReport[];
      readonly epoch: number;
      readonly batch: number;
      readonly loss: number;
      /**
       * loss: the loss was NaN or infinite; exploded: more than 10⁴ × max(1, firstLoss);
       * weight: the update made `weight` NaN, infinite or larger than float32's range (`value`).
       */
      readonly reason: "loss" | "exploded" | "weight";
      /** The loss of the run's first good batch (reason exploded). */
      readonly firstLoss?: number;
      /** The batches that completed well before it (0: the weights are the ones training started from). */
      readonly goodBatches: number;
      readonly weight?: string;
      readonly value?: number;
    };

export type WeightsFormat = "json" | "safetensors";

export interface LoadWeightsOptions {
  /** The name used in messages. Default "weights". */
  readonly file?: string;
  /** By default: text is JSON, bytes are safetensors unless they start with '{'. */
  readonly format?: WeightsFormat;
  /** Weights the network does not have are an error, not a warning. */
  readonly strict?: boolean;
}

export interface SaveWeightsOptions {
  /** safetensors only: F32 (default, as PyTorch and Keras keep weights) or F64 (exact). JSON is exact. */
  readonly dtype?: "f32" | "f64";
  /** safetensors `__metadata__`. */
  readonly metadata?: Readonly<Record<string, string>>;
  /** The name used in messages. */
  readonly file?: string;
}

/** The optimizers of §6: sgd (with momentum), adam, adamw (decoupled weight decay). */
export type OptimizerKind = "sgd" | "adam" | "adamw";

/**
 * An optimizer's state, for checkpoints (model.optimizerState(), and the interpreter's the same):
 * the steps taken (Adam's bias correction counts them) and per trainable weight, by its §8 name,
 * the optimizer's buffers — `velocity` for sgd (zeros without momentum), `m` and `v` (the first
 * and second moments) for adam and adamw.
 */
export interface OptimizerState {
  readonly kind: OptimizerKind;
  readonly step: number;
  readonly slots: Readonly<Record<string, Readonly<Record<string, Float64Array>>>>;
}
