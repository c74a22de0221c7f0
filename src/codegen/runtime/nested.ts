import { describeJsonValue, Packed } from "./json.js";

/**
 * Nested JSON arrays ↔ flat row-major arrays, with messages about the JSON path
 * (`dense1.kernel[2][1] is "abc", not a number`); the caller adds the file. A value is plain JS
 * arrays (data handed to the API in memory, or irregular parts of a file) or, from a file,
 * json.ts's Packed: a regular block of numbers, copied in one go.
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
 * Copies `value`, which must be a nested array of finite numbers of exactly `shape`, into `out`
 * at `offset`; returns the offset after it. NestedError for a ragged array or a non-number.
 */
export function fillFromNested(value: unknown, shape: readonly number[], out: Float64Array, offset: number, path: string, depth = 0): number {
  if (value instanceof Packed) {
    if (sameTail(value.shape, shape, depth)) {
      out.set(value.values(), offset);
      return offset + value.size;
    }
    value = value.toArrays();
  }
  if (depth === shape.length) {
    if (typeof value === "number") {
      // Only data handed to the API in memory can hold these: JSON cannot (json.ts).
      if (!Number.isFinite(value)) throw new NestedError(`${path} is ${value}, not a finite number`, path);
      out[offset] = value;
      return offset + 1;
    }
    throw notANumber(value, path);
  }
  if (!Array.isArray(value)) {
    if (typeof value === "number") throw new NestedError(`${path} is a number where an array of ${shape[depth]} belongs (the array is ragged: its elements nest to different depths)`, path);
    throw new NestedError(`${path} is ${describeJsonValue(value)}, not an array of numbers`, path);
  }
  const n = shape[depth]!;
  if (value.length !== n) {
    const first = depth === 0 ? "" : firstSibling(path, depth);
    const tail = first ? ` but ${first} has ${n}` : `, not ${n}`;
    throw new NestedError(`${path} has ${value.length} element${value.length === 1 ? "" : "s"}${tail} (the array is ragged)`, path);
  }
  if (depth === shape.length - 1) {
    // The innermost level: a plain loop, no path built per number.
    for (let i = 0; i < n; i++) {
      const v = value[i];
      if (typeof v !== "number" || !Number.isFinite(v)) fillFromNested(v, shape, out, offset + i, `${path}[${i}]`, depth + 1);
      else out[offset + i] = v;
    }
    return offset + n;
  }
  let at = offset;
  for (let i = 0; i < n; i++) at = fillFromNested(value[i], shape, out, at, `${path}[${i}]`, depth + 1);
  return at;
}

function notANumber(value: unknown, path: string): NestedError {
  if (Array.isArray(value) || value instanceof Packed) return new NestedError(`${path} is an array where a number belongs (the array is ragged: its elements nest to different depths)`, path);
  return new NestedError(`${path} is ${describeJsonValue(value)}, not a number`, path);
}

function sameTail(packed: readonly number[], shape: readonly number[], depth: number): boolean {
  if (packed.length !== shape.length - depth) return false;
  for (let k = 0; k < packed.length; k++) if (packed[k] !== shape[depth + k]) return false;
  return true;
}

/** `w[3][2]` at depth 2 → `w[0][0]`: the element the claimed shape was read from. */
function firstSibling(path: string, depth: number): string {
  let p = path;
  for (let d = 0; d < depth; d++) {
    const m = /\[(\d+)\]$/.exec(p);
    if (!m) return path;
    p = p.slice(0, -m[0].length);
  }
  const candidate = p + "[0]".repeat(depth);
  return candidate === path ? "" : candidate;
}

/** A nested array whose shape is not known in advance: the claimed shape, checked all the way through. */
export function readNested(value: unknown, path: string): { shape: number[]; data: Float64Array } {
  if (value instanceof Packed) return { shape: [...value.shape], data: value.values().slice() };
  const shape = claimedShape(value);
  let size = 1;
  for (const d of shape) size *= d;
  const data = new Float64Array(size);
  fillFromNested(value, shape, data, 0, path);
  return { shape, data };
}

/** A flat array as nested JSON arrays, numbers exact (the shortest round-trip form). */
export function nestedJson(shape: readonly number[], data: ArrayLike<number>, name: string, depth = 0, offset = 0): string {
  if (depth === shape.length) return numberJson(data[offset]!, offset, name);
  const n = shape[depth]!;
  let inner = 1;
  for (let d = depth + 1; d < shape.length; d++) inner *= shape[d]!;
  const parts: string[] = new Array<string>(n);
  if (depth === shape.length - 1) for (let i = 0; i < n; i++) parts[i] = numberJson(data[offset + i]!, offset + i, name);
  else for (let i = 0; i < n; i++) parts[i] = nestedJson(shape, data, name, depth + 1, offset + i * inner);
  return `[${parts.join(",")}]`;
}

function numberJson(v: number, index: number, name: string): string {
  if (!Number.isFinite(v)) throw new NestedError(`${name} holds ${v} at flat index ${index}; JSON cannot hold it (use a .safetensors file)`, name);
  return Object.is(v, -0) ? "-0" : String(v);
}
