import type { Shape } from "../ir/shape.js";
import { describeJsonValue, Packed } from "./json-bytes.js";

/**
 * Nested JSON arrays ↔ flat row-major Float64Array. Problems come back as a sentence about the
 * JSON path (`dense1.kernel[2][1] is "abc", not a number`); the caller adds the file.
 */
export class NestedError extends Error {
  constructor(
    message: string,
    readonly path: string,
  ) {
    super(message);
    this.name = "NestedError";
  }
}

/**
 * The shape a nested array claims, read along its first elements (`[[1,2],[3,4],[5,6]]` → [3,2]);
 * a number is shape []. Whether the rest agrees is `fillFromNested`'s job.
 */
export function claimedShape(value: unknown): number[] {
  const shape: number[] = [];
  let v = value;
  for (;;) {
    if (v instanceof Packed) return [...shape, ...v.shape];
    if (!Array.isArray(v)) break;
    shape.push(v.length);
    if (v.length === 0) break;
    v = v[0];
  }
  return shape;
}

/**
 * Copies `value`, which must be a nested array of numbers of exactly `shape`, into `out` at
 * `offset`; returns the offset after it. Throws NestedError for a ragged array or a non-number.
 */
export function fillFromNested(value: unknown, shape: Shape, out: Float64Array, offset: number, path: string): number {
  return fill(value, shape, 0, out, offset, path);
}

function fill(value: unknown, shape: Shape, depth: number, out: Float64Array, offset: number, path: string): number {
  if (value instanceof Packed) {
    if (sameTail(value.shape, shape, depth)) {
      out.set(value.values(), offset);
      return offset + value.size;
    }
    value = value.toArrays();
  }
  if (depth === shape.length) {
    if (typeof value === "number") {
      out[offset] = value;
      return offset + 1;
    }
    if (Array.isArray(value)) throw new NestedError(`${path} is an array where a number belongs (the array is ragged: its elements nest to different depths)`, path);
    throw new NestedError(`${path} is ${describeJsonValue(value)}, not a number`, path);
  }
  if (!Array.isArray(value)) {
    if (typeof value === "number") throw new NestedError(`${path} is a number where an array of ${shape[depth]} belongs (the array is ragged: its elements nest to different depths)`, path);
    throw new NestedError(`${path} is ${describeJsonValue(value)}, not an array of numbers`, path);
  }
  const n = shape[depth]!;
  if (value.length !== n) {
    const first = depth === 0 ? undefined : firstSibling(path, depth);
    const tail = first ? ` but ${first} has ${n}` : `, not ${n}`;
    throw new NestedError(`${path} has ${value.length} element${value.length === 1 ? "" : "s"}${tail} (the array is ragged)`, path);
  }
  if (depth === shape.length - 1) {
    // The innermost level: a plain loop, no recursion per number.
    for (let i = 0; i < n; i++) {
      const v = value[i];
      if (typeof v !== "number") {
        const at = `${path}[${i}]`;
        if (Array.isArray(v)) throw new NestedError(`${at} is an array where a number belongs (the array is ragged: its elements nest to different depths)`, at);
        throw new NestedError(`${at} is ${describeJsonValue(v)}, not a number`, at);
      }
      out[offset + i] = v;
    }
    return offset + n;
  }
  let at = offset;
  for (let i = 0; i < n; i++) at = fill(value[i], shape, depth + 1, out, at, `${path}[${i}]`);
  return at;
}

function sameTail(packed: readonly number[], shape: Shape, depth: number): boolean {
  if (packed.length !== shape.length - depth) return false;
  for (let k = 0; k < packed.length; k++) if (packed[k] !== shape[depth + k]) return false;
  return true;
}

/** `w[3][2]` at depth 2 → `w[0][0]`: the element the claimed shape was read from. */
function firstSibling(path: string, depth: number): string {
  let p = path;
  const suffix: string[] = [];
  for (let d = 0; d < depth; d++) {
    const m = /\[(\d+)\]$/.exec(p);
    if (!m) return path;
    p = p.slice(0, -m[0].length);
    suffix.unshift("[0]");
  }
  const candidate = p + suffix.join("");
  return candidate === path ? "" : candidate;
}

/**
 * Reads a nested array whose shape is not known in advance: the claimed shape, checked all
 * the way through. `path` names the value in messages.
 */
export function readNested(value: unknown, path: string): { shape: number[]; data: Float64Array } {
  if (value instanceof Packed) return { shape: [...value.shape], data: value.values().slice() };
  const shape = claimedShape(value);
  let size = 1;
  for (const d of shape) size *= d;
  const data = new Float64Array(size);
  fillFromNested(value, shape, data, 0, path);
  return { shape, data };
}

/** Writes a flat tensor as nested JSON arrays, numbers exact (shortest round-trip form). */
export function nestedJson(shape: Shape, data: Float64Array, parts: string[], describe: () => string): void {
  emit(shape, 0, data, 0, parts, describe);
}

function emit(shape: Shape, depth: number, data: Float64Array, offset: number, parts: string[], describe: () => string): number {
  if (depth === shape.length) {
    parts.push(numberJson(data[offset]!, offset, describe));
    return offset + 1;
  }
  const n = shape[depth]!;
  if (depth === shape.length - 1) {
    const row: string[] = new Array<string>(n);
    for (let i = 0; i < n; i++) row[i] = numberJson(data[offset + i]!, offset + i, describe);
    parts.push(`[${row.join(",")}]`);
    return offset + n;
  }
  parts.push("[");
  let at = offset;
  for (let i = 0; i < n; i++) {
    if (i > 0) parts.push(",");
    at = emit(shape, depth + 1, data, at, parts, describe);
  }
  parts.push("]");
  return at;
}

function numberJson(v: number, index: number, describe: () => string): string {
  if (!Number.isFinite(v)) throw new NestedError(`${describe()} holds ${v} at flat index ${index}; JSON cannot hold it (use a .safetensors file)`, describe());
  return Object.is(v, -0) ? "-0" : String(v);
}
