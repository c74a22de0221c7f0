import { formatShape } from "../ir/shape.js";
import type { Tensor } from "../interp/tensor.js";
import { DataError } from "../codegen/runtime/errors.js";
import { readRegularFile } from "../codegen/runtime/node-files.js";
import { checkWeights as checkAgainst, encodeWeights, parseWeights, weightsFormatOf } from "../codegen/runtime/weights.js";
import type { WeightsFormat } from "../codegen/runtime/public-types.js";
import { writeFileAtomic, type AtomicWriteHooks } from "./atomic-write.js";
import { nodeHost } from "./node-host.js";
import type { ExpectedWeight } from "./weight-names.js";

/*
 * Weights files for dlc (LANGUAGE.md §8), with the readers and writers every generated module
 * uses (runtime/weights.ts, safetensors.ts): these only turn their name → values maps into the
 * interpreter's tensors and pass dlc's file system in.
 */

export type { WeightsFormat };

/** Weights by `<layer>.<param>` name, each a float64 tensor in §8's layout. */
export type WeightMap = Map<string, Tensor>;

/** The format a weights file's extension names; DataError for any other extension. */
export const weightsFormat: (path: string) => WeightsFormat = weightsFormatOf;

/** Every tensor in a weights file, unchecked, in the file's order. */
export function readWeightsFile(path: string): WeightMap {
  const format = weightsFormatOf(path);
  const found = parseWeights(readRegularFile(path, "weights file", nodeHost()), format, path);
  return new Map([...found].map(([name, t]) => [name, { shape: t.shape, data: t.data }]));
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
export function checkWeights(found: ReadonlyMap<string, Tensor>, expected: readonly ExpectedWeight[], file: string, options: CheckWeightsOptions = {}): CheckedWeights {
  const { values, warnings } = checkAgainst(found, expected, file, options.strict);
  return { weights: new Map(expected.map((e) => [e.name, { shape: e.shape, data: values.get(e.name)! }])), warnings };
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
  const format = weightsFormatOf(path);
  const list = [...tensors];
  for (const [name, t] of list) {
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count !== t.data.length) throw new DataError(`cannot write ${path}: '${name}' has ${t.data.length} values but shape ${formatShape(t.shape)}`, path);
  }
  writeFileAtomic(path, encodeWeights(list, format, { dtype: options.dtype, metadata: options.metadata, file: path }), options.hooks);
}
