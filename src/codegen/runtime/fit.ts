import { DivergenceWatch } from "./divergence.js";
import { now, yieldToHost } from "./host.js";
import { seededRandom } from "./random.js";
import type { ModelLike, WeightInfo } from "./internal-types.js";
import type { Dataset, EpochReport, FitOptions, FitOutcome } from "./public-types.js";

/** How often (ms) fit lets timers, signals and a browser's UI through: a yield per batch costs small networks much of their speed. */
const YIELD_EVERY_MS = 10;

export interface FitSettings {
  readonly epochs: number;
  readonly batch: number;
  readonly seed: number;
}

/**
 * Mini-batch training, the loop of src/interp/train.ts: with one batch per epoch the samples
 * stay in file order; otherwise each epoch is shuffled with the generator seeded by
 * seed ^ 0x9e3779b9. A batch that diverges (divergence.ts: the loss NaN, infinite or exploded, a
 * weight out of float32's range) is undone (state included) and training stops: the weights
 * are the last good ones. Yields to the host every YIELD_EVERY_MS, so Ctrl-C and a browser's
 * UI get through.
 */
export async function fitModel(model: ModelLike, weights: readonly WeightInfo[], inputWidths: readonly number[], outputWidth: number, data: Dataset, settings: FitSettings, options: FitOptions): Promise<FitOutcome> {
  const targets = data.targets;
  if (!targets) throw new Error(`${data.source} has no targets ("y"), which training needs`);
  if (data.size === 0) throw new Error(`${data.source} holds no samples`);
  const batch = Math.min(settings.batch, data.size);
  if (!(batch >= 1 && batch <= model.maxBatch)) throw new RangeError(`fit: batch ${batch} is more than the model's maxBatch (${model.maxBatch}); create the model with { maxBatch: ${batch} }`);
  const shuffleRandom = seededRandom(settings.seed ^ 0x9e3779b9);
  const order = Array.from({ length: data.size }, (_, i) => i);
  const batches = Math.ceil(data.size / batch);
  // Batches in the weights' number type, so that the model takes them in with one memory copy.
  const xs = inputWidths.map((w) => (model.w instanceof Float32Array ? new Float32Array(batch * w) : new Float64Array(batch * w)));
  const perTarget = targets.kind === "values" ? outputWidth : targets.perSample;
  const ys = targets.kind === "values" ? new Float64Array(batch * perTarget) : new Int32Array(batch * perTarget);
  // The model reads exactly n samples: views of the whole batch and of a shorter last one, made once.
  const viewsOf = (n: number) => ({ xs: xs.map((x, k) => x.subarray(0, n * inputWidths[k]!)), ys: ys.subarray(0, n * perTarget) });
  const full = viewsOf(batch);
  const lastSize = data.size - (batches - 1) * batch;
  const last = lastSize === batch ? full : viewsOf(lastSize);
  // The same element type as the weights, so that saving them each batch is one memory copy.
  const saved = model.w instanceof Float32Array ? new Float32Array(model.w.length) : new Float64Array(model.w.length);
  const reports: EpochReport[] = [];
  const report = (epoch: number, total: number, seen: number, started: number): EpochReport => {
    const seconds = (now() - started) / 1000;
    return { epoch, loss: seen ? total / seen : NaN, samples: seen, seconds, samplesPerSecond: seconds > 0 ? seen / seconds : 0 };
  };
  const watch = new DivergenceWatch();
  let goodBatches = 0;
  let lastYield = now();
  for (let epoch = 1; epoch <= settings.epochs; epoch++) {
    if (batches > 1) {
      for (let i = order.length - 1; i > 0; i--) {
        const j = Math.floor(shuffleRandom() * (i + 1));
        const swap = order[i]!;
        order[i] = order[j]!;
        order[j] = swap;
      }
    }
    const started = now();
    let total = 0;
    let seen = 0;
    for (let b = 0; b < batches; b++) {
      const start = b * batch;
      const n = Math.min(batch, data.size - start);
      for (let row = 0; row < n; row++) {
        const s = order[start + row]!;
        for (let k = 0; k < xs.length; k++) copyRow(data.inputs[k]!, s, xs[k]!, row, inputWidths[k]!);
        copyRow(targets.data, s, ys, row, perTarget);
      }
      saved.set(model.w);
      const views = n === batch ? full : last;
      const loss = model.trainStep(views.xs, views.ys, n, options.lr);
      const diverged = watch.check(loss, model, weights);
      if (diverged) {
        model.w.set(saved);
        return { status: "diverged", epochs: reports, epoch, batch: b + 1, goodBatches, ...diverged };
      }
      goodBatches++;
      total += loss * n;
      seen += n;
      options.onBatch?.({ epoch, batch: b + 1, batches, samples: seen, loss: total / seen, seconds: (now() - started) / 1000 });
      if (now() - lastYield >= YIELD_EVERY_MS) {
        await yieldToHost();
        lastYield = now();
      }
      if (options.shouldStop?.()) {
        const partial = report(epoch, total, seen, started);
        reports.push(partial);
        options.onEpoch?.(partial);
        return { status: "interrupted", epochs: reports };
      }
    }
    const r = report(epoch, total, seen, started);
    reports.push(r);
    options.onEpoch?.(r);
  }
  return { status: "done", epochs: reports };
}

/** Row `from` of `source` into row `to` of `target` (rows of `width`). */
function copyRow(source: ArrayLike<number>, from: number, target: Float32Array | Float64Array | Int32Array, to: number, width: number): void {
  // A typed array's row goes by the engine's own copy (a short-lived view per row costs less
  // than converting element by element in JavaScript).
  if (width >= 16 && ArrayBuffer.isView(source)) {
    target.set((source as unknown as Float64Array).subarray(from * width, (from + 1) * width), to * width);
    return;
  }
  for (let e = 0; e < width; e++) target[to * width + e] = source[from * width + e]!;
}
