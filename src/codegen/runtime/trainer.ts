import { explosionLimit } from "./divergence.js";
import { now, yieldToHost } from "./host.js";
import type { LossName } from "./internal-types.js";
import { hasAccuracy, MetricAccumulator } from "./metrics.js";
import type { BatchReport, Dataset, EpochReport, FitOutcome, Targets } from "./public-types.js";
import { randomOnState } from "./random.js";
import { learningRateAt, type LrSettings } from "./schedule.js";

/**
 * The one training loop: `dlc train` (either engine), `node net.mjs train` and `model.fit` all
 * run it. It is generic over a TrainEngine — the generated Model (fit.ts) or the float64
 * interpreter (src/interp/engine.ts) — and owns what every engine shares: the shuffling,
 * the learning rate of each batch, divergence, validation, accuracy, early stopping and the
 * state a checkpoint needs to resume bit for bit.
 *
 * Divergence is checked cheaply: every batch's loss (free), but the weights only at a
 * "safe point" (every SAFE_POINT_MS, at the end of each epoch, before stopping). At each safe
 * point with good weights the engine's whole state is captured; when the weights turn out
 * broken, the loop goes back to the last capture and replays the batches since (training is
 * deterministic) with the weights checked after every batch, so that the batch that broke
 * them is found and undone exactly as a per-batch check would have.
 */

/** How often (ms) the weights are checked and the engine's state captured; a replay costs at most this much. */
const SAFE_POINT_MS = 250;
/** How often (ms) the loop lets timers, signals and a browser's UI through. */
const YIELD_EVERY_MS = 10;

/** What the loop needs of an engine. `S`: a capture of its whole training state. */
export interface TrainEngine<S = unknown> {
  /** The most samples evaluateBatch takes at once. */
  readonly maxBatch: number;
  /**
   * Trains one batch: training samples order[start … start + n), in that order, at rate lr
   * (forward, loss, backward, optimizer step). Returns the batch's mean loss; with a loss that is
   * not finite the engine may leave the weights unstepped.
   */
  trainBatch(order: ArrayLike<number>, start: number, n: number, lr: number): number;
  /** The outputs of the forward pass trainBatch just made (n × output size), or undefined where the engine does not keep them. */
  trainedOutputs(n: number): ArrayLike<number> | undefined;
  /** The first weight that is NaN, infinite or beyond float32's range, or undefined when all are good. */
  brokenWeight(): { readonly weight: string; readonly value: number } | undefined;
  /** Weights, state, optimizer state and dropout generator (a copy; into `reuse`'s memory where given, an earlier capture no longer needed). */
  capture(reuse?: S): S;
  restore(state: S): void;
  /** Inference (dropout off) on samples start … start + n of `data`: the batch's mean loss and its outputs. */
  evaluateBatch(data: Dataset, start: number, n: number): { readonly loss: number; readonly outputs: ArrayLike<number> };
}

/** Where a run stands after an epoch: with the engine's capture, what a checkpoint holds. */
export interface LoopState {
  /** Epochs completed. */
  readonly epoch: number;
  /** The shuffling generator's state. */
  readonly shuffleState: number;
  /** L0, the first good batch's loss (the explosion rule's reference). */
  readonly firstLoss?: number;
  /** The lowest validation loss so far, and the epochs since it improved (early stopping). */
  readonly bestValLoss?: number;
  readonly epochsWithoutImprovement: number;
}

export interface TrainerSettings {
  readonly loss: LossName;
  /** One sample's output shape (for accuracy). */
  readonly output: readonly number[];
  readonly epochs: number;
  readonly batch: number;
  /** Seeds the shuffling generator: seed ^ 0x9e3779b9. */
  readonly seed: number;
  /** The base learning rate, and the schedule and warmup that set each batch's (schedule.ts). */
  readonly lr: number;
  readonly schedule?: LrSettings;
  /** Validation data: loss (and accuracy) after each epoch. */
  readonly validation?: Dataset;
  /** Accuracy counts a sample right when its class is among the K highest outputs. Default 1. */
  readonly top?: number;
  /** Stop when the validation loss has not improved for this many epochs. */
  readonly patience?: number;
  /** Continue a run: the state after its last completed epoch. */
  readonly resume?: LoopState;
  readonly onBatch?: (report: BatchReport) => void;
  /** After each epoch (a partial one when interrupted, without a state): may be async (a checkpoint's write). */
  readonly onEpoch?: (report: EpochReport, state: LoopState | undefined) => void | Promise<void>;
  /** Polled after every batch: training stops there, the weights consistent. */
  readonly shouldStop?: () => boolean;
  /** How often (ms) the weights are checked and the state captured; 0: after every batch. Default SAFE_POINT_MS. */
  readonly safePointMs?: number;
}

/** What a run of the loop ends with (the type `fit` returns). */
export type TrainOutcome = FitOutcome;

type Diverged = Extract<TrainOutcome, { status: "diverged" }>;

/** The shuffle of dlc train: Fisher–Yates with the seeded generator. */
function shuffle(order: Int32Array, random: () => number): void {
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const swap = order[i]!;
    order[i] = order[j]!;
    order[j] = swap;
  }
}

/** Runs the loop; `size`: the training samples the engine holds. */
export async function runTrainer<S>(engine: TrainEngine<S>, size: number, targets: Dataset["targets"], s: TrainerSettings): Promise<TrainOutcome> {
  if (size === 0) throw new Error("the training data holds no samples");
  const batch = Math.min(s.batch, size);
  const batches = Math.ceil(size / batch);
  const shuffleState = new Uint32Array(1);
  shuffleState[0] = (s.seed ^ 0x9e3779b9) >>> 0;
  const shuffleRandom = randomOnState(shuffleState, 0);
  const order = new Int32Array(size);
  for (let i = 0; i < size; i++) order[i] = i;
  if (s.resume) {
    // Each epoch shuffles the previous epoch's order: a resumed run replays the earlier shuffles,
    // which must leave the generator where the checkpoint says (else the data or batch differ).
    if (batches > 1) for (let e = 0; e < s.resume.epoch; e++) shuffle(order, shuffleRandom);
    if (shuffleState[0] !== s.resume.shuffleState >>> 0) throw new ResumeMismatch("the training data's size or the batch size differ from the run that wrote the checkpoint");
  }
  const outWidth = sizeOf(s.output);
  const top = s.top ?? 1;
  // Training accuracy: each batch's outputs as trained, against its targets gathered in batch order.
  const metrics = hasAccuracy(s.loss) && targets ? new MetricAccumulator(s.loss, s.output, top) : undefined;
  const gather = targets ? targetGatherer(targets, batch, outWidth) : undefined;
  const reports: EpochReport[] = [];
  let firstLoss = s.resume?.firstLoss;
  let bestValLoss = s.resume?.bestValLoss;
  let withoutImprovement = s.resume?.epochsWithoutImprovement ?? 0;
  let goodBatches = 0;
  let lastYield = now();
  const safePointMs = s.safePointMs ?? SAFE_POINT_MS;
  const rateAt = (epoch: number, b: number): number => (s.schedule ? learningRateAt(s.lr, s.schedule, { epoch, batch: b, batchesPerEpoch: batches, epochs: s.epochs }) : s.lr);

  /** The last capture's memory, reused by the next (captures are frequent; their garbage is not free). */
  let spare: S | undefined;
  for (let epoch = (s.resume?.epoch ?? 0) + 1; epoch <= s.epochs; epoch++) {
    // With one batch per epoch the samples stay in file order (as the interpreter always did).
    if (batches > 1) shuffle(order, shuffleRandom);
    const started = now();
    // The running sums, and what a replay goes back to.
    let total = 0;
    let seen = 0;
    metrics?.reset();
    let lr = s.lr;
    let safe = { b: 0, state: engine.capture(spare), total, seen, goodBatches, firstLoss };
    let lastSafe = now();
    /** Replaying after broken weights: the weights are checked (and the state captured) every batch. */
    let exact = false;
    let b = 0;
    let stopped = false;
    while (b < batches) {
      const start = b * batch;
      const n = Math.min(batch, size - start);
      lr = rateAt(epoch, b);
      const before = exact ? engine.capture() : undefined;
      const loss = engine.trainBatch(order, start, n, lr);
      const badLoss = lossProblem(loss, firstLoss);
      if (badLoss) {
        // The weights before this batch: in exact mode, its capture; otherwise replay up to it.
        if (before !== undefined) {
          engine.restore(before);
          return diverged(reports, epoch, b, goodBatches, badLoss === "exploded" ? { reason: "exploded", loss, firstLoss: firstLoss! } : { reason: "loss", loss });
        }
        ({ b, total, seen, goodBatches, firstLoss } = back(engine, safe));
        exact = true;
        continue;
      }
      if (exact) {
        const broken = engine.brokenWeight();
        if (broken) {
          engine.restore(before!);
          return diverged(reports, epoch, b, goodBatches, { reason: "weight", loss, weight: broken.weight, value: broken.value });
        }
      }
      if (metrics) {
        const outputs = engine.trainedOutputs(n);
        if (outputs) metrics.add(outputs, gather!(order, start, n), n);
      }
      firstLoss ??= loss;
      goodBatches++;
      total += loss * n;
      seen += n;
      b++;
      const last = b === batches;
      const interrupt = s.shouldStop?.() === true;
      if (!exact && (last || interrupt || now() - lastSafe >= safePointMs)) {
        // A safe point: the weights are checked; good, they are the new place to go back to.
        if (engine.brokenWeight()) {
          ({ b, total, seen, goodBatches, firstLoss } = back(engine, safe));
          exact = true;
          continue;
        }
        if (!last) safe = { b, state: engine.capture(safe.state), total, seen, goodBatches, firstLoss };
        lastSafe = now();
      }
      s.onBatch?.({ epoch, batch: b, batches, samples: seen, loss: total / seen, seconds: (now() - started) / 1000 });
      if (now() - lastYield >= YIELD_EVERY_MS) {
        await yieldToHost();
        lastYield = now();
      }
      if (interrupt || s.shouldStop?.() === true) {
        if (!exact && engine.brokenWeight()) {
          ({ b, total, seen, goodBatches, firstLoss } = back(engine, safe));
          exact = true;
          continue;
        }
        stopped = true;
        break;
      }
    }
    spare = safe.state;
    const seconds = (now() - started) / 1000;
    // lr: the rate of the epoch's last batch (the base rate without a schedule or warmup).
    let report: EpochReport = { epoch, loss: seen ? total / seen : NaN, samples: seen, seconds, samplesPerSecond: seconds > 0 ? seen / seconds : 0, lr };
    if (metrics && metrics.count > 0) report = { ...report, accuracy: metrics.topKAccuracy() };
    if (stopped) {
      reports.push(report);
      await s.onEpoch?.(report, undefined);
      return { status: "interrupted", epochs: reports };
    }
    if (s.validation) {
      const v = evaluate(engine, s.validation, s.loss, s.output, top);
      report = { ...report, valLoss: v.loss, ...(v.accuracy === undefined ? {} : { valAccuracy: v.accuracy }) };
      if (bestValLoss === undefined || v.loss < bestValLoss) {
        bestValLoss = v.loss;
        withoutImprovement = 0;
      } else withoutImprovement++;
    }
    reports.push(report);
    await s.onEpoch?.(report, { epoch, shuffleState: shuffleState[0]!, firstLoss, bestValLoss, epochsWithoutImprovement: withoutImprovement });
    if (s.patience !== undefined && s.validation && withoutImprovement >= s.patience && epoch < s.epochs) return { status: "stopped", epochs: reports };
  }
  return { status: "done", epochs: reports };
}

/** Back to a safe point: its state restored, its running sums returned. */
function back<S>(engine: TrainEngine<S>, safe: { b: number; state: S; total: number; seen: number; goodBatches: number; firstLoss: number | undefined }) {
  engine.restore(safe.state);
  return { b: safe.b, total: safe.total, seen: safe.seen, goodBatches: safe.goodBatches, firstLoss: safe.firstLoss };
}

/** Gathers the targets of samples order[start … start + n) into one reused buffer, in batch order. */
function targetGatherer(targets: Targets, batch: number, outWidth: number): (order: ArrayLike<number>, start: number, n: number) => Targets {
  const per = targets.kind === "classes" ? targets.perSample : outWidth;
  const buffer = targets.kind === "classes" ? new Int32Array(batch * per) : new Float64Array(batch * per);
  const source = targets.data;
  return (order, start, n) => {
    for (let i = 0; i < n; i++) {
      const s = order[start + i]!;
      for (let e = 0; e < per; e++) buffer[i * per + e] = source[s * per + e]!;
    }
    return targets.kind === "classes" ? { kind: "classes", perSample: per, data: buffer as Int32Array } : { kind: "values", data: buffer as Float64Array };
  };
}

function diverged(epochs: readonly EpochReport[], epoch: number, b: number, goodBatches: number, what: Pick<Diverged, "reason" | "loss" | "firstLoss" | "weight" | "value">): Diverged {
  return { status: "diverged", epochs, epoch, batch: b + 1, goodBatches, ...what };
}

function lossProblem(loss: number, firstLoss: number | undefined): "loss" | "exploded" | undefined {
  if (!Number.isFinite(loss)) return "loss";
  if (firstLoss !== undefined && loss > explosionLimit(firstLoss)) return "exploded";
  return undefined;
}

/** A checkpoint that cannot continue this run. */
export class ResumeMismatch extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ResumeMismatch";
  }
}

/** Loss and accuracy over a whole data set, in batches of the engine's maxBatch, file order; `metrics` (fresh) collects the accuracy and confusion. */
export function evaluate<S>(engine: TrainEngine<S>, data: Dataset, loss: LossName, output: readonly number[], top = 1, metrics = hasAccuracy(loss) && data.targets ? new MetricAccumulator(loss, output, top) : undefined, each?: (outputs: ArrayLike<number>, targets: Targets, n: number) => void): { loss: number; accuracy?: number } {
  const outWidth = sizeOf(output);
  const t = data.targets;
  let total = 0;
  for (let start = 0; start < data.size; start += engine.maxBatch) {
    const n = Math.min(engine.maxBatch, data.size - start);
    const r = engine.evaluateBatch(data, start, n);
    total += r.loss * n;
    if (t) {
      const per = t.kind === "classes" ? t.perSample : outWidth;
      const slice: Targets = t.kind === "classes" ? { kind: "classes", perSample: per, data: t.data.subarray(start * per, (start + n) * per) } : { kind: "values", data: t.data.subarray(start * per, (start + n) * per) };
      metrics?.add(r.outputs, slice, n);
      each?.(r.outputs, slice, n);
    }
  }
  return { loss: total / data.size, ...(metrics && metrics.count > 0 ? { accuracy: metrics.topKAccuracy() } : {}) };
}

function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}
