import { extname } from "node:path";
import { formatShape, sameShape } from "../ir/shape.js";
import type { Tensor } from "../interp/tensor.js";
import { closest } from "../util/suggest.js";
import { writeFileAtomic, type AtomicWriteHooks } from "./atomic-write.js";
import { DataError } from "./errors.js";
import { readRegularFile } from "./read-file.js";
import { decodeSafetensors, encodeSafetensors } from "./safetensors.js";
import type { ExpectedWeight } from "./weight-names.js";
import { parseWeightsJson, weightsJsonText } from "./weights-json.js";

export type WeightsFormat = "json" | "safetensors";

/** Weights by `<layer>.<param>` name, each a float64 tensor in §8's layout. */
export type WeightMap = Map<string, Tensor>;

/** The format a weights file's extension names; DataError for any other extension. */
export function weightsFormat(path: string): WeightsFormat {
  const ext = extname(path).toLowerCase();
  if (ext === ".json") return "json";
  if (ext === ".safetensors") return "safetensors";
  throw new DataError(`cannot tell the format of the weights file ${path}${ext ? ` (extension ${ext})` : ""}: name it .json or .safetensors`, { file: path });
}

/** Every tensor in a weights file, unchecked, in the file's order. */
export function readWeightsFile(path: string): WeightMap {
  const format = weightsFormat(path);
  const bytes = readRegularFile(path, "weights file");
  if (format === "json") return parseWeightsJson(bytes, path);
  const map: WeightMap = new Map();
  for (const [name, t] of decodeSafetensors(bytes, path).tensors) map.set(name, { shape: t.shape, data: t.data });
  return map;
}

export interface CheckWeightsOptions {
  /** Weights the network does not have are an error, not a warning. */
  readonly strict?: boolean;
}

export interface CheckedWeights {
  /** Exactly the expected weights, in the expected order. */
  readonly weights: WeightMap;
  /** Weights in the file that the network does not have (ignored unless `strict`). */
  readonly warnings: readonly string[];
}

/**
 * Matches a file's tensors with the weights a network needs. A missing weight, a shape that
 * differs, or a value that is not finite is an error (every problem listed in one DataError);
 * a weight the network does not have is a warning — an error with `strict` — since a file may
 * hold more than one network needs.
 */
export function checkWeights(found: WeightMap, expected: readonly ExpectedWeight[], file: string, options: CheckWeightsOptions = {}): CheckedWeights {
  const problems: string[] = [];
  const expectedNames = new Set(expected.map((e) => e.name));
  const extras = [...found.keys()].filter((n) => !expectedNames.has(n));
  const suggested = new Set<string>();
  const weights: WeightMap = new Map();
  for (const e of expected) {
    const t = found.get(e.name);
    if (!t) {
      const guess = closest(e.name, extras);
      if (guess) suggested.add(guess);
      problems.push(`'${e.name}' ${formatShape(e.shape)} is missing${guess ? `; did you mean '${guess}'?` : ""}`);
      continue;
    }
    if (!sameShape(t.shape, e.shape)) {
      problems.push(`'${e.name}' has shape ${formatShape(t.shape)} in the file but the network needs ${formatShape(e.shape)}${layoutHint(t.shape, e.shape)}`);
      continue;
    }
    const bad = t.data.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) {
      problems.push(`'${e.name}' holds ${t.data[bad]} at flat index ${bad}; weights must be finite numbers`);
      continue;
    }
    weights.set(e.name, { shape: [...e.shape], data: t.data });
  }
  const unused = extras.filter((n) => !suggested.has(n));
  const warnings: string[] = [];
  for (const name of unused) {
    const text = `'${name}' is not a weight of this network`;
    if (options.strict) problems.push(text);
    else warnings.push(`${file}: ${text}; ignored`);
  }
  if (problems.length > 0) {
    if (found.size > 0 && expected.length > 0 && expected.every((e) => !found.has(e.name))) {
      const have = [...found.keys()].slice(0, 4).map((n) => `'${n}'`).join(", ");
      const need = expected.slice(0, 4).map((e) => `'${e.name}'`).join(", ");
      problems.push(`no name in the file matches: the file has ${have}${found.size > 4 ? ", …" : ""}; the network needs ${need}${expected.length > 4 ? ", …" : ""} (see 'dlc summary' for the layer names)`);
    }
    throw new DataError(listProblems(file, "does not fit the network", problems), { file });
  }
  return { weights, warnings };
}

function layoutHint(got: readonly number[], need: readonly number[]): string {
  const count = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);
  if (got.length === need.length && [...got].sort((a, b) => a - b).join() === [...need].sort((a, b) => a - b).join()) {
    return " (the same sizes in another order: dlc lays weights out as Keras does, a dense kernel [F,N], a conv kernel [K,K,C,F])";
  }
  if (count(got) === count(need)) return " (the same number of values in another shape)";
  return "";
}

/** One problem on one line; several as a list under a heading, at most a dozen. */
export function listProblems(file: string, heading: string, problems: readonly string[]): string {
  if (problems.length === 1) return `${file}: ${problems[0]}`;
  const shown = problems.slice(0, 12).map((p) => `  - ${p}`);
  if (problems.length > 12) shown.push(`  … and ${problems.length - 12} more`);
  return `${file} ${heading} (${problems.length} problems):\n${shown.join("\n")}`;
}

export interface ReadWeightsOptions extends CheckWeightsOptions {
  /** Receives each warning (weights the network does not have); they are dropped otherwise. */
  readonly onWarning?: (message: string) => void;
}

/**
 * Reads a weights file (JSON or safetensors, by extension) and checks it against the weights
 * a network needs: the result holds exactly those, in order, as float64.
 */
export function readWeights(path: string, expected: readonly ExpectedWeight[], options: ReadWeightsOptions = {}): WeightMap {
  const { weights, warnings } = checkWeights(readWeightsFile(path), expected, path, options);
  for (const w of warnings) options.onWarning?.(w);
  return weights;
}

export interface WriteWeightsOptions {
  /** safetensors only: F32 (default, as PyTorch and Keras keep weights) or F64 (exact). JSON is always exact. */
  readonly dtype?: "f32" | "f64";
  /** safetensors `__metadata__`. */
  readonly metadata?: Readonly<Record<string, string>>;
  /** For tests: fail between writing the temporary file and renaming it. */
  readonly hooks?: AtomicWriteHooks;
}

/** Writes weights atomically (temporary file, fsync, rename); the format follows the extension. */
export function writeWeights(path: string, tensors: Iterable<readonly [string, Tensor]>, options: WriteWeightsOptions = {}): void {
  const format = weightsFormat(path);
  const list = [...tensors];
  for (const [name, t] of list) {
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count !== t.data.length) throw new DataError(`cannot write ${path}: '${name}' has ${t.data.length} values but shape ${formatShape(t.shape)}`, { file: path });
  }
  const bytes = format === "json" ? weightsJsonText(list, path) : encodeSafetensors(list, path, { dtype: options.dtype === "f64" ? "F64" : "F32", metadata: options.metadata });
  writeFileAtomic(path, bytes, options.hooks);
}
