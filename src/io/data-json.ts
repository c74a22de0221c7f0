import { formatShape, sameShape } from "../ir/shape.js";
import { closest } from "../util/suggest.js";
import type { DataSpec, InputSpec } from "./data-spec.js";
import type { Dataset, InputSamples } from "./dataset.js";
import { DataError } from "./errors.js";
import { isJsonObject, jsonKind, Packed, parseJsonBytes } from "./json-bytes.js";
import { claimedShape, fillFromNested, NestedError } from "./nested.js";
import { indexPath, TargetBuilder } from "./targets.js";

/**
 * A JSON data file (§8): `{"x": [sample, …], "y": [target, …]}`. With several network inputs,
 * `x` is an object keyed by input name: `{"x": {"src": […], "tgt": […]}, "y": […]}` (a single
 * input may be keyed too). `y` may be left out where no targets are needed (`dlc run`).
 */
export function parseDataJson(bytes: Uint8Array, file: string, spec: DataSpec): Dataset {
  const doc = parseJsonBytes(bytes, file);
  const fail = (message: string, path?: string): never => {
    throw new DataError(`${file}: ${message}`, { file, path });
  };
  /** A sentence with the file as its subject: `data.json has no samples`. */
  const failHas = (message: string, path?: string): never => {
    throw new DataError(`${file} ${message}`, { file, path });
  };
  if (!isJsonObject(doc)) return fail(`a JSON data file is one object {"x": [sample, …], "y": [target, …]}; found ${jsonKind(doc)}`);
  const top = doc;
  if (!("x" in top)) {
    const guess = closest("x", Object.keys(top).filter((k) => k !== "y"));
    return failHas(`has no "x" (the samples)${guess ? `; is "${guess}" meant to be "x"?` : Object.keys(top).length ? ` (it has ${Object.keys(top).map((k) => `"${k}"`).join(", ")})` : ""}`);
  }
  const columns = inputArrays(top.x, spec, fail);
  const size = columns[0]!.samples.length;
  for (const c of columns.slice(1)) {
    if (c.samples.length !== size) fail(`${c.path} has ${c.samples.length} samples but ${columns[0]!.path} has ${size}`);
  }
  if (size === 0) failHas("has no samples: x is empty", "x");
  const inputs: InputSamples[] = columns.map((c) => readInput(c.samples, c.spec, c.path, file, columns.length > 1));
  const y = top.y;
  if (y === undefined) {
    if (spec.needTargets) {
      const guess = closest("y", Object.keys(top).filter((k) => k !== "x"));
      failHas(`has no "y" (the targets), which training needs${guess ? `; is "${guess}" meant to be "y"?` : ""}`);
    }
    return { size, inputs, source: file };
  }
  const targets = samplesOf(y);
  if (!targets) return fail(`"y" must be an array with one target per sample, found ${jsonKind(y)}`, "y");
  if (targets.length !== size) failHas(`has ${size} samples in x but ${targets.length} in y`, "y");
  const builder = new TargetBuilder(spec, size, file);
  for (let i = 0; i < size; i++) builder.nested(i, targets.get(i), { what: `y[${i}]`, at: file, file });
  return { size, inputs, targets: builder.result(), source: file };
}

/** An array of samples, packed (regular numbers) or plain. */
interface Samples {
  readonly length: number;
  get(i: number): unknown;
  readonly packed?: Packed;
}

function samplesOf(v: unknown): Samples | undefined {
  if (v instanceof Packed) return { length: v.shape[0]!, get: (i) => v.element(i), packed: v };
  if (Array.isArray(v)) return { length: v.length, get: (i) => v[i] as unknown };
  return undefined;
}

interface Column {
  readonly spec: InputSpec;
  readonly samples: Samples;
  /** `x` or `x.src`. */
  readonly path: string;
}

function inputArrays(x: unknown, spec: DataSpec, fail: (m: string, path?: string) => never): Column[] {
  const names = spec.inputs.map((i) => i.name);
  const direct = samplesOf(x);
  if (direct) {
    if (spec.inputs.length === 1) return [{ spec: spec.inputs[0]!, samples: direct, path: "x" }];
    return fail(`the network has ${spec.inputs.length} inputs (${names.join(", ")}), so "x" must be an object keyed by input name: {"x": {${names.map((n) => `"${n}": […]`).join(", ")}}, …}`, "x");
  }
  if (!isJsonObject(x)) return fail(`"x" must be an array of samples${spec.inputs.length > 1 ? " per input" : ""}, found ${jsonKind(x)}`, "x");
  const keyed = x;
  const columns: Column[] = [];
  for (const input of spec.inputs) {
    const path = `x.${input.name}`;
    const value = keyed[input.name];
    if (value === undefined) {
      const others = Object.keys(keyed).filter((k) => !names.includes(k));
      const guess = closest(input.name, others);
      fail(`"x" has no "${input.name}"${guess ? `; did you mean "${guess}"?` : ""} (the network's inputs: ${names.join(", ")})`, "x");
    }
    const samples = samplesOf(value);
    if (!samples) return fail(`${path} must be an array of samples, found ${jsonKind(value)}`, path);
    columns.push({ spec: input, samples, path });
  }
  for (const key of Object.keys(keyed)) {
    if (!names.includes(key)) fail(`"x" has "${key}", which is not an input of the network (its inputs: ${names.join(", ")})`, `x.${key}`);
  }
  return columns;
}

function readInput(samples: Samples, input: InputSpec, path: string, file: string, named: boolean): InputSamples {
  const width = input.shape.reduce((a, b) => a * b, 1);
  const packed = samples.packed;
  if (packed && sameShape(packed.shape.slice(1), input.shape)) {
    // Every sample regular and of the input's shape: one copy.
    const data = packed.values().slice();
    if (input.vocabulary !== undefined) checkTokenIds(data, input, path, file);
    return { name: input.name, shape: [...input.shape], data };
  }
  const data = new Float64Array(samples.length * width);
  for (let i = 0; i < samples.length; i++) {
    const at = `${path}[${i}]`;
    const sample = samples.get(i);
    const claimed = claimedShape(sample);
    if (!sameShape(claimed, input.shape)) {
      const got = typeof sample === "number" ? `is the number ${sample}, not an array` : claimed.length === 0 ? `is ${jsonKind(sample)}, not an array of numbers` : `has shape ${formatShape(claimed)}`;
      throw new DataError(`sample ${i} of ${file} (${at}) ${got}; the network's input${named ? ` '${input.name}'` : ""} is ${formatShape(input.shape)}`, { file, path: at });
    }
    try {
      fillFromNested(sample, input.shape, data, i * width, at);
    } catch (e) {
      if (e instanceof NestedError) throw new DataError(`sample ${i} of ${file}: ${e.message}`, { file, path: e.path });
      throw e;
    }
  }
  if (input.vocabulary !== undefined) checkTokenIds(data, input, path, file);
  return { name: input.name, shape: [...input.shape], data };
}

/** Token ids for an embedding: whole numbers below the vocabulary size. */
export function checkTokenIds(data: Float64Array, input: InputSpec, path: string, file: string, where?: (flat: number) => string): void {
  const v = input.vocabulary!;
  const width = input.shape.reduce((a, b) => a * b, 1);
  for (let j = 0; j < data.length; j++) {
    const id = data[j]!;
    if (Number.isInteger(id) && id >= 0 && id < v) continue;
    const at = where ? where(j) : `${path}[${Math.floor(j / width)}]${indexPath(input.shape, j % width)}`;
    throw new DataError(`${file}: ${at} = ${id} is not a token id for the embedding's vocabulary of ${v} (a whole number from 0 to ${v - 1})`, { file, path: at });
  }
}
