/**
 * The compiled module as a benchmark engine: the library's `generateModule` + `toJavaScript`,
 * written to a temporary .mjs and imported, then `trainStep` on batches of the synthetic data.
 * f32 modules come in two builds: WebAssembly SIMD matmul kernels (the default) or JS kernels
 * only (`kernels: "js"`, the pure-TypeScript module). A module compiled with `threads: S` (S > 1,
 * `dlc compile --threads S`) splits each batch into S shards and trains them on the threads its
 * Model is given (worker threads over shared memory); `close()` stops those workers.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { generateModule, unsupportedKinds } from "../src/codegen/compile.js";
import { toJavaScript } from "../src/codegen/format.js";
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
  /** Stops the model's worker threads (modules compiled with threads). */
  close?(): Promise<void>;
}
interface GeneratedModule {
  readonly Model: new (options?: { maxBatch?: number; seed?: number; loss?: Workload["loss"]; kernels?: Kernels; threads?: number }) => GeneratedModel;
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
 * error). `shards` > 1: `generateModule`'s `threads` (each batch split into that many shards).
 */
export async function compileWorkload(w: Workload, precision: "f32" | "f64", kernels: Kernels = "wasm", shards = 1): Promise<Compiled> {
  const checked = checkedWorkload(w);
  const missing = unsupportedKinds(checked);
  if (missing.length > 0) return { ok: false, why: `not compiled yet (no emitter for ${missing.join(", ")})` };
  try {
    const code = generateModule(checked, { file: `${w.name}.dl`, precision, train: undefined, version: "bench", kernels, ...(shards > 1 ? { threads: shards } : {}) });
    const jsPath = join(scratchDir(), `${w.name}-${precision}-${kernels}${shards > 1 ? `-threads${shards}` : ""}.mjs`);
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
): Trainer & { readonly kernels: Kernels; readonly threads: number } {
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
  return { run: (ms) => timeSteps(step, BATCH, ms), dispose: () => model.close?.(), kernels: model.kernels ?? "js", threads: model.threads ?? 1 };
}
