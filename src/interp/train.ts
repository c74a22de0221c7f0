import type { LossKind } from "../ir/types.js";
import { lossDivergence } from "./divergence.js";
import { computeLoss, type Targets } from "./losses.js";
import type { Model } from "./model.js";
import { learningRateAt, type LrSettings } from "../codegen/runtime/schedule.js";
import { makeOptimizer, type OptimizerConfig } from "./optimizers.js";
import { seededRandom } from "./random.js";
import { WeightsSnapshot } from "./snapshot.js";
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
}

export interface TrainOptions {
  readonly loss: LossKind;
  readonly optimizer: OptimizerConfig;
  readonly epochs: number;
  readonly batch: number;
  readonly seed: number;
  readonly bptt?: number;
  /** The train block's schedule and warmup: the rate of each batch (runtime/schedule.ts). */
  readonly lrSettings?: LrSettings;
  /** Called after every batch with the running mean loss of the epoch. */
  readonly onBatch?: (info: { epoch: number; batch: number; batches: number; samples: number; loss: number; seconds: number }) => void;
  readonly onEpoch?: (report: EpochReport) => void;
  /** Polled after every batch (Ctrl-C): training stops there, the weights stay consistent. */
  readonly shouldStop?: () => boolean;
}

export interface EpochReport {
  readonly epoch: number;
  /** Mean loss per sample over the epoch (each batch's loss weighted by its size). */
  readonly loss: number;
  readonly samples: number;
  readonly seconds: number;
  readonly samplesPerSecond: number;
}

export type TrainOutcome =
  | { readonly status: "done" | "interrupted"; readonly epochs: readonly EpochReport[] }
  | {
      readonly status: "diverged";
      readonly epochs: readonly EpochReport[];
      readonly epoch: number;
      readonly batch: number;
      /** The batch's loss (finite when it exploded or when it was an update that broke a weight). */
      readonly loss: number;
      /** The first good batch's loss L0 (set when the loss exploded past 10⁴ × max(1, L0)). */
      readonly firstLoss?: number;
      /** Set when the loss was acceptable but the update made this weight NaN, infinite or beyond float32's range. */
      readonly weight?: string;
      /** That weight's offending value. */
      readonly value?: number;
      /** Batches that completed well before this one, in this run: with none, there is nothing worth saving. */
      readonly goodBatches: number;
    };

/**
 * Mini-batch training, shared by `dlc train --interpret` and mirrored by generated code.
 * With one batch per epoch the samples stay in file order; otherwise each epoch is shuffled
 * with the seeded generator. A batch that diverges (divergence.ts: a loss that is not finite or
 * explodes, an update that makes a weight NaN, infinite or too large for float32) stops training
 * and is undone, state (batchnorm statistics) included: the weights are the last good ones.
 */
export async function train(model: Model, data: Dataset, o: TrainOptions): Promise<TrainOutcome> {
  const random = seededRandom(o.seed);
  const shuffleRandom = seededRandom(o.seed ^ 0x9e3779b9);
  const ctx = { training: true, random, bptt: o.bptt };
  const optimizer = makeOptimizer(o.optimizer);
  const fused = model.fusedWith(o.loss);
  const order = Array.from({ length: data.size }, (_, i) => i);
  const batches = Math.ceil(data.size / o.batch);
  const snapshot = new WeightsSnapshot(model.namedWeights());
  const reports: EpochReport[] = [];
  let firstLoss: number | undefined;
  let goodBatches = 0;
  for (let epoch = 1; epoch <= o.epochs; epoch++) {
    if (batches > 1) shuffle(order, shuffleRandom);
    const started = performance.now();
    let total = 0;
    let seen = 0;
    for (let b = 0; b < batches; b++) {
      const batch = data.batch(order.slice(b * o.batch, (b + 1) * o.batch));
      snapshot.take();
      const pass = model.forward(batch.inputs, ctx, fused);
      const { loss, grad } = computeLoss(o.loss, pass.output, pass.logits, batch.targets, fused);
      const badLoss = lossDivergence(loss, firstLoss);
      if (badLoss !== undefined) {
        snapshot.restore();
        return { status: "diverged", epochs: reports, epoch, batch: b + 1, loss, firstLoss: badLoss === "exploded" ? firstLoss : undefined, goodBatches };
      }
      model.zeroGrads();
      model.backward(pass, grad, ctx, fused);
      optimizer.step(model.trainableSlots(), learningRateAt(o.optimizer.lr, o.lrSettings ?? {}, { epoch, batch: b, batchesPerEpoch: batches, epochs: o.epochs }));
      const broken = snapshot.firstDiverged();
      if (broken !== undefined) {
        snapshot.restore();
        return { status: "diverged", epochs: reports, epoch, batch: b + 1, loss, weight: broken.name, value: broken.value, goodBatches };
      }
      firstLoss ??= loss;
      goodBatches++;
      total += loss * batch.size;
      seen += batch.size;
      o.onBatch?.({ epoch, batch: b + 1, batches, samples: seen, loss: total / seen, seconds: (performance.now() - started) / 1000 });
      // Let signals (Ctrl-C) and output through between batches.
      await new Promise((resolve) => setImmediate(resolve));
      if (o.shouldStop?.()) {
        const partial = report(epoch, total, seen, started);
        reports.push(partial);
        o.onEpoch?.(partial);
        return { status: "interrupted", epochs: reports };
      }
    }
    const r = report(epoch, total, seen, started);
    reports.push(r);
    o.onEpoch?.(r);
  }
  return { status: "done", epochs: reports };
}

function report(epoch: number, total: number, seen: number, started: number): EpochReport {
  const seconds = (performance.now() - started) / 1000;
  return { epoch, loss: seen ? total / seen : NaN, samples: seen, seconds, samplesPerSecond: seconds > 0 ? seen / seconds : 0 };
}

function shuffle(a: number[], random: () => number): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
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
