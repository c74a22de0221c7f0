/**
 * The compiled module as a benchmark engine: the library's `generateModule` + `toJavaScript`,
 * written to a temporary .mjs and imported, then `trainStep` on batches of the synthetic data.
 * f32 modules come in two builds: WebAssembly SIMD matmul kernels (the default) or JS kernels
 * only (`kernels: "js"`, the pure-TypeScript module). A module compiled with `threads: S` (S > 1,
 * `dlc compile --threads S`) splits each batch into S shards and trains them on the threads its
 * Model is given (worker threads over shared memory); `close()` stops those workers.
 * `compiledFitTrainer` times the module's own training loop, `model.fit`, instead of `trainStep`.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { generateModule, unsupportedKinds } from "../src/codegen/compile.js";
import { toJavaScript } from "../scripts/transpile.js";
import { timeSteps, type Trainer } from "./measure.js";
import { LEARNING_RATE, checkedWorkload, type SyntheticData, type Workload } from "./workloads.js";

type Arr = Float32Array | Float64Array;

/** What the bench uses of a generated module. */
interface GeneratedModel {
  trainStep(inputs: ArrayLike<number>, targets: ArrayLike<number>, n: number, lr?: number): number;
  /** Where the matmuls run (f32 modules; absent in f64 ones). */
  readonly kernels?: Kernels;
  /** Threads trainStep runs on (modules compiled with threads). */
  readonly threads?: number;
  /** Whether the kernels multiply-add with relaxed SIMD (modules compiled with fma). */
  readonly fma?: boolean;
  /** Stops the model's worker threads (modules compiled with threads). */
  close?(): Promise<void>;
  /** Resolves once the worker threads have started (modules compiled with threads). */
  ready?(): Promise<void>;
  /** The module's training loop (runtime/fit.ts) on a Dataset from `readData`. */
  fit(data: FitDataset, options?: { epochs?: number; batch?: number; lr?: number; seed?: number }): Promise<FitOutcome>;
}
/** What the bench uses of `readData`'s Dataset (runtime/public-types.ts). */
interface FitDataset {
  readonly size: number;
  readonly targets?: { readonly kind: "values" | "classes" };
}
type FitOutcome =
  | { readonly status: "done" | "interrupted"; readonly epochs: readonly { readonly samples: number }[] }
  | { readonly status: "diverged"; readonly epochs: readonly { readonly samples: number }[]; readonly epoch: number; readonly batch: number; readonly loss: number };
interface GeneratedModule {
  readonly Model: new (options?: { maxBatch?: number; seed?: number; loss?: Workload["loss"]; kernels?: Kernels; threads?: number }) => GeneratedModel;
  readData(source: { readonly x: unknown; readonly y?: unknown }, options?: { file?: string; needTargets?: boolean; loss?: Workload["loss"] }): FitDataset;
}

/** Which matmul kernels a generated f32 module uses: WebAssembly SIMD (the default) or JS. */
export type Kernels = "wasm" | "js";

export type Compiled = { readonly ok: true; readonly module: GeneratedModule; readonly jsPath: string } | { readonly ok: false; readonly why: string };

let scratch: string | undefined;

/** A folder for the generated files, removed by `cleanUpCompiled`. */
function scratchDir(): string {
  scratch ??= mkdtempSync(join(tmpdir(), "dlc-bench-compiled-"));
  return scratch;
}

export function cleanUpCompiled(): void {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  scratch = undefined;
}

/**
 * Compiles a workload, or says why it cannot be (a layer kind without an emitter yet, an emitter
 * error). `shards` > 1: `generateModule`'s `threads` (each batch split into that many shards);
 * `fma`: also the relaxed-SIMD kernels (`dlc compile --fma`).
 */
export async function compileWorkload(w: Workload, precision: "f32" | "f64", kernels: Kernels = "wasm", shards = 1, fma = false): Promise<Compiled> {
  const checked = checkedWorkload(w);
  const missing = unsupportedKinds(checked);
  if (missing.length > 0) return { ok: false, why: `not compiled yet (no emitter for ${missing.join(", ")})` };
  try {
    const code = generateModule(checked, { file: `${w.name}.dl`, precision, train: undefined, version: "bench", kernels, ...(shards > 1 ? { threads: shards } : {}), fma });
    const jsPath = join(scratchDir(), `${w.name}-${precision}-${kernels}${shards > 1 ? `-threads${shards}` : ""}${fma ? "-fma" : ""}.mjs`);
    writeFileSync(jsPath, await toJavaScript(code));
    const module = (await import(pathToFileURL(jsPath).href)) as GeneratedModule;
    return { ok: true, module, jsPath };
  } catch (e) {
    return { ok: false, why: `not compiled yet (${e instanceof Error ? e.message.split("\n")[0] : String(e)})` };
  }
}

/**
 * Trains the compiled model batch after batch through the samples, one-hot targets, plain SGD.
 * `kernels` is what `model.kernels` says the model uses ("js" for an f64 module); `threads`
 * what `model.threads` says (1 for a module compiled without threads). `threads` in the
 * options: the Model's (a module compiled with threads); `dispose` then stops its workers.
 */
export function compiledTrainer(
  w: Workload,
  compiled: GeneratedModule,
  data: SyntheticData,
  precision: "f32" | "f64",
  options: { readonly threads?: number } = {},
): Trainer & { readonly kernels: Kernels; readonly threads: number; readonly fma: boolean; ready(): Promise<void> } {
  const Arr = precision === "f32" ? Float32Array : Float64Array;
  const BATCH = w.batch;
  const model = new compiled.Model({ maxBatch: BATCH, seed: 1, loss: w.loss, ...(options.threads !== undefined ? { threads: options.threads } : {}) });
  const x: Arr = Arr.from(data.x);
  const y: Arr = Arr.from(data.oneHot);
  const inWidth = x.length / data.size;
  const batches = Math.floor(data.size / BATCH);
  let b = 0;
  const step = (): void => {
    const xs = x.subarray(b * BATCH * inWidth, (b + 1) * BATCH * inWidth);
    const ys = y.subarray(b * BATCH * w.classes, (b + 1) * BATCH * w.classes);
    model.trainStep(xs, ys, BATCH, LEARNING_RATE);
    b = (b + 1) % batches;
  };
  // A threaded model trains on its workers once they have loaded (before that, on this thread).
  const run = async (ms: number) => {
    await model.ready?.();
    return timeSteps(step, BATCH, ms);
  };
  return { run, ready: async () => model.ready?.(), dispose: () => model.close?.(), kernels: model.kernels ?? "js", threads: model.threads ?? 1, fma: model.fma ?? false };
}

/** One sample of the flat row-major `x` (at `offset`) as nested arrays of `shape`, as a JSON data file holds it. */
function nestedSample(x: Float64Array, offset: number, shape: readonly number[]): unknown {
  if (shape.length === 0) return x[offset]!;
  const inner = shape.slice(1).reduce((a, b) => a * b, 1);
  return Array.from({ length: shape[0]! }, (_, i) => nestedSample(x, offset + i * inner, shape.slice(1)));
}

/**
 * Trains the compiled model with its own training loop, `model.fit(data, { epochs, batch, lr })`
 * (what `node net.mjs train` runs): per epoch a shuffle, each batch's rows copied from the data
 * set straight into the model's input buffers, the loss checked per batch, the weights checked and
 * the state captured every 250 ms and at each epoch's end, training accuracy per batch, a yield to
 * the event loop every 10 ms. The data set is the same synthetic samples, given as `readData({ x, y })` with class
 * indices, built once. `run(ms)` (an adapter to measure()'s interface: fit trains whole epochs):
 * before any estimate of an epoch's time, fit one epoch at a time until `ms` has passed (the
 * warm-up); after it, one fit call of the number of epochs that should last about `ms`.
 * A model compiled with threads: `ready()` is awaited first, `close()` in `dispose`.
 */
export async function compiledFitTrainer(
  w: Workload,
  compiled: GeneratedModule,
  data: SyntheticData,
  options: { readonly threads?: number } = {},
): Promise<Trainer & { readonly kernels: Kernels; readonly threads: number }> {
  const width = w.inputShape.reduce((a, b) => a * b, 1);
  const rows = Array.from({ length: data.size }, (_, s) => nestedSample(data.x, s * width, w.inputShape));
  const y = w.classes === 1 ? Array.from(data.oneHot) : Array.from(data.labels);
  const dataset = compiled.readData({ x: rows, y }, { file: `${w.name}-synthetic`, needTargets: true, loss: w.loss });
  if (w.classes > 1 && dataset.targets?.kind !== "classes") throw new Error(`readData gave ${dataset.targets?.kind ?? "no"} targets, not class indices`);
  const model = new compiled.Model({ maxBatch: w.batch, seed: 1, loss: w.loss, ...(options.threads !== undefined ? { threads: options.threads } : {}) });
  try {
    await model.ready?.();
  } catch (e) {
    await model.close?.();
    throw e;
  }
  let seed = 1;
  let msPerEpoch: number | undefined;
  const fit = async (epochs: number): Promise<number> => {
    const outcome = await model.fit(dataset, { epochs, batch: w.batch, lr: LEARNING_RATE, seed: seed++ });
    if (outcome.status !== "done") throw new Error(`model.fit stopped: ${outcome.status}${outcome.status === "diverged" ? ` at epoch ${outcome.epoch}, batch ${outcome.batch} (loss ${outcome.loss})` : ""}`);
    return outcome.epochs.reduce((a, e) => a + e.samples, 0);
  };
  const run = async (ms: number): Promise<{ samples: number; seconds: number }> => {
    const start = performance.now();
    let samples = 0;
    let epochs = 0;
    if (msPerEpoch === undefined) {
      do {
        samples += await fit(1);
        epochs++;
      } while (performance.now() - start < ms);
    } else {
      epochs = Math.max(1, Math.round(ms / msPerEpoch));
      samples = await fit(epochs);
    }
    const elapsed = performance.now() - start;
    msPerEpoch = elapsed / epochs;
    return { samples, seconds: elapsed / 1000 };
  };
  return { run, dispose: () => model.close?.(), kernels: model.kernels ?? "js", threads: model.threads ?? 1 };
}
