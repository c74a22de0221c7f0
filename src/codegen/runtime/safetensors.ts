import { DataError, excerpt } from "./errors.js";
import { utf8Decode, utf8Encode } from "./host.js";
import { describeJsonValue, parseJsonBytes } from "./json.js";

/**
 * safetensors: an 8-byte little-endian header length N, N bytes of JSON `{"name": {"dtype",
 * "shape", "data_offsets": [begin, end]}, …, "__metadata__": {…}}`, then the raw little-endian
 * tensors. Reads F64, F32, F16 and BF16; writes F32 (default) or F64. The one reader and writer
 * of dlc and of every generated module.
 */
const READ_SIZES: Readonly<Record<string, number>> = { F64: 8, F32: 4, F16: 2, BF16: 2 };
const OTHER_DTYPES = ["BOOL", "U8", "I8", "U16", "I16", "U32", "I32", "U64", "I64", "F8_E4M3", "F8_E5M2", "C64"];

export interface NamedTensor {
  readonly shape: readonly number[];
  readonly data: Float64Array;
}

export interface SafetensorsContents {
  /** In the header's order; `dtype` as stored (F64, F32, F16 or BF16), the values as float64. */
  readonly tensors: Map<string, NamedTensor & { readonly dtype: string }>;
  readonly metadata?: Readonly<Record<string, string>>;
}

export function decodeSafetensors(bytes: Uint8Array, file: string): SafetensorsContents {
  const fail = (message: string): never => {
    throw new DataError(`${file}: ${message}`, file);
  };
  if (bytes.length < 8) fail(`truncated safetensors file: ${bytes.length} byte${bytes.length === 1 ? "" : "s"}, fewer than the 8 that give the header's length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getBigUint64(0, true);
  const available = bytes.length - 8;
  if (headerLength > BigInt(available)) fail(`truncated safetensors file (or not safetensors at all): the header claims ${headerLength} bytes but only ${available} follow the length`);
  const n = Number(headerLength);
  if (n > 100_000_000) fail(`the safetensors header is ${n} bytes, more than the 100 MB limit`);
  if (n < 2) fail("the safetensors header is empty; it must be a JSON object");
  const headerText = utf8Decode(bytes.subarray(8, 8 + n), true) ?? fail("the safetensors header is not valid UTF-8");
  if (!headerText.trimStart().startsWith("{")) fail("not a safetensors file: the header does not start with '{'");
  const header = parseJsonBytes(bytes.subarray(8, 8 + n), `${file} (safetensors header)`, { pack: false, what: "JSON header" });
  if (header === null || typeof header !== "object" || Array.isArray(header)) return fail("the safetensors header must be a JSON object");
  const dataLength = available - n;
  const entries: { name: string; dtype: string; shape: number[]; begin: number; end: number }[] = [];
  let metadata: Record<string, string> | undefined;
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === "__metadata__") {
      if (raw === null || typeof raw !== "object" || Array.isArray(raw)) fail("__metadata__ must be an object of strings");
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof v !== "string") fail(`__metadata__.${excerpt(k)} must be a string, found ${describeJsonValue(v)}`);
      }
      metadata = raw as Record<string, string>;
      continue;
    }
    if (raw === null || typeof raw !== "object" || Array.isArray(raw)) fail(`the header entry '${excerpt(name)}' must be an object with dtype, shape and data_offsets`);
    const r = raw as Record<string, unknown>;
    const dtype = r.dtype;
    if (typeof dtype !== "string") return fail(`'${excerpt(name)}' has no dtype string`);
    const size = READ_SIZES[dtype];
    if (size === undefined) fail(`'${excerpt(name)}' has dtype ${excerpt(JSON.stringify(dtype))}, which dlc ${OTHER_DTYPES.includes(dtype) ? "does not read" : "does not know"}; weights must be F64, F32, F16 or BF16`);
    const shape = r.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) {
      fail(`'${excerpt(name)}' has shape ${excerpt(JSON.stringify(shape) ?? "missing")}; a shape is a list of non-negative integers`);
    }
    const offsets = r.data_offsets;
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && (o as number) >= 0)) {
      fail(`'${excerpt(name)}' has data_offsets ${excerpt(JSON.stringify(offsets) ?? "missing")}; they must be [begin, end], two non-negative integers`);
    }
    const [begin, end] = offsets as [number, number];
    if (end < begin) fail(`'${excerpt(name)}' has data_offsets [${begin}, ${end}]: the end comes before the beginning`);
    if (end > dataLength) fail(`truncated safetensors file: '${excerpt(name)}' needs bytes ${begin}–${end} of the data, but the file holds only ${dataLength} bytes of data`);
    let count = 1;
    for (const d of shape as number[]) count *= d;
    if (end - begin !== count * size!) {
      fail(`'${excerpt(name)}' has shape [${(shape as number[]).join(",")}] of ${dtype}, which takes ${count * size!} bytes, but its data_offsets [${begin}, ${end}] span ${end - begin}`);
    }
    entries.push({ name, dtype, shape: shape as number[], begin, end });
  }
  const sorted = entries.filter((e) => e.end > e.begin).sort((a, b) => a.begin - b.begin);
  for (let i = 1; i < sorted.length; i++) {
    const a = sorted[i - 1]!;
    const b = sorted[i]!;
    if (b.begin < a.end) fail(`'${excerpt(a.name)}' (bytes ${a.begin}–${a.end}) and '${excerpt(b.name)}' (bytes ${b.begin}–${b.end}) overlap`);
  }
  const tensors = new Map<string, NamedTensor & { readonly dtype: string }>();
  for (const e of entries) tensors.set(e.name, { shape: e.shape, data: decodeValues(view, 8 + n + e.begin, e.end - e.begin, e.dtype), dtype: e.dtype });
  return { tensors, metadata };
}

function decodeValues(view: DataView, start: number, length: number, dtype: string): Float64Array {
  const n = length / READ_SIZES[dtype]!;
  const out = new Float64Array(n);
  const scratch = new DataView(new ArrayBuffer(4));
  for (let i = 0; i < n; i++) {
    if (dtype === "F64") out[i] = view.getFloat64(start + 8 * i, true);
    else if (dtype === "F32") out[i] = view.getFloat32(start + 4 * i, true);
    else if (dtype === "F16") out[i] = halfToNumber(view.getUint16(start + 2 * i, true));
    else {
      scratch.setUint32(0, view.getUint16(start + 2 * i, true) << 16);
      out[i] = scratch.getFloat32(0);
    }
  }
  return out;
}

/** IEEE 754 binary16 → number (subnormals, infinities and NaN included). */
export function halfToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction ? NaN : sign * Infinity;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

/** The bytes of a safetensors file holding `tensors` in order, F32 or F64, data 8-byte aligned. */
export function encodeSafetensors(tensors: readonly (readonly [string, NamedTensor])[], file: string, dtype: "F32" | "F64", metadata?: Readonly<Record<string, string>>): Uint8Array {
  const size = dtype === "F64" ? 8 : 4;
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of tensors) {
    if (name === "__metadata__") throw new DataError(`cannot write ${file}: '__metadata__' is reserved and cannot name a tensor`, file);
    header[name] = { dtype, shape: [...t.shape], data_offsets: [offset, offset + t.data.length * size] };
    offset += t.data.length * size;
  }
  let headerText = JSON.stringify(header);
  headerText += " ".repeat((8 - (utf8Encode(headerText).length % 8)) % 8);
  const headerBytes = utf8Encode(headerText);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const [name, t] of tensors) {
    const d = t.data;
    for (let i = 0; i < d.length; i++, at += size) {
      const v = d[i]!;
      if (dtype === "F64") view.setFloat64(at, v, true);
      else {
        if (!Number.isFinite(Math.fround(v)) && Number.isFinite(v)) {
          throw new DataError(`cannot write ${file}: '${name}' holds ${v} at flat index ${i}, too large for F32 (write F64 instead: --dtype f64)`, file);
        }
        view.setFloat32(at, v, true);
      }
    }
  }
  return out;
}
