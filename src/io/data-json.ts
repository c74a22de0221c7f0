import { formatShape, sameShape } from "../ir/shape.js";
import { closest } from "../util/suggest.js";
import type { DataSpec, InputSpec } from "./data-spec.js";
import type { Dataset, InputSamples } from "./dataset.js";
import { DataError } from "./errors.js";
import { parseJsonText } from "./json-text.js";
import { claimedShape, fillFromNested, NestedError } from "./nested.js";
import { indexPath, TargetBuilder } from "./targets.js";

/**
 * A JSON data file (§8): `{"x": [sample, …], "y": [target, …]}`. With several network inputs,
 * `x` is an object keyed by input name: `{"x": {"src": […], "tgt": […]}, "y": […]}` (a single
 * input may be keyed too). `y` may be left out where no targets are needed (`dlc run`).
 */
export function parseDataJson(text: string, file: string, spec: DataSpec): Dataset {
  const doc = parseJsonText(text, file);
  const fail = (message: string, path?: string): never => {
    throw new DataError(`${file}: ${message}`, { file, path });
  };
  /** A sentence with the file as its subject: `data.json has no samples`. */
  const failHas = (message: string, path?: string): never => {
    throw new DataError(`${file} ${message}`, { file, path });
  };
  if (doc === null || typeof doc !== "object" || Array.isArray(doc)) {
    return fail(`a JSON data file is one object {"x": [sample, …], "y": [target, …]}; found ${Array.isArray(doc) ? "an array" : doc === null ? "null" : typeof doc}`);
  }
  const top = doc as Record<string, unknown>;
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
  if (!Array.isArray(y)) return fail(`"y" must be an array with one target per sample, found ${y === null ? "null" : typeof y}`, "y");
  if (y.length !== size) failHas(`has ${size} samples in x but ${y.length} in y`, "y");
  const builder = new TargetBuilder(spec, size, file);
  for (let i = 0; i < size; i++) builder.nested(i, y[i], { what: `y[${i}]`, at: file, file });
  return { size, inputs, targets: builder.result(), source: file };
}

interface Column {
  readonly spec: InputSpec;
  readonly samples: readonly unknown[];
  /** `x` or `x.src`. */
  readonly path: string;
}

function inputArrays(x: unknown, spec: DataSpec, fail: (m: string, path?: string) => never): Column[] {
  const names = spec.inputs.map((i) => i.name);
  if (Array.isArray(x)) {
    if (spec.inputs.length === 1) return [{ spec: spec.inputs[0]!, samples: x, path: "x" }];
    return fail(`the network has ${spec.inputs.length} inputs (${names.join(", ")}), so "x" must be an object keyed by input name: {"x": {${names.map((n) => `"${n}": […]`).join(", ")}}, …}`, "x");
  }
  if (x === null || typeof x !== "object") return fail(`"x" must be an array of samples${spec.inputs.length > 1 ? " per input" : ""}, found ${x === null ? "null" : typeof x}`, "x");
  const keyed = x as Record<string, unknown>;
  const columns: Column[] = [];
  for (const input of spec.inputs) {
    const path = `x.${input.name}`;
    const samples = keyed[input.name];
    if (samples === undefined) {
      const others = Object.keys(keyed).filter((k) => !names.includes(k));
      const guess = closest(input.name, others);
      fail(`"x" has no "${input.name}"${guess ? `; did you mean "${guess}"?` : ""} (the network's inputs: ${names.join(", ")})`, "x");
    }
    if (!Array.isArray(samples)) fail(`${path} must be an array of samples, found ${samples === null ? "null" : typeof samples}`, path);
    columns.push({ spec: input, samples: samples as unknown[], path });
  }
  for (const key of Object.keys(keyed)) {
    if (!names.includes(key)) fail(`"x" has "${key}", which is not an input of the network (its inputs: ${names.join(", ")})`, `x.${key}`);
  }
  return columns;
}

function readInput(samples: readonly unknown[], input: InputSpec, path: string, file: string, named: boolean): InputSamples {
  const width = input.shape.reduce((a, b) => a * b, 1);
  const data = new Float64Array(samples.length * width);
  for (let i = 0; i < samples.length; i++) {
    const at = `${path}[${i}]`;
    const claimed = claimedShape(samples[i]);
    if (!sameShape(claimed, input.shape)) {
      const got = claimed.length === 0 && typeof samples[i] !== "number" ? `is ${samples[i] === null ? "null" : typeof samples[i]}, not an array` : `has shape ${formatShape(claimed)}`;
      throw new DataError(`sample ${i} of ${file} (${at}) ${got}; the network's input${named ? ` '${input.name}'` : ""} is ${formatShape(input.shape)}`, { file, path: at });
    }
    try {
      fillFromNested(samples[i], input.shape, data, i * width, at);
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
