import type { LossKind } from "../ir/types.js";
import type { Dataset as RuntimeDataset, EpochReport } from "../codegen/runtime/public-types.js";
import { runTrainer, type LoopState, type TrainerSettings, type TrainOutcome } from "../codegen/runtime/trainer.js";
import { interpEngine, type InterpEngine } from "./engine.js";
import type { Targets } from "./losses.js";
import type { Model } from "./model.js";
import type { OptimizerConfig } from "./optimizers.js";
import { seededRandom } from "./random.js";
import type { Tensor } from "./tensor.js";

/** A batch as the runner takes it: one tensor per network input, and the targets. */
export interface Batch {
  readonly inputs: readonly Tensor[];
  readonly targets: Targets;
  readonly size: number;
}

/** Training data, sliced into batches by sample index. */
export interface Dataset {
  readonly size: number;
  batch(indices: readonly number[]): Batch;
  /** The targets as flat arrays (for accuracy), where the data set has them. */
  readonly targets?: RuntimeDataset["targets"];
}

export interface TrainOptions {
  readonly loss: LossKind;
  readonly optimizer: OptimizerConfig;
  readonly epochs: number;
  readonly batch: number;
  readonly seed: number;
  readonly bptt?: number;
  /** Called after every batch with the running mean loss of the epoch. */
  readonly onBatch?: (info: { epoch: number; batch: number; batches: number; samples: number; loss: number; seconds: number }) => void;
  readonly onEpoch?: (report: EpochReport) => void;
  /** Polled after every batch (Ctrl-C): training stops there, the weights stay consistent. */
  readonly shouldStop?: () => boolean;
  /** As runtime/trainer.ts's settings of the same names. */
  readonly schedule?: TrainerSettings["schedule"];
  readonly validation?: RuntimeDataset;
  readonly top?: number;
  readonly patience?: number;
  readonly safePointMs?: number;
  readonly resume?: LoopState;
  /** After each epoch, with the loop's state and the engine (checkpoints). */
  readonly onEpochState?: (report: EpochReport, state: LoopState | undefined, engine: InterpEngine) => void | Promise<void>;
}

export type { EpochReport } from "../codegen/runtime/public-types.js";
export type { TrainOutcome } from "../codegen/runtime/trainer.js";

/**
 * Mini-batch training on the interpreter: the one training loop (runtime/trainer.ts) with the
 * interpreter as its engine (engine.ts). With one batch per epoch the samples stay in file
 * order; otherwise each epoch is shuffled with the seeded generator. A batch that diverges
 * (divergence.ts) stops training and is undone, state included: the weights are the last good ones.
 */
export async function train(model: Model, data: Dataset, o: TrainOptions): Promise<TrainOutcome> {
  const engine = interpEngine(model, data, { loss: o.loss, optimizer: o.optimizer, seed: o.seed, bptt: o.bptt, maxBatch: Math.min(o.batch, data.size) });
  return runTrainer(engine, data.size, data.targets, {
    loss: o.loss,
    output: model.checked.facts[model.outputNode.id]!.shape!,
    epochs: o.epochs,
    batch: o.batch,
    seed: o.seed,
    lr: o.optimizer.lr,
    schedule: o.schedule,
    validation: o.validation,
    top: o.top,
    patience: o.patience,
    resume: o.resume,
    onBatch: o.onBatch,
    onEpoch: (report, state) => {
      o.onEpoch?.(report);
      return o.onEpochState?.(report, state, engine);
    },
    shouldStop: o.shouldStop,
    safePointMs: o.safePointMs,
  });
}

/** Inference over a whole data set, batch by batch, in file order. */
export function predict(model: Model, data: Dataset, batchSize = 64): Tensor[] {
  const ctx = { training: false, random: seededRandom(0) };
  const outputs: Tensor[] = [];
  for (let start = 0; start < data.size; start += batchSize) {
    const indices = Array.from({ length: Math.min(batchSize, data.size - start) }, (_, i) => start + i);
    outputs.push(model.forward(data.batch(indices).inputs, ctx).output);
  }
  return outputs;
}
