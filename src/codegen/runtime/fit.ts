import { firstOutOfRange } from "./divergence.js";
import { sizeOfShape } from "./errors.js";
import type { ModelLike, ModuleInfo, WeightInfo } from "./internal-types.js";
import type { Dataset, FitOptions, FitOutcome, OptimizerState } from "./public-types.js";
import { runTrainer, type TrainEngine, type TrainerSettings } from "./trainer.js";

export interface FitSettings {
  readonly epochs: number;
  readonly batch: number;
  readonly seed: number;
}

/** A capture of a generated model's training state (trainer.ts): weights and state, optimizer, dropout generators. */
export interface CompiledState {
  readonly w: Float32Array | Float64Array;
  readonly optimizer: OptimizerState;
  readonly random: readonly number[];
}

/** What a generated model has beyond ModelLike for training (internal methods of the Model class). */
interface TrainableModel extends ModelLike {
  inputBuffer?(k: number): Float32Array | Float64Array | undefined;
  trainedOutputs?(n: number): Float32Array | Float64Array | undefined;
  randomState?(): number[];
  setRandomState?(state: readonly number[]): void;
  optimizerState(): OptimizerState;
  setOptimizerState(state: OptimizerState): void;
}

/**
 * A generated model as the training loop's engine (trainer.ts): batches are gathered from `data`
 * into arrays of the weights' number type (one memory copy into the model), made once.
 */
export function compiledEngine(model: ModelLike, weights: readonly WeightInfo[], inputWidths: readonly number[], outputWidth: number, data: Dataset, batch: number): TrainEngine<CompiledState> {
  const m = model as TrainableModel;
  const targets = data.targets;
  const f32 = model.w instanceof Float32Array;
  // Each batch is gathered straight into the model's input buffers where it has them (its
  // forward pass then copies nothing), else into arrays of its number type.
  const xs = inputWidths.map((w, k) => m.inputBuffer?.(k) ?? (f32 ? new Float32Array(batch * w) : new Float64Array(batch * w)));
  const perTarget = !targets || targets.kind === "values" ? outputWidth : targets.perSample;
  const ys = !targets || targets.kind === "values" ? new Float64Array(batch * perTarget) : new Int32Array(batch * perTarget);
  // The model reads exactly n samples: views of the whole batch and of each shorter size, made once.
  const views = new Map<number, { xs: (Float32Array | Float64Array)[]; ys: Float64Array | Int32Array }>();
  const viewsOf = (n: number) => {
    let v = views.get(n);
    if (!v) views.set(n, (v = { xs: xs.map((x, k) => x.subarray(0, n * inputWidths[k]!)), ys: ys.subarray(0, n * perTarget) }));
    return v;
  };
  // The inputs once in the model's number type (f32: a converted copy, made per fit call):
  // each batch's rows are then plain memory copies, not conversions.
  const sources: readonly ArrayLike<number>[] = f32 ? data.inputs.map((x) => Float32Array.from(x)) : data.inputs;
  return {
    maxBatch: model.maxBatch,
    trainBatch(order, start, n, lr) {
      if (!targets) throw new Error(`${data.source} has no targets ("y"), which training needs`);
      for (let row = 0; row < n; row++) {
        const s = order[start + row]!;
        for (let k = 0; k < xs.length; k++) copyRow(sources[k]!, s, xs[k]!, row, inputWidths[k]!);
        copyRow(targets.data, s, ys, row, perTarget);
      }
      const v = viewsOf(n);
      return model.trainStep(v.xs, v.ys, n, lr);
    },
    trainedOutputs: (n) => m.trainedOutputs?.(n),
    brokenWeight: () => (model.weightsFinite?.() === true ? undefined : firstOutOfRange(model.w, weights)),
    capture(reuse) {
      const w = reuse && reuse.w.length === model.w.length ? reuse.w : f32 ? new Float32Array(model.w.length) : new Float64Array(model.w.length);
      w.set(model.w);
      return { w, optimizer: m.optimizerState(), random: m.randomState?.() ?? [] };
    },
    restore(state) {
      model.w.set(state.w);
      m.setOptimizerState(state.optimizer);
      m.setRandomState?.(state.random);
    },
    evaluateBatch(set, start, n) {
      const inputs = set.inputs.map((x, k) => x.subarray(start * inputWidths[k]!, (start + n) * inputWidths[k]!));
      const outputs = model.predict(inputs, n);
      return { loss: lossOf(model, set, start, n, outputWidth), outputs };
    },
  };
}

/** The mean loss of the last forward pass over samples start … start + n of `set` (its targets). */
function lossOf(model: ModelLike, set: Dataset, start: number, n: number, outputWidth: number): number {
  const t = set.targets;
  if (!t || !model.loss) return NaN;
  const per = t.kind === "values" ? outputWidth : t.perSample;
  return (model as unknown as { lossAndGrad(targets: ArrayLike<number>, n: number): number }).lossAndGrad(t.data.subarray(start * per, (start + n) * per), n);
}

/**
 * `model.fit` and `node net.mjs train`: the training loop (trainer.ts) on a generated model.
 * Throws for data it cannot train on.
 */
export async function fitModel(model: ModelLike, info: Pick<ModuleInfo, "weights" | "inputs" | "output">, data: Dataset, settings: FitSettings, options: FitOptions & Pick<TrainerSettings, "resume" | "validation"> & { readonly onEpochState?: TrainerSettings["onEpoch"] }): Promise<FitOutcome> {
  if (!data.targets) throw new Error(`${data.source} has no targets ("y"), which training needs`);
  if (data.size === 0) throw new Error(`${data.source} holds no samples`);
  if (!model.loss) throw new Error("no loss: give one in the .dl file's train { } block or in new Model({ loss })");
  const batch = Math.min(settings.batch, data.size);
  if (!(batch >= 1 && batch <= model.maxBatch)) throw new RangeError(`fit: batch ${batch} is more than the model's maxBatch (${model.maxBatch}); create the model with { maxBatch: ${batch} }`);
  const inputWidths = info.inputs.map((i) => sizeOfShape(i.shape));
  const engine = compiledEngine(model, info.weights, inputWidths, sizeOfShape(info.output), data, batch);
  return runTrainer(engine, data.size, data.targets, {
    loss: model.loss,
    output: info.output,
    epochs: settings.epochs,
    batch,
    seed: settings.seed,
    lr: options.lr ?? model.optimizer.lr,
    schedule: options.schedule || options.warmup ? { ...(options.schedule ? { schedule: options.schedule } : {}), ...(options.warmup ? { warmup: options.warmup } : {}) } : undefined,
    validation: options.validation as Dataset | undefined,
    top: options.top,
    patience: options.patience,
    resume: options.resume,
    onBatch: options.onBatch,
    onEpoch: (report, state) => {
      options.onEpoch?.(report);
      return options.onEpochState?.(report, state);
    },
    shouldStop: options.shouldStop,
  });
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
