import { closest, DataError, excerpt, formatShape, listProblems, sameShape } from "./errors.js";
import { utf8Encode } from "./host.js";
import type { ModelLike, WeightInfo } from "./internal-types.js";
import { isJsonObject, jsonKind, parseJsonBytes } from "./json.js";
import { nestedJson, NestedError, readNested } from "./nested.js";
import type { LoadWeightsOptions, SaveWeightsOptions, WeightsFormat } from "./public-types.js";
import { decodeSafetensors, encodeSafetensors, type NamedTensor } from "./safetensors.js";

/**
 * Weights files (LANGUAGE.md §8), for dlc (src/io adapts them to its tensors) and every
 * generated module: JSON (one object, each `<layer>.<param>` a nested array) or safetensors,
 * checked against the network's weights by name and shape.
 */

/** The format a weights file's extension names. */
export function weightsFormatOf(path: string): WeightsFormat {
  const ext = extensionOf(path);
  if (ext === ".json") return "json";
  if (ext === ".safetensors") return "safetensors";
  throw new DataError(`cannot tell the format of the weights file ${path}${ext ? ` (extension ${ext})` : ""}: name it .json or .safetensors`, path);
}

/** `.json` for `a/b.JSON` (and `a/b.json/`, as Node's extname); "" when the name has no extension. */
export function extensionOf(path: string): string {
  const trimmed = path.replace(/[\\/]+$/, "");
  const name = trimmed.slice(Math.max(trimmed.lastIndexOf("/"), trimmed.lastIndexOf("\\")) + 1);
  const dot = name.lastIndexOf(".");
  return dot > 0 ? name.slice(dot).toLowerCase() : "";
}

/** Text is JSON; bytes are JSON when they start with '{' and hold no zero byte up front, else safetensors. */
function sniffFormat(source: string | Uint8Array): WeightsFormat {
  if (typeof source === "string") return "json";
  let i = 0;
  while (i < source.length && (source[i] === 0xef || source[i] === 0xbb || source[i] === 0xbf || source[i] === 32 || source[i] === 9 || source[i] === 10 || source[i] === 13)) i++;
  return source[i] === 0x7b && !source.subarray(0, 8).includes(0) ? "json" : "safetensors";
}

/** Every tensor of a weights file, unchecked, in the file's order. */
export function parseWeights(source: string | Uint8Array, format: WeightsFormat, file: string): Map<string, NamedTensor> {
  if (format === "safetensors") {
    if (typeof source === "string") throw new DataError(`${file}: a safetensors file is bytes, not text`, file);
    return decodeSafetensors(source, file).tensors;
  }
  const doc = parseJsonBytes(typeof source === "string" ? utf8Encode(source) : source, file);
  if (!isJsonObject(doc)) {
    throw new DataError(`${file}: a JSON weights file must be one object mapping each weight's name to a nested array, e.g. {"dense1.kernel": [[…]], "dense1.bias": […]}; found ${jsonKind(doc)}`, file);
  }
  const out = new Map<string, NamedTensor>();
  for (const [name, value] of Object.entries(doc)) {
    try {
      out.set(name, readNested(value, name));
    } catch (e) {
      if (e instanceof NestedError) throw new DataError(`${file}: ${e.message}`, file);
      throw e;
    }
  }
  return out;
}

/**
 * Matches a file's tensors with the weights the network needs (by name and shape): a missing weight, another shape or a value that is not finite is an error (all listed in one
 * DataError); a weight the network does not have is a warning, or an error with `strict`.
 */
export function checkWeights(found: ReadonlyMap<string, NamedTensor>, expected: readonly { readonly name: string; readonly shape: readonly number[] }[], file: string, strict = false): { values: Map<string, Float64Array>; warnings: string[] } {
  const problems: string[] = [];
  const expectedNames = new Set(expected.map((e) => e.name));
  const extras = [...found.keys()].filter((n) => !expectedNames.has(n));
  const suggested = new Set<string>();
  const values = new Map<string, Float64Array>();
  for (const e of expected) {
    const t = found.get(e.name);
    if (!t) {
      const guess = closest(e.name, extras);
      if (guess) suggested.add(guess);
      problems.push(`'${e.name}' ${formatShape(e.shape)} is missing${guess ? `; did you mean '${excerpt(guess)}'?` : ""}`);
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
    values.set(e.name, t.data);
  }
  const warnings: string[] = [];
  for (const name of extras.filter((n) => !suggested.has(n))) {
    const text = `'${excerpt(name)}' is not a weight of this network`;
    if (strict) problems.push(text);
    else warnings.push(`${file}: ${text}; ignored`);
  }
  if (problems.length > 0) {
    if (found.size > 0 && expected.length > 0 && expected.every((e) => !found.has(e.name))) {
      const have = [...found.keys()].slice(0, 4).map((n) => `'${excerpt(n)}'`).join(", ");
      const need = expected.slice(0, 4).map((e) => `'${e.name}'`).join(", ");
      problems.push(`no name in the file matches: the file has ${have}${found.size > 4 ? ", …" : ""}; the network needs ${need}${expected.length > 4 ? ", …" : ""} (see 'dlc summary' for the layer names)`);
    }
    throw new DataError(listProblems(file, "does not fit the network", problems), file);
  }
  return { values, warnings };
}

function layoutHint(got: readonly number[], need: readonly number[]): string {
  const count = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);
  if (got.length === need.length && [...got].sort((a, b) => a - b).join() === [...need].sort((a, b) => a - b).join()) {
    return " (the same sizes in another order: dlc lays weights out as Keras does, a dense kernel [F,N], a conv kernel [K,K,C,F])";
  }
  if (count(got) === count(need)) return " (the same number of values in another shape)";
  return "";
}

/** Loads a weights file into a model (all or nothing); returns the warnings. */
export function loadWeightsInto(expected: readonly WeightInfo[], model: ModelLike, source: string | Uint8Array, options: LoadWeightsOptions = {}): string[] {
  const file = options.file ?? "weights";
  const found = parseWeights(source, options.format ?? sniffFormat(source), file);
  const { values, warnings } = checkWeights(found, expected, file, options.strict);
  for (const e of expected) model.w.set(values.get(e.name)!, e.offset);
  return warnings;
}

/** The model's weights by name, as float64 copies, in WEIGHTS' order. */
export function namedWeights(expected: readonly WeightInfo[], model: ModelLike): [string, NamedTensor][] {
  return expected.map((e) => [e.name, { shape: e.shape, data: Float64Array.from(model.w.subarray(e.offset, e.offset + e.size)) }]);
}

/** A weights file's contents: JSON text (exact) or safetensors bytes (F32 unless dtype f64). */
export function encodeWeights(list: readonly (readonly [string, NamedTensor])[], format: WeightsFormat, options: SaveWeightsOptions = {}): string | Uint8Array {
  const file = options.file ?? "weights";
  if (format === "safetensors") return encodeSafetensors(list, file, options.dtype === "f64" ? "F64" : "F32", options.metadata);
  const lines: string[] = [];
  for (const [name, t] of list) {
    try {
      lines.push(`  ${JSON.stringify(name)}: ${nestedJson(t.shape, t.data, name)}`);
    } catch (e) {
      if (e instanceof NestedError) throw new DataError(`cannot write ${file}: ${e.message}`, file);
      throw e;
    }
  }
  return lines.length === 0 ? "{}\n" : `{\n${lines.join(",\n")}\n}\n`;
}
