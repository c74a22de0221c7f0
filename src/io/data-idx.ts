import { MAX_IDX_VALUES } from "../codegen/runtime/data.js";
import { formatShape } from "../ir/shape.js";
import type { DataSpec } from "./data-spec.js";
import type { Dataset } from "./dataset.js";
import { DataError } from "./errors.js";
import { checkTokenIds } from "./data-json.js";
import { TargetBuilder } from "./targets.js";

/**
 * IDX, the MNIST format (http://yann.lecun.com/exdb/mnist/): two zero bytes, a dtype byte, the
 * number of dimensions, each dimension as a big-endian 32-bit integer, then the values
 * big-endian. An images file [N, …] pairs with a labels file [N].
 */
export interface IdxArray {
  readonly file: string;
  readonly dtype: IdxType;
  readonly dims: readonly number[];
  /** The values as stored (uint8 images are scaled only when they become a dataset). */
  readonly data: Float64Array;
}

export type IdxType = "u8" | "i8" | "i16" | "i32" | "f32" | "f64";

/** The generated module's IDX_TYPES (runtime/data.ts, whose looksLikeIdx dlc sniffs with), typed. */
const TYPES: Readonly<Record<number, { type: IdxType; size: number }>> = {
  0x08: { type: "u8", size: 1 },
  0x09: { type: "i8", size: 1 },
  0x0b: { type: "i16", size: 2 },
  0x0c: { type: "i32", size: 4 },
  0x0d: { type: "f32", size: 4 },
  0x0e: { type: "f64", size: 8 },
};

export interface IdxHeader {
  readonly dtype: IdxType;
  /** Bytes per value. */
  readonly size: number;
  readonly dims: readonly number[];
  /** Bytes of the header, and of the whole file as the header describes it. */
  readonly headerLength: number;
  readonly fileLength: number;
}

/**
 * An IDX file's header, from the file's first bytes (the whole file, or enough of it: a gzip'd
 * file's first inflated bytes, so that the rest is inflated only up to the size they declare).
 */
export function readIdxHeader(bytes: Uint8Array, file: string): IdxHeader {
  const fail = (message: string): never => {
    throw new DataError(`${file}: ${message}`, { file });
  };
  if (bytes.length < 4) fail(`truncated IDX file: ${bytes.length} bytes, fewer than the 4 of the magic number`);
  if (bytes[0] !== 0 || bytes[1] !== 0) fail(`not an IDX file: it must start with two zero bytes, found 0x${hex(bytes[0]!)} 0x${hex(bytes[1]!)}`);
  const t = TYPES[bytes[2]!];
  if (!t) return fail(`unknown IDX data type 0x${hex(bytes[2]!)} (known: 0x08 unsigned byte, 0x09 signed byte, 0x0B short, 0x0C int, 0x0D float, 0x0E double)`);
  const rank = bytes[3]!;
  if (rank === 0) fail("the IDX header declares 0 dimensions");
  const headerLength = 4 + 4 * rank;
  if (bytes.length < headerLength) fail(`truncated IDX file: the header declares ${rank} dimensions (${headerLength} bytes) but the file has ${bytes.length} bytes`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  for (let d = 0; d < rank; d++) dims.push(view.getUint32(4 + 4 * d, false));
  let count = 1;
  for (const d of dims) count *= d;
  if (count > MAX_IDX_VALUES) fail(`the IDX header declares dimensions ${formatShape(dims)}, ${count} values; dlc reads IDX files of up to ${MAX_IDX_VALUES} values`);
  return { dtype: t.type, size: t.size, dims, headerLength, fileLength: headerLength + count * t.size };
}

export function decodeIdx(bytes: Uint8Array, file: string): IdxArray {
  const fail = (message: string): never => {
    throw new DataError(`${file}: ${message}`, { file });
  };
  const { dtype, size, dims, headerLength, fileLength } = readIdxHeader(bytes, file);
  const count = (fileLength - headerLength) / size;
  const need = fileLength - headerLength;
  const have = bytes.length - headerLength;
  if (have < need) fail(`truncated IDX file: dimensions ${formatShape(dims)} of ${dtype} need ${need} bytes of data but the file has ${have}`);
  if (have > need) fail(`the IDX file has ${have - need} bytes after the data its dimensions ${formatShape(dims)} describe`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const data = new Float64Array(count);
  const at = headerLength;
  switch (dtype) {
    case "u8":
      for (let i = 0; i < count; i++) data[i] = bytes[at + i]!;
      break;
    case "i8":
      for (let i = 0; i < count; i++) data[i] = view.getInt8(at + i);
      break;
    case "i16":
      for (let i = 0; i < count; i++) data[i] = view.getInt16(at + 2 * i, false);
      break;
    case "i32":
      for (let i = 0; i < count; i++) data[i] = view.getInt32(at + 4 * i, false);
      break;
    case "f32":
      for (let i = 0; i < count; i++) data[i] = view.getFloat32(at + 4 * i, false);
      break;
    case "f64":
      for (let i = 0; i < count; i++) data[i] = view.getFloat64(at + 8 * i, false);
      break;
  }
  if (dtype === "f32" || dtype === "f64") {
    const bad = data.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) {
      const perSample = count / dims[0]!;
      const where = dims.length === 1 ? `value ${bad}` : `sample ${Math.floor(bad / perSample)}, value ${bad % perSample}`;
      fail(`${where} is ${data[bad]}; data must be finite numbers`);
    }
  }
  return { file, dtype, dims, data };
}

function hex(b: number): string {
  return b.toString(16).padStart(2, "0").toUpperCase();
}

/**
 * An images file (and its labels) as a dataset: each image [d1, d2, …] is reshaped to the
 * input's shape (same number of values: 28x28 → 28x28x1 or 784), unsigned-byte pixels are
 * scaled to [0, 1] (÷255, in place: the dataset takes over `images.data`), other types are
 * taken as they are.
 */
export function idxDataset(images: IdxArray, labels: IdxArray | undefined, spec: DataSpec): Dataset {
  if (spec.inputs.length !== 1) {
    throw new DataError(`${images.file}: IDX images fill one input, but the network has ${spec.inputs.length} (${spec.inputs.map((i) => i.name).join(", ")}); use a JSON data file`, { file: images.file });
  }
  const input = spec.inputs[0]!;
  if (images.dims.length < 2) {
    throw new DataError(`${images.file} is a 1-D IDX file ${formatShape(images.dims)}, a labels file; pass the images file (its labels are found beside it) or name both: --data IMAGES,LABELS`, { file: images.file });
  }
  const size = images.dims[0]!;
  const sampleShape = images.dims.slice(1);
  const width = input.shape.reduce((a, b) => a * b, 1);
  const perImage = sampleShape.reduce((a, b) => a * b, 1);
  if (perImage !== width) {
    throw new DataError(`${images.file}: its samples are ${formatShape(sampleShape)} (${perImage} values each); the network's input ${formatShape(input.shape)} takes ${width}`, { file: images.file });
  }
  if (size === 0) throw new DataError(`${images.file} has no samples`, { file: images.file });
  const x = images.data;
  if (images.dtype === "u8") for (let i = 0; i < x.length; i++) x[i] = x[i]! / 255;
  if (input.vocabulary !== undefined) checkTokenIds(x, input, "x", images.file, (j) => `sample ${Math.floor(j / width)} value ${j % width}`);
  let targets: Dataset["targets"];
  if (labels) {
    if (labels.dims.length !== 1) {
      throw new DataError(`${labels.file}: a labels file is 1-D [N], but this one is ${formatShape(labels.dims)}`, { file: labels.file });
    }
    if (labels.dims[0] !== size) {
      throw new DataError(`${images.file} has ${size} samples but ${labels.file} has ${labels.dims[0]} labels`, { file: labels.file });
    }
    const builder = new TargetBuilder(spec, size, labels.file);
    for (let i = 0; i < size; i++) builder.label(i, labels.data[i]!, { what: `label ${i}`, at: labels.file, file: labels.file });
    targets = builder.result();
  } else if (spec.needTargets) {
    throw new DataError(`${images.file}: training needs labels; put the labels file beside it (train-images-idx3-ubyte → train-labels-idx1-ubyte) or name both: --data IMAGES,LABELS`, { file: images.file });
  }
  return { size, inputs: [{ name: input.name, shape: [...input.shape], data: x }], targets, source: labels ? `${images.file},${labels.file}` : images.file };
}
