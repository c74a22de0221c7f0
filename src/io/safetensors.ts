import type { Tensor } from "../interp/tensor.js";
import { DataError } from "./errors.js";
import { describeJsonValue } from "./json-bytes.js";
import { parseJsonText } from "./json-text.js";

/**
 * safetensors (https://github.com/huggingface/safetensors): an 8-byte little-endian header
 * length N, N bytes of JSON `{"name": {"dtype", "shape", "data_offsets": [begin, end]}, …,
 * "__metadata__": {string: string}}`, then the tensors' raw little-endian bytes, offsets
 * counted from the end of the header. dlc writes F32 (default) or F64 and reads F64, F32, F16
 * and BF16, converting to float64.
 */
export type WriteDtype = "F32" | "F64";

const READ_SIZES: Readonly<Record<string, number>> = { F64: 8, F32: 4, F16: 2, BF16: 2 };
const OTHER_DTYPES = ["BOOL", "U8", "I8", "U16", "I16", "U32", "I32", "U64", "I64", "F8_E4M3", "F8_E5M2", "C64"];
/** The reference implementation refuses headers past 100 MB; so do we. */
const MAX_HEADER = 100_000_000;

export interface SafetensorsContents {
  readonly tensors: Map<string, Tensor & { readonly dtype: string }>;
  readonly metadata?: Readonly<Record<string, string>>;
}

interface Entry {
  readonly name: string;
  readonly dtype: string;
  readonly shape: number[];
  readonly begin: number;
  readonly end: number;
}

export function decodeSafetensors(bytes: Uint8Array, file: string): SafetensorsContents {
  const fail = (message: string): never => {
    throw new DataError(`${file}: ${message}`, { file });
  };
  if (bytes.length < 8) fail(`truncated safetensors file: ${bytes.length} byte${bytes.length === 1 ? "" : "s"}, fewer than the 8 that give the header's length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getBigUint64(0, true);
  const available = bytes.length - 8;
  if (headerLength > BigInt(available)) {
    fail(`truncated safetensors file (or not safetensors at all): the header claims ${headerLength} bytes but only ${available} follow the length`);
  }
  const n = Number(headerLength);
  if (n > MAX_HEADER) fail(`the safetensors header is ${n} bytes, more than the 100 MB limit`);
  if (n < 2) fail("the safetensors header is empty; it must be a JSON object");
  let headerText: string;
  try {
    headerText = new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, 8 + n));
  } catch {
    return fail("the safetensors header is not valid UTF-8");
  }
  if (!headerText.trimStart().startsWith("{")) fail("not a safetensors file: the header does not start with '{'");
  const header = parseJsonText(headerText, `${file} (safetensors header)`, "JSON header");
  if (header === null || typeof header !== "object" || Array.isArray(header)) return fail("the safetensors header must be a JSON object");
  const dataLength = available - n;
  const dataStart = 8 + n;
  const entries: Entry[] = [];
  let metadata: Record<string, string> | undefined;
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === "__metadata__") {
      if (raw === null || typeof raw !== "object" || Array.isArray(raw)) fail("__metadata__ must be an object of strings");
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof v !== "string") fail(`__metadata__.${k} must be a string, found ${describeJsonValue(v)}`);
      }
      metadata = raw as Record<string, string>;
      continue;
    }
    entries.push(readEntry(name, raw, dataLength, fail));
  }
  // Tensors must not share bytes.
  const sorted = [...entries].filter((e) => e.end > e.begin).sort((a, b) => a.begin - b.begin);
  for (let i = 1; i < sorted.length; i++) {
    const a = sorted[i - 1]!;
    const b = sorted[i]!;
    if (b.begin < a.end) fail(`'${a.name}' (bytes ${a.begin}–${a.end}) and '${b.name}' (bytes ${b.begin}–${b.end}) overlap`);
  }
  const tensors = new Map<string, Tensor & { dtype: string }>();
  for (const e of entries) {
    tensors.set(e.name, { shape: e.shape, data: decodeValues(view, dataStart + e.begin, e.end - e.begin, e.dtype), dtype: e.dtype });
  }
  return { tensors, metadata };
}

function readEntry(name: string, raw: unknown, dataLength: number, fail: (m: string) => never): Entry {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) return fail(`the header entry '${name}' must be an object with dtype, shape and data_offsets`);
  const r = raw as Record<string, unknown>;
  const dtype = r.dtype;
  if (typeof dtype !== "string") return fail(`'${name}' has no dtype string`);
  const size = READ_SIZES[dtype];
  if (size === undefined) {
    const known = OTHER_DTYPES.includes(dtype);
    return fail(`'${name}' has dtype ${JSON.stringify(dtype)}, which dlc ${known ? "does not read" : "does not know"}; weights must be F64, F32, F16 or BF16`);
  }
  const shape = r.shape;
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) {
    return fail(`'${name}' has shape ${JSON.stringify(shape) ?? "missing"}; a shape is a list of non-negative integers`);
  }
  const offsets = r.data_offsets;
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && (o as number) >= 0)) {
    return fail(`'${name}' has data_offsets ${JSON.stringify(offsets) ?? "missing"}; they must be [begin, end], two non-negative integers`);
  }
  const [begin, end] = offsets as [number, number];
  if (end < begin) fail(`'${name}' has data_offsets [${begin}, ${end}]: the end comes before the beginning`);
  if (end > dataLength) {
    fail(`truncated safetensors file: '${name}' needs bytes ${begin}–${end} of the data, but the file holds only ${dataLength} bytes of data`);
  }
  let count = 1;
  for (const d of shape as number[]) count *= d;
  if ((end - begin) !== count * size) {
    fail(`'${name}' has shape [${(shape as number[]).join(",")}] of ${dtype}, which takes ${count * size} bytes, but its data_offsets [${begin}, ${end}] span ${end - begin}`);
  }
  return { name, dtype, shape: shape as number[], begin, end };
}

const scratch = new DataView(new ArrayBuffer(4));

function decodeValues(view: DataView, start: number, length: number, dtype: string): Float64Array {
  const size = READ_SIZES[dtype]!;
  const n = length / size;
  const out = new Float64Array(n);
  switch (dtype) {
    case "F64":
      for (let i = 0; i < n; i++) out[i] = view.getFloat64(start + 8 * i, true);
      break;
    case "F32":
      for (let i = 0; i < n; i++) out[i] = view.getFloat32(start + 4 * i, true);
      break;
    case "F16":
      for (let i = 0; i < n; i++) out[i] = halfToNumber(view.getUint16(start + 2 * i, true));
      break;
    case "BF16":
      for (let i = 0; i < n; i++) {
        scratch.setUint32(0, view.getUint16(start + 2 * i, true) << 16);
        out[i] = scratch.getFloat32(0);
      }
      break;
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

export interface EncodeOptions {
  readonly dtype?: WriteDtype;
  readonly metadata?: Readonly<Record<string, string>>;
}

/** The bytes of a safetensors file holding `tensors` in the given order. */
export function encodeSafetensors(tensors: Iterable<readonly [string, Tensor]>, file: string, options: EncodeOptions = {}): Uint8Array {
  const dtype = options.dtype ?? "F32";
  const size = dtype === "F64" ? 8 : 4;
  const header: Record<string, unknown> = {};
  if (options.metadata) header.__metadata__ = options.metadata;
  const list: (readonly [string, Tensor])[] = [];
  let offset = 0;
  for (const [name, t] of tensors) {
    if (name === "__metadata__") throw new DataError(`cannot write ${file}: '__metadata__' is reserved and cannot name a tensor`, { file });
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count !== t.data.length) throw new DataError(`cannot write ${file}: '${name}' has ${t.data.length} values but shape [${t.shape.join(",")}]`, { file });
    header[name] = { dtype, shape: [...t.shape], data_offsets: [offset, offset + count * size] };
    list.push([name, t]);
    offset += count * size;
  }
  let headerText = JSON.stringify(header);
  // Pad with spaces so the data starts 8-byte aligned, as the reference writer does.
  const headerBytesRaw = new TextEncoder().encode(headerText);
  const padding = (8 - (headerBytesRaw.length % 8)) % 8;
  headerText += " ".repeat(padding);
  const headerBytes = new TextEncoder().encode(headerText);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const [name, t] of list) {
    const d = t.data;
    if (dtype === "F64") {
      for (let i = 0; i < d.length; i++, at += 8) view.setFloat64(at, d[i]!, true);
    } else {
      for (let i = 0; i < d.length; i++, at += 4) {
        const v = d[i]!;
        const f = Math.fround(v);
        if (!Number.isFinite(f) && Number.isFinite(v)) {
          throw new DataError(`cannot write ${file}: '${name}' holds ${v} at flat index ${i}, too large for F32 (write F64 instead: --dtype f64)`, { file });
        }
        view.setFloat32(at, v, true);
      }
    }
  }
  return out;
}
