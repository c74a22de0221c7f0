import { closest, DataError, excerpt, formatShape, sameShape, sizeOfShape } from "./errors.js";
import type { InputInfo } from "./internal-types.js";
import { csvColumnOf, csvNumber, isNumberLike, splitCsvLine } from "./csv-fields.js";
import { utf8Decode, utf8Encode } from "./host.js";
import { isJsonObject, jsonKind, Packed, parseJsonBytes } from "./json.js";
import { claimedShape, fillFromNested, NestedError } from "./nested.js";
import type { DataFormat, Dataset } from "./public-types.js";
import { checkTokenIds, TargetBuilder, type DataSpec } from "./targets.js";

/**
 * Data files, for dlc (src/io adapts them for the interpreter) and every generated module: JSON `{x, y}` (several inputs: `x` keyed by input name), CSV (one
 * sample per row, the label last, an optional header) and IDX (MNIST; images + labels).
 * Reading files and gunzipping are the command line's job; these take bytes or text.
 */

/** The format a file's name names (`.json`, `.csv`, `idx` in it), or else its first bytes. */
export function dataFormatOf(name: string, bytes: Uint8Array): DataFormat {
  const base = name.slice(Math.max(name.lastIndexOf("/"), name.lastIndexOf("\\")) + 1);
  const dot = base.lastIndexOf(".");
  const ext = dot > 0 ? base.slice(dot).toLowerCase() : "";
  if (ext === ".json") return "json";
  if (ext === ".csv") return "csv";
  if (/idx\d/i.test(base) || ext === ".idx") return "idx";
  if (looksLikeIdx(bytes)) return "idx";
  let i = 0;
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) i = 3;
  while (i < bytes.length && (bytes[i] === 32 || bytes[i] === 9 || bytes[i] === 10 || bytes[i] === 13)) i++;
  return bytes[i] === 0x7b ? "json" : "csv";
}

/**
 * The most UTF-8 bytes read as one string: V8's longest string is 2²⁹ − 24 characters, and a
 * file that fails to decode past this size is called too large rather than not UTF-8.
 */
const MAX_TEXT_BYTES = 2 ** 29 - 24;

/** Text of a CSV file; DataError for bytes that are not UTF-8, or too many for one string. */
export function dataText(bytes: Uint8Array, file: string): string {
  const text = utf8Decode(bytes, true);
  if (text !== undefined) return text;
  if (bytes.length > MAX_TEXT_BYTES) throw new DataError(`${file}: too large to read as text (${bytes.length} bytes); use IDX files for data this large`, file);
  throw new DataError(`${file}: not a text file (invalid UTF-8); data files are JSON, CSV or IDX`, file);
}

// ---- JSON ----------------------------------------------------------------------------------

/** A JSON data file's document (already parsed): `{"x": [sample, …], "y": [target, …]}`. */
export function jsonDataset(doc: unknown, file: string, spec: DataSpec): Dataset {
  const fail = (message: string): never => {
    throw new DataError(`${file}: ${message}`, file);
  };
  const failHas = (message: string): never => {
    throw new DataError(`${file} ${message}`, file);
  };
  if (!isJsonObject(doc)) return fail(`a JSON data file is one object {"x": [sample, …], "y": [target, …]}; found ${jsonKind(doc)}`);
  if (!("x" in doc)) {
    const guess = closest("x", Object.keys(doc).filter((k) => k !== "y"));
    return failHas(`has no "x" (the samples)${guess ? `; is "${guess}" meant to be "x"?` : Object.keys(doc).length ? ` (it has ${excerpt(Object.keys(doc).map((k) => `"${k}"`).join(", "))})` : ""}`);
  }
  const columns = inputColumns(doc.x, spec, fail);
  const size = columns[0]!.samples.length;
  for (const c of columns.slice(1)) {
    if (c.samples.length !== size) fail(`${c.path} has ${c.samples.length} samples but ${columns[0]!.path} has ${size}`);
  }
  if (size === 0) failHas("has no samples: x is empty");
  const inputs = columns.map((c) => readInput(c.samples, c.input, c.path, file, columns.length > 1));
  const y = doc.y;
  if (y === undefined) {
    if (spec.needTargets) {
      const guess = closest("y", Object.keys(doc).filter((k) => k !== "x"));
      failHas(`has no "y" (the targets), which training needs${guess ? `; is "${guess}" meant to be "y"?` : ""}`);
    }
    return { size, inputs, source: file };
  }
  const targets = samplesOf(y);
  if (!targets) return fail(`"y" must be an array with one target per sample, found ${jsonKind(y)}`);
  if (targets.length !== size) failHas(`has ${size} samples in x but ${targets.length} in y`);
  const builder = new TargetBuilder(spec, size);
  for (let i = 0; i < size; i++) builder.nested(i, targets.get(i), { what: `y[${i}]`, at: file, file });
  return { size, inputs, targets: builder.result(), source: file };
}

/** An array of samples (or targets), packed (regular numbers, from a file) or plain. */
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
  readonly input: InputInfo;
  readonly samples: Samples;
  /** `x` or `x.src`. */
  readonly path: string;
}

function inputColumns(x: unknown, spec: DataSpec, fail: (m: string) => never): Column[] {
  const names = spec.inputs.map((i) => i.name);
  const direct = samplesOf(x);
  if (direct) {
    if (spec.inputs.length === 1) return [{ input: spec.inputs[0]!, samples: direct, path: "x" }];
    return fail(`the network has ${spec.inputs.length} inputs (${names.join(", ")}), so "x" must be an object keyed by input name: {"x": {${names.map((n) => `"${n}": […]`).join(", ")}}, …}`);
  }
  if (!isJsonObject(x)) return fail(`"x" must be an array of samples${spec.inputs.length > 1 ? " per input" : ""}, found ${jsonKind(x)}`);
  const columns: Column[] = [];
  for (const input of spec.inputs) {
    const path = `x.${input.name}`;
    const value = Object.prototype.hasOwnProperty.call(x, input.name) ? x[input.name] : undefined;
    if (value === undefined) {
      const guess = closest(input.name, Object.keys(x).filter((k) => !names.includes(k)));
      fail(`"x" has no "${input.name}"${guess ? `; did you mean "${guess}"?` : ""} (the network's inputs: ${names.join(", ")})`);
    }
    const samples = samplesOf(value);
    if (!samples) return fail(`${path} must be an array of samples, found ${jsonKind(value)}`);
    columns.push({ input, samples, path });
  }
  for (const key of Object.keys(x)) {
    if (!names.includes(key)) fail(`"x" has "${excerpt(key)}", which is not an input of the network (its inputs: ${names.join(", ")})`);
  }
  return columns;
}

function readInput(samples: Samples, input: InputInfo, path: string, file: string, named: boolean): Float64Array {
  const width = sizeOfShape(input.shape);
  const packed = samples.packed;
  if (packed && sameShape(packed.shape.slice(1), input.shape)) {
    // Every sample regular and of the input's shape: one copy.
    const data = packed.values().slice();
    if (input.vocabulary !== undefined) checkTokenIds(data, input, path, file);
    return data;
  }
  const data = new Float64Array(samples.length * width);
  for (let i = 0; i < samples.length; i++) {
    const at = `${path}[${i}]`;
    const sample = samples.get(i);
    const claimed = claimedShape(sample);
    if (!sameShape(claimed, input.shape)) {
      const got = typeof sample === "number" ? `is the number ${sample}, not an array` : claimed.length === 0 ? `is ${jsonKind(sample)}, not an array of numbers` : `has shape ${formatShape(claimed)}`;
      throw new DataError(`sample ${i} of ${file} (${at}) ${got}; the network's input${named ? ` '${input.name}'` : ""} is ${formatShape(input.shape)}`, file);
    }
    try {
      fillFromNested(sample, input.shape, data, i * width, at);
    } catch (e) {
      if (e instanceof NestedError) throw new DataError(`sample ${i} of ${file}: ${e.message}`, file);
      throw e;
    }
  }
  if (input.vocabulary !== undefined) checkTokenIds(data, input, path, file);
  return data;
}

// ---- CSV -----------------------------------------------------------------------------------

/** A CSV data file: one sample per row flattened row-major, then (optional for run) the label. */
export function csvDataset(text: string, file: string, spec: DataSpec): Dataset {
  if (spec.inputs.length !== 1) {
    throw new DataError(`${file}: a CSV file fills one input, but the network has ${spec.inputs.length} (${spec.inputs.map((i) => i.name).join(", ")}); use a JSON data file with "x": {${spec.inputs.map((i) => `"${i.name}": […]`).join(", ")}}`, file);
  }
  const input = spec.inputs[0]!;
  const width = sizeOfShape(input.shape);
  const lines = (text.charCodeAt(0) === 0xfeff ? text.slice(1) : text).split("\n").map((l) => (l.endsWith("\r") ? l.slice(0, -1) : l));
  const fail = (message: string, line?: number, column?: number): never => {
    const at = line === undefined ? file : column === undefined ? `${file}:${line}` : `${file}:${line}:${column}`;
    throw new DataError(`${at}: ${message}`, file);
  };
  let first = 0;
  while (first < lines.length && lines[first]!.trim() === "") first++;
  if (first === lines.length) return fail("has no samples: the file is empty");
  const firstFields = splitCsvLine(lines[first]!);
  const hasHeader = firstFields.some((f) => !isNumberLike(f.text));
  const columns = firstFields.length;
  const describeWidth = `the network's input ${formatShape(input.shape)} takes ${width} value${width === 1 ? "" : "s"} per row`;
  let hasLabel: boolean;
  if (columns === width + 1) hasLabel = true;
  else if (columns === width) {
    hasLabel = false;
    if (spec.needTargets) fail(`${hasHeader ? "the header has" : "rows have"} ${columns} columns: ${describeWidth} but there is no label column; training needs the label in the last column`, first + 1);
  } else {
    return fail(`${hasHeader ? "the header has" : "the first row has"} ${columns} column${columns === 1 ? "" : "s"}; ${describeWidth}, plus the label in the last column (${width + 1} in all)`, first + 1);
  }
  const rowLines: number[] = [];
  for (let l = hasHeader ? first + 1 : first; l < lines.length; l++) if (lines[l]!.trim() !== "") rowLines.push(l);
  const size = rowLines.length;
  if (size === 0) return fail("has no samples, only a header", first + 1);
  const x = new Float64Array(size * width);
  const builder = hasLabel ? new TargetBuilder(spec, size) : undefined;
  for (let i = 0; i < size; i++) {
    const lineNo = rowLines[i]! + 1;
    const raw = lines[rowLines[i]!]!;
    const fields = raw.includes('"') ? splitCsvLine(raw).map((f) => f.text) : raw.split(",");
    if (fields.length !== columns) fail(`has ${fields.length} field${fields.length === 1 ? "" : "s"}, but ${hasHeader ? "the header has" : "the first row has"} ${columns}`, lineNo);
    for (let c = 0; c < width; c++) {
      const v = csvNumber(fields[c]!);
      if (typeof v === "string") return fail(`field ${c + 1} is ${v}`, lineNo, csvColumnOf(raw, c));
      x[i * width + c] = v;
    }
    if (builder) {
      const v = csvNumber(fields[width]!);
      const column = raw.includes('"') ? csvColumnOf(raw, width) : raw.lastIndexOf(",") + 2;
      if (typeof v === "string") return fail(`the label (field ${width + 1}) is ${v}`, lineNo, column);
      builder.label(i, v, { what: "the label", at: `${file}:${lineNo}:${column}`, file });
    }
  }
  if (input.vocabulary !== undefined) checkTokenIds(x, input, "x", file, (j) => `line ${rowLines[Math.floor(j / width)]! + 1}, field ${(j % width) + 1}`);
  return { size, inputs: [x], targets: builder?.result(), source: file };
}

// ---- IDX -----------------------------------------------------------------------------------

/** One IDX array: its dimensions and values (unsigned bytes not yet scaled). */
export interface IdxArray {
  readonly file: string;
  readonly unsignedBytes: boolean;
  readonly dims: readonly number[];
  readonly data: Float64Array;
}

const IDX_TYPES: Readonly<Record<number, { type: string; size: number }>> = {
  0x08: { type: "u8", size: 1 },
  0x09: { type: "i8", size: 1 },
  0x0b: { type: "i16", size: 2 },
  0x0c: { type: "i32", size: 4 },
  0x0d: { type: "f32", size: 4 },
  0x0e: { type: "f64", size: 8 },
};

export function looksLikeIdx(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0 && bytes[1] === 0 && IDX_TYPES[bytes[2]!] !== undefined && bytes[3]! >= 1;
}

/** The longest IDX header: the magic number and 255 dimensions. */
export const MAX_IDX_HEADER = 4 + 4 * 255;

/** The most values an IDX file may hold: 2²⁸, 2 GiB once read as float64 (all of MNIST is 47M). */
export const MAX_IDX_VALUES = 2 ** 28;

export interface IdxHeader {
  readonly type: string;
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
    throw new DataError(`${file}: ${message}`, file);
  };
  const hex = (b: number): string => b.toString(16).padStart(2, "0").toUpperCase();
  if (bytes.length < 4) fail(`truncated IDX file: ${bytes.length} bytes, fewer than the 4 of the magic number`);
  if (bytes[0] !== 0 || bytes[1] !== 0) fail(`not an IDX file: it must start with two zero bytes, found 0x${hex(bytes[0]!)} 0x${hex(bytes[1]!)}`);
  const t = IDX_TYPES[bytes[2]!] ?? fail(`unknown IDX data type 0x${hex(bytes[2]!)} (known: 0x08 unsigned byte, 0x09 signed byte, 0x0B short, 0x0C int, 0x0D float, 0x0E double)`);
  const rank = bytes[3]!;
  if (rank === 0) fail("the IDX header declares 0 dimensions");
  const headerLength = 4 + 4 * rank;
  if (bytes.length < headerLength) fail(`truncated IDX file: the header declares ${rank} dimensions (${headerLength} bytes) but the file has ${bytes.length} bytes`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  for (let d = 0; d < rank; d++) dims.push(view.getUint32(4 + 4 * d, false));
  const count = sizeOfShape(dims);
  if (count > MAX_IDX_VALUES) fail(`the IDX header declares dimensions ${formatShape(dims)}, ${count} values; dlc reads IDX files of up to ${MAX_IDX_VALUES} values`);
  return { type: t.type, size: t.size, dims, headerLength, fileLength: headerLength + count * t.size };
}

export function decodeIdx(bytes: Uint8Array, file: string): IdxArray {
  const fail = (message: string): never => {
    throw new DataError(`${file}: ${message}`, file);
  };
  const { type, size, dims, headerLength, fileLength } = readIdxHeader(bytes, file);
  const need = fileLength - headerLength;
  const count = need / size;
  const have = bytes.length - headerLength;
  if (have < need) fail(`truncated IDX file: dimensions ${formatShape(dims)} of ${type} need ${need} bytes of data but the file has ${have}`);
  if (have > need) fail(`the IDX file has ${have - need} bytes after the data its dimensions ${formatShape(dims)} describe`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const data = new Float64Array(count);
  const at = headerLength;
  for (let i = 0; i < count; i++) {
    switch (type) {
      case "u8":
        data[i] = bytes[at + i]!;
        break;
      case "i8":
        data[i] = view.getInt8(at + i);
        break;
      case "i16":
        data[i] = view.getInt16(at + 2 * i, false);
        break;
      case "i32":
        data[i] = view.getInt32(at + 4 * i, false);
        break;
      case "f32":
        data[i] = view.getFloat32(at + 4 * i, false);
        break;
      default:
        data[i] = view.getFloat64(at + 8 * i, false);
    }
  }
  if (type === "f32" || type === "f64") {
    const bad = data.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) {
      const perSample = count / dims[0]!;
      const where = dims.length === 1 ? `value ${bad}` : `sample ${Math.floor(bad / perSample)}, value ${bad % perSample}`;
      fail(`${where} is ${data[bad]}; data must be finite numbers`);
    }
  }
  return { file, unsignedBytes: type === "u8", dims, data };
}

/** An images file (and its labels) as a dataset: images reshaped to the input, bytes scaled to [0, 1]. */
export function idxDataset(images: IdxArray, labels: IdxArray | undefined, spec: DataSpec): Dataset {
  if (spec.inputs.length !== 1) {
    throw new DataError(`${images.file}: IDX images fill one input, but the network has ${spec.inputs.length} (${spec.inputs.map((i) => i.name).join(", ")}); use a JSON data file`, images.file);
  }
  const input = spec.inputs[0]!;
  if (images.dims.length < 2) {
    throw new DataError(`${images.file} is a 1-D IDX file ${formatShape(images.dims)}, a labels file; pass the images file (its labels are found beside it) or name both: --data IMAGES,LABELS`, images.file);
  }
  const size = images.dims[0]!;
  const sampleShape = images.dims.slice(1);
  const width = sizeOfShape(input.shape);
  const perImage = sizeOfShape(sampleShape);
  if (perImage !== width) throw new DataError(`${images.file}: its samples are ${formatShape(sampleShape)} (${perImage} values each); the network's input ${formatShape(input.shape)} takes ${width}`, images.file);
  if (size === 0) throw new DataError(`${images.file} has no samples`, images.file);
  const x = images.data;
  if (images.unsignedBytes) for (let i = 0; i < x.length; i++) x[i] = x[i]! / 255;
  if (input.vocabulary !== undefined) checkTokenIds(x, input, "x", images.file, (j) => `sample ${Math.floor(j / width)} value ${j % width}`);
  if (!labels) {
    if (spec.needTargets) throw new DataError(`${images.file}: training needs labels; put the labels file beside it (train-images-idx3-ubyte → train-labels-idx1-ubyte) or name both: --data IMAGES,LABELS`, images.file);
    return { size, inputs: [x], source: images.file };
  }
  if (labels.dims.length !== 1) throw new DataError(`${labels.file}: a labels file is 1-D [N], but this one is ${formatShape(labels.dims)}`, labels.file);
  if (labels.dims[0] !== size) throw new DataError(`${images.file} has ${size} samples but ${labels.file} has ${labels.dims[0]} labels`, labels.file);
  const builder = new TargetBuilder(spec, size);
  for (let i = 0; i < size; i++) builder.label(i, labels.data[i]!, { what: `label ${i}`, at: labels.file, file: labels.file });
  return { size, inputs: [x], targets: builder.result(), source: `${images.file},${labels.file}` };
}

// ---- any format ----------------------------------------------------------------------------

/** Data from bytes (or text, or a parsed `{x, y}` object) in any of the three formats. */
export function parseDataset(source: string | Uint8Array | object, spec: DataSpec, file: string, format?: DataFormat, labels?: { bytes: Uint8Array; file: string }): Dataset {
  if (typeof source === "object" && !(source instanceof Uint8Array)) return jsonDataset(source, file, spec);
  const bytes = typeof source === "string" ? undefined : source;
  const kind = format ?? (typeof source === "string" ? (source.trimStart().startsWith("{") ? "json" : "csv") : dataFormatOf(file, source));
  if (kind === "idx") {
    if (!bytes) throw new DataError(`${file}: an IDX file is bytes, not text`, file);
    const images = decodeIdx(bytes, file);
    if (images.dims.length === 1 && !labels) return idxDataset(images, undefined, spec);
    return idxDataset(images, labels ? decodeIdx(labels.bytes, labels.file) : undefined, spec);
  }
  if (kind === "json") return jsonDataset(parseJsonBytes(typeof source === "string" ? utf8Encode(source) : source, file), file, spec);
  return csvDataset(typeof source === "string" ? source : dataText(source, file), file, spec);
}
