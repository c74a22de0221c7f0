/**
 * The compiled engine of `dlc run`, `dlc train` and `dlc eval`: the network compiled in memory
 * into the same generated module as `dlc compile` writes (float32 with WebAssembly SIMD kernels by
 * default; --precision, --kernels and --threads as dlc compile takes them), and imported into
 * this process. --interpret (the float64 interpreter) is the other engine; the commands choose.
 *
 * API (what the commands call):
 *
 *   openCompiledEngine(loaded, flags, options?) → Promise<CompiledEngine>
 *     loaded:  what load() returned (file, text, analysis with a selected, error-free network)
 *     flags:   EngineFlags (engine-options.ts): precision, kernels, threads, cache, plus input
 *              and network as the command got them (they are part of the cache key)
 *     options: { train?: TrainConfig } — the train { } settings compiled in (default:
 *              loaded.analysis.train; the optimizer kind is compiled into the module)
 *   CompiledEngine: { module, precision, kernels, threads, file, fromCache, seconds }
 *     module:  the generated module's exports (CompiledModule below: Model, NETWORK, WEIGHTS,
 *              TRAIN_DEFAULTS, readData, loadWeights, saveWeights, fit, main, DataError)
 *     threads: the shards compiled in (1: none); `new module.Model({ maxBatch, seed, loss,
 *              threads })` trains on up to that many threads; call `model.close?.()` when done
 *   usesCompiledEngine(checked, flags, train?) → boolean
 *     the engine choice: false with --interpret, and for a network the compiled engine cannot
 *     take (compiledEngineProblem: a kind without an emitter, too large), which runs on the
 *     interpreter — unless --precision/--kernels/--threads asked for it: then a UsageError
 *   checkEngineFlags(flags) (engine-options.ts): the flags' own mistakes, before loading anything
 *   setModelWeights(module, model, weights): weights as src/io reads them (a Map name → values) into a model
 *
 * Modules are cached (engine-cache.ts) under a key of the .dl file's text, the selected network
 * and --input, the options, the train settings, and dlc's version and build: a hit skips code
 * generation, type stripping and the write, and costs a file read and an import.
 */
import { pathToFileURL } from "node:url";
import type { CheckedNetwork } from "../check/infer.js";
import { unsupportedKinds } from "../codegen/compile.js";
import { tooLargeToCompile, tooMuchCode } from "../codegen/limits.js";
import type { ModelLike, WeightInfo } from "../codegen/runtime/internal-types.js";
import type { Dataset, FitOptions, FitOutcome, LoadWeightsOptions, ReadDataOptions, SaveWeightsOptions, TrainingData, WeightsFormat } from "../codegen/runtime/public-types.js";
import type { Shape } from "../ir/shape.js";
import type { LossKind, TrainConfig } from "../ir/types.js";
import { buildId } from "./build-id.js";
import { cacheFolder, cacheKey, validEntry, writeEntry } from "./engine-cache.js";
import { compiledEngineAskedFor, defaultKernels, threadCount, type EngineFlags, type Kernels, type Precision } from "./engine-options.js";
import { UsageError } from "./errors.js";
import type { Loaded } from "./load.js";
import { VERSION } from "./version.js";

/** Bumped when what a cache entry holds changes in a way the key does not show. */
const CACHE_FORMAT = 1;
/** The build id when there is none (running from the sources): then no entry is shared between processes. */
const UNBUILT = `unbuilt ${process.pid} ${Date.now()} ${Math.random()}`;

/** A Model of the generated module (either precision; threaded builds add `threads` and `close`). */
export interface CompiledModel extends ModelLike {
  readonly kernels: Kernels;
  readonly g: Float32Array | Float64Array;
  readonly threads?: number;
  getWeight(name: string): { shape: readonly number[]; data: Float64Array } | undefined;
  setWeight(name: string, data: ArrayLike<number>): void;
  initWeights(seed: number): void;
  forward(inputs: readonly ArrayLike<number>[] | ArrayLike<number>, n: number, training?: boolean): Float32Array | Float64Array;
  /** Threaded builds: stops the worker threads. */
  close?(): Promise<void>;
}

export interface CompiledModelOptions {
  readonly maxBatch?: number;
  readonly seed?: number;
  readonly loss?: LossKind | null;
  readonly kernels?: Kernels;
  readonly threads?: number;
}

/** The exports of a generated module (src/codegen/module.ts and runtime/inline.ts write them). */
export interface CompiledModule {
  readonly NETWORK: { readonly name: string | null; readonly source: string; readonly inputs: readonly { readonly name: string; readonly shape: readonly number[] }[]; readonly output: readonly number[]; readonly precision: Precision };
  readonly TRAIN_DEFAULTS: {
    readonly loss: LossKind | null;
    readonly optimizer: string;
    readonly lr: number;
    readonly batch: number;
    readonly epochs: number;
    readonly seed: number;
    readonly [setting: string]: unknown;
  };
  readonly WEIGHTS: readonly (WeightInfo & { readonly [field: string]: unknown })[];
  readonly Model: new (options?: CompiledModelOptions) => CompiledModel;
  readonly DataError: new (message: string, file?: string) => Error;
  readData(source: string | Uint8Array | { readonly x: unknown; readonly y?: unknown }, options?: ReadDataOptions): Dataset;
  loadWeights(model: CompiledModel, source: string | Uint8Array, options?: LoadWeightsOptions): string[];
  saveWeights(model: CompiledModel, format?: WeightsFormat, options?: SaveWeightsOptions): string | Uint8Array;
  fit(model: CompiledModel, data: TrainingData, options?: FitOptions): Promise<FitOutcome>;
  main(argv: readonly string[]): Promise<number>;
}

export interface CompiledEngine {
  readonly module: CompiledModule;
  readonly precision: Precision;
  readonly kernels: Kernels;
  /** Shards compiled in: the most threads a Model of this module trains on (1: no threads). */
  readonly threads: number;
  /** The module's file (in the cache folder). */
  readonly file: string;
  /** Whether the module came from the cache (no code was generated). */
  readonly fromCache: boolean;
  /** Seconds spent getting the module: compiling (or reading the cache) and importing it. */
  readonly seconds: number;
}

/** The engine flags plus the front-end flags that select what was compiled. */
export interface EngineRequest extends EngineFlags {
  readonly input?: Shape;
  readonly network?: string;
}

/** The resolved compile options of a request. */
function optionsOf(flags: EngineFlags): { precision: Precision; kernels: Kernels; threads: number } {
  const precision = flags.precision ?? "f32";
  return { precision, kernels: flags.kernels ?? defaultKernels(precision), threads: threadCount(flags.threads) };
}

/** Why the compiled engine cannot take this network; undefined when it can. */
export function compiledEngineProblem(checked: CheckedNetwork, flags: EngineFlags, train?: TrainConfig): string | undefined {
  const missing = unsupportedKinds(checked);
  if (missing.length > 0) return `the compiled engine cannot run ${missing.join(", ")} layers yet`;
  if (checked.network.output === undefined) return "the network has no layers to run";
  const { precision, kernels } = optionsOf(flags);
  return tooLargeToCompile(checked, { precision, kernels, train });
}

/**
 * Whether a command runs the compiled engine: not with --interpret; not for a network it cannot
 * take (compiledEngineProblem), which runs on the interpreter instead — unless --precision,
 * --kernels or --threads asked for the compiled engine, which is then a usage error.
 */
export function usesCompiledEngine(checked: CheckedNetwork, flags: EngineFlags, train?: TrainConfig): boolean {
  if (flags.interpret) return false;
  const problem = compiledEngineProblem(checked, flags, train);
  if (problem === undefined) return true;
  if (compiledEngineAskedFor(flags)) throw new UsageError(`${problem}; use --interpret`);
  return false;
}

/** Compiles the selected network in memory (or takes it from the cache) and imports it. See the header. */
export async function openCompiledEngine(loaded: Loaded, flags: EngineRequest, options: { readonly train?: TrainConfig } = {}): Promise<CompiledEngine> {
  const started = performance.now();
  const checked = loaded.analysis.selected;
  if (!checked || loaded.analysis.hasErrors) throw new Error("internal: openCompiledEngine needs a network without errors");
  const train = options.train ?? loaded.analysis.train;
  const { precision, kernels, threads } = optionsOf(flags);
  const dir = cacheFolder(flags.cache);
  const build = buildId();
  const key = cacheKey({
    format: CACHE_FORMAT,
    dlc: VERSION,
    build: build ?? UNBUILT,
    file: loaded.file,
    text: loaded.text,
    network: checked.network.name ?? null,
    select: flags.network ?? null,
    input: flags.input ?? null,
    precision,
    kernels,
    threads,
    train: train ?? null,
  });
  const cached = validEntry(dir, key);
  if (cached !== undefined) {
    const module = await importModule(cached, false);
    if (module) return { module, precision, kernels, threads, file: cached, fromCache: true, seconds: (performance.now() - started) / 1000 };
  }
  const code = await compileInMemory(loaded.file, checked, { precision, kernels, threads, train });
  const file = writeEntry(dir, key, code);
  // A file this process imported before under the same name (it was corrupt, or evicted and
  // rewritten) is a new module only under a new URL.
  const module = await importModule(file, cached !== undefined);
  if (!module) throw new Error(`internal: the module dlc just compiled (${file}) does not have the exports it should`);
  return { module, precision, kernels, threads, file, fromCache: false, seconds: (performance.now() - started) / 1000 };
}

/** The generated module's JavaScript for these options (the same code as `dlc compile --target js`, unformatted). */
async function compileInMemory(file: string, checked: CheckedNetwork, o: { precision: Precision; kernels: Kernels; threads: number; train?: TrainConfig }): Promise<string> {
  const [{ moduleParts }, { plan }, { runnableJavaScript }] = await Promise.all([import("../codegen/module.js"), import("../codegen/plan.js"), import("../codegen/runnable.js")]);
  const parts = moduleParts(plan(checked), { file, precision: o.precision, train: o.train, version: VERSION, kernels: o.kernels, threads: o.threads, fma: false });
  const tooLong = tooMuchCode(parts);
  if (tooLong) throw new UsageError(`the compiled engine cannot take this network: ${tooLong}; use --interpret`);
  return runnableJavaScript(parts);
}

let imports = 0;

/** Imports a cached module; undefined when it fails or lacks the generated exports (then it is rebuilt). */
async function importModule(path: string, fresh: boolean): Promise<CompiledModule | undefined> {
  const url = pathToFileURL(path);
  if (fresh) url.search = `?v=${++imports}`;
  let module: Partial<CompiledModule>;
  try {
    module = (await import(url.href)) as Partial<CompiledModule>;
  } catch {
    return undefined;
  }
  const complete = typeof module.Model === "function" && typeof module.fit === "function" && typeof module.readData === "function" && module.NETWORK !== undefined && Array.isArray(module.WEIGHTS);
  return complete ? (module as CompiledModule) : undefined;
}

/** Puts weights (name → values, as src/io reads and checks them: a Map of arrays or of `{ data }`) into a compiled model. */
export function setModelWeights(module: CompiledModule, model: CompiledModel, weights: ReadonlyMap<string, ArrayLike<number> | { readonly data: ArrayLike<number> }>): void {
  for (const w of module.WEIGHTS) {
    const entry = weights.get(w.name);
    if (entry === undefined) continue;
    const values = "data" in entry ? entry.data : entry;
    if (values.length !== w.size) throw new Error(`internal: ${w.name} has ${values.length} values, the module expects ${w.size}`);
    model.w.set(values, w.offset);
  }
}
