import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { CheckedNetwork } from "../../check/infer.js";
import { dataSpecOf } from "../../io/data-spec.js";
import { literal } from "../safe-text.js";

/**
 * Puts the runtime — weights files, data files, `fit` and the command line — into a generated
 * module. The runtime is written as ordinary TypeScript in this folder (type-checked with the
 * project, testable on its own); at compile time its files are read as text, their imports of
 * each other dropped (everything lands in one module) and their exports dropped too, except the
 * public API. This file is the one runtime file that is not inlined.
 */

/** In dependency order (only for readability: declarations are hoisted or used later). */
const FILES = ["host", "errors", "json", "nested", "safetensors", "public-types", "internal-types", "targets", "weights", "csv-fields", "data", "random", "divergence", "schedule", "optimizer-state", "clip", "metrics", "trainer", "checkpoint", "fit", "threads", "api", "temp-files", "node-files", "progress", "plot-svg", "interrupt", "cli"] as const;
/** Files whose exports stay exports of the generated module. */
const PUBLIC_FILES: ReadonlySet<string> = new Set(["public-types"]);
/** Single declarations that stay exported. */
const PUBLIC_NAMES: ReadonlySet<string> = new Set(["DataError"]);

let cached: string | undefined;

/**
 * The folder holding the runtime's .ts sources: this file's own under vitest (src/), and
 * src/codegen/runtime of the package when running from dist/ (package.json ships it).
 */
function sourceFolder(): string {
  const candidates = [new URL("./", import.meta.url), new URL("../../../../src/codegen/runtime/", import.meta.url)];
  for (const url of candidates) {
    const dir = fileURLToPath(url);
    if (existsSync(`${dir}host.ts`)) return dir;
  }
  throw new Error(`internal: the generated module's runtime sources are missing (looked in ${candidates.map((u) => fileURLToPath(u)).join(" and ")})`);
}

/** One runtime file's text as it goes into the module. */
export function inlineRuntimeFile(name: string, text: string): string {
  let out = text.replace(/^import\s[^;]*?\sfrom\s+"\.\/[\w-]+\.js";[ \t]*\n/gm, "");
  if (/^import\s/m.test(out)) throw new Error(`internal: runtime/${name}.ts imports something other than a runtime file`);
  const keepAll = PUBLIC_FILES.has(name);
  out = out.replace(/^export ((?:async )?(?:function\*?|class|interface|type|const|let|enum)\s+([A-Za-z_$][\w$]*))/gm, (_m, rest: string, id: string) => (keepAll || PUBLIC_NAMES.has(id) ? `export ${rest}` : rest));
  const stray = /^export\s.*$/m.exec(out.replace(/^export (?:(?:async )?(?:function\*?|class|interface|type|const|let|enum))\s/gm, ""));
  if (stray) throw new Error(`internal: runtime/${name}.ts has an export the inliner does not understand: ${stray[0]}`);
  return `// ---- runtime/${name}.ts ----\n${out.trim()}\n`;
}

/** Every runtime file, inlined, in order (read once per process). */
export function runtimeSource(): string {
  if (cached === undefined) {
    const dir = sourceFolder();
    cached = FILES.map((f) => inlineRuntimeFile(f, readFileSync(`${dir}${f}.ts`, "utf8"))).join("\n");
  }
  return cached;
}

/** Methods for the generated Model class: the runtime API on the model itself. */
export const runtimeMethods = `
  /** Trains on data (a Dataset from readData, or {x, y} as a data file holds it); see fit(). */
  fit(data: TrainingData, options?: FitOptions): Promise<FitOutcome> {
    return fit(this, data, options);
  }

  /** Loads weights (JSON text, or JSON or safetensors bytes; LANGUAGE.md §8) checked against WEIGHTS. Returns warnings. */
  loadWeights(source: string | Uint8Array, options?: LoadWeightsOptions): string[] {
    return loadWeights(this, source, options);
  }

  /** The weights as a JSON weights file's text, or a safetensors file's bytes (§8). */
  saveWeights(format?: "json", options?: SaveWeightsOptions): string;
  saveWeights(format: "safetensors", options?: SaveWeightsOptions): Uint8Array;
  saveWeights(format: WeightsFormat = "json", options?: SaveWeightsOptions): string | Uint8Array {
    return saveWeightsFor(RUNTIME_INFO, this, format, options);
  }
`;

/** The module's tail: the runtime, what it knows of this network, and the exported API. */
export function runtimeCode(checked: CheckedNetwork): string {
  return `\n${runtimeFixed()}\n${runtimeApi(checked)}`;
}

/**
 * The part of runtimeCode that is the same in every generated module (its banner and every
 * runtime file): dlc compile formats it once and caches the result (see codegen/format.ts).
 */
export function runtimeFixed(): string {
  return `// ================================================================================================
// The runtime: weights files (JSON, safetensors), data files (JSON, CSV, IDX), fit, and the
// command line (\`node this-file.mjs run|train …\`). Written once in dlc's src/codegen/runtime and
// the same in every generated module; Node built-ins are loaded only when the command line runs.
// ================================================================================================

${runtimeSource()}`;
}

/** The folder holding dlc's package.json (the runtime sources are in its src/codegen/runtime). */
export function packageRoot(): string {
  return fileURLToPath(new URL("../../../", pathToFileURL(sourceFolder())));
}

/** The part of runtimeCode after the runtime: what it knows of this network, and the exported API. */
export function runtimeApi(checked: CheckedNetwork, shards = 1, workerKey?: string): string {
  const { network } = checked;
  const spec = dataSpecOf(checked);
  const inputs = spec.inputs.map((i) => `{ name: ${literal(i.name)}, shape: [${i.shape.join(", ")}]${i.vocabulary === undefined ? "" : `, vocabulary: ${i.vocabulary}`} }`);
  const out = network.output === undefined ? undefined : network.nodes[network.output];
  const softmax = out !== undefined && (out.kind === "softmax" || out.activation?.kind === "softmax");
  return `
// ---- this network's runtime API ----

/** This file's URL (typed here, so that the module needs no DOM or Node type declarations). */
const MODULE_URL: string = (import.meta as unknown as { readonly url?: string }).url ?? "";

/** What the runtime knows of this module. */
const RUNTIME_INFO: ModuleInfo<Model> = {
  source: NETWORK.source,
  network: NETWORK.name,
  precision: NETWORK.precision,
  inputs: [${inputs.join(", ")}],
  output: NETWORK.output,
  outputSoftmax: ${softmax},
  weights: WEIGHTS,
  defaults: TRAIN_DEFAULTS,
  shards: ${shards},
  create: (options) => new Model(options),
};

/**
 * A data set from a data file's contents (LANGUAGE.md §8): JSON \`{"x": …, "y": …}\` as text,
 * bytes or the parsed object; CSV (the label last); IDX bytes (labels in options.labels).
 */
export function readData(source: string | Uint8Array | { readonly x: unknown; readonly y?: unknown }, options: ReadDataOptions = {}): Dataset {
  return readDataFor(RUNTIME_INFO, source, options);
}

/** Loads weights into a model, checked against WEIGHTS (all or nothing). Returns warnings (weights the network lacks). */
export function loadWeights(model: Model, source: string | Uint8Array, options?: LoadWeightsOptions): string[] {
  return loadWeightsFor(RUNTIME_INFO, model, source, options);
}

/** A model's weights as a JSON weights file (exact) or safetensors bytes (F32, or F64 with { dtype: "f64" }). */
export function saveWeights(model: Model, format?: "json", options?: SaveWeightsOptions): string;
export function saveWeights(model: Model, format: "safetensors", options?: SaveWeightsOptions): Uint8Array;
export function saveWeights(model: Model, format: WeightsFormat = "json", options?: SaveWeightsOptions): string | Uint8Array {
  return saveWeightsFor(RUNTIME_INFO, model, format, options);
}

/**
 * Trains a model as \`dlc train\` does: epochs of shuffled mini-batches (file order with one batch
 * per epoch), a NaN/infinity guard that undoes the bad batch and stops, onEpoch after each epoch.
 */
export function fit(model: Model, data: TrainingData, options?: FitOptions): Promise<FitOutcome> {
  return fitFor(RUNTIME_INFO, model, data, options);
}

/** The command line: \`run --weights W --data D [--json]\` or \`train --data D [...]\`. Resolves to the exit code. */
export function main(argv: readonly string[]): Promise<number> {
  return runCli(RUNTIME_INFO, argv, programName(MODULE_URL));
}
${workerKey === undefined ? "" : `
/** Which module a worker thread loads this file for (runtime/threads.ts): a bundle may hold several. */
const MODULE_KEY = ${literal(workerKey)};

// In a worker thread started for this module: serve its shards (this never returns there).
claimShardWorker(MODULE_KEY, serveShardWorker);
`}
startIfMain(RUNTIME_INFO, MODULE_URL);
`;
}
