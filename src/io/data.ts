import { existsSync } from "node:fs";
import { basename, dirname, extname, join } from "node:path";
import { constants as zlibConstants, gunzipSync, type ZlibOptions } from "node:zlib";
import { looksLikeIdx, MAX_IDX_HEADER } from "../codegen/runtime/data.js";
import type { DataSpec } from "./data-spec.js";
import type { Dataset } from "./dataset.js";
import { DataError } from "./errors.js";
import { parseDataCsv } from "./data-csv.js";
import { decodeIdx, idxDataset, readIdxHeader } from "./data-idx.js";
import { parseDataJson } from "./data-json.js";
import { readRegularFile } from "./read-file.js";

export type DataFormat = "json" | "csv" | "idx";

/**
 * Loads a data file for a network (`--data`):
 * - `data.json` — §8's `{"x": […], "y": […]}` (several inputs: `"x": {"src": […], "tgt": […]}`);
 * - `data.csv` — one sample per row, the label last, an optional header;
 * - IDX (MNIST): `train-images-idx3-ubyte` finds `train-labels-idx1-ubyte` beside it, or both
 *   are named: `--data images.idx,labels.idx`.
 * Any of them may be gzip-compressed (`.gz`). The format follows the name (`.json`, `.csv`,
 * `idx` in it) or else the first bytes.
 */
export function loadData(path: string, spec: DataSpec): Dataset {
  if (path.includes(",") && !existsSync(path)) {
    const parts = path.split(",").map((p) => p.trim()).filter((p) => p !== "");
    if (parts.length !== 2) throw new DataError(`--data ${path}: name one file, or an IDX images file and its labels file separated by one comma`);
    const [a, b] = parts.map((p) => decodeIdx(readData(p, "idx").bytes, p));
    // Whichever is 1-D holds the labels.
    const [images, labels] = a!.dims.length === 1 && b!.dims.length > 1 ? [b!, a!] : [a!, b!];
    return idxDataset(images, labels, spec);
  }
  const { bytes, name } = readData(path);
  const format = formatOf(name, bytes);
  switch (format) {
    case "json":
      return parseDataJson(bytes, path, spec);
    case "csv":
      return parseDataCsv(decodeText(bytes, path), path, spec);
    case "idx": {
      const images = decodeIdx(bytes, path);
      if (images.dims.length === 1) return idxDataset(images, undefined, spec); // explains: a labels file
      const labelsPath = labelsBeside(path);
      const labels = labelsPath ? decodeIdx(readData(labelsPath, "idx").bytes, labelsPath) : undefined;
      return idxDataset(images, labels, spec);
    }
  }
}

/** The most a gzip'd JSON or CSV data file may inflate to (IDX files: what their header declares). */
export const MAX_INFLATED_TEXT = 2 ** 30;

/**
 * A file's bytes, gunzipped when the name ends in `.gz`; `name` is the name without `.gz`.
 * `format` is what the caller knows the file to be, if anything.
 */
function readData(path: string, format?: DataFormat): { bytes: Uint8Array; name: string } {
  const raw = readRegularFile(path, "data file");
  if (!path.toLowerCase().endsWith(".gz")) return { bytes: raw, name: path };
  const name = path.slice(0, -3);
  // Inflate the start first: an IDX header declares the file's size, and nothing past that
  // size is inflated (a gzip bomb is refused after a few megabytes, not gigabytes).
  const head = gunzipHead(raw, path);
  const idx = (format ?? formatOf(name, head)) === "idx";
  const limit = idx ? readIdxHeader(head, path).fileLength : MAX_INFLATED_TEXT;
  const why = idx ? "the size its IDX header declares" : "the most dlc inflates of gzip'd JSON or CSV data";
  const bytes = gunzip(raw, path, { maxOutputLength: limit }, raw.length, () => `refused: it inflates to more than ${limit} bytes, ${why}`);
  return { bytes, name };
}

/**
 * The first inflated bytes of a gzip file: at least an IDX header's worth (up to 1,024 bytes),
 * or all of them. The compressed prefix grows from 4 KiB until its output is long enough, and
 * each try inflates at most 64 MiB (deflate expands a byte at most ~1,032-fold).
 */
function gunzipHead(raw: Uint8Array, path: string): Uint8Array {
  const cap = 64 * 2 ** 20;
  for (let n = 4096; ; n *= 4) {
    const prefix = Math.min(n, raw.length);
    const out = gunzip(raw, path, { finishFlush: zlibConstants.Z_SYNC_FLUSH, maxOutputLength: cap }, prefix, () => `cannot find where its contents start: ${prefix} bytes in, the gzip header has not ended`);
    if (out.length >= MAX_IDX_HEADER || prefix === raw.length) return out;
  }
}

/**
 * Inflates the first `prefix` bytes of `raw`; every failure is a DataError, `tooLarge()` the
 * message when the output would pass `options.maxOutputLength`.
 */
function gunzip(raw: Uint8Array, path: string, options: ZlibOptions, prefix = raw.length, tooLarge?: () => string): Uint8Array {
  try {
    return gunzipSync(raw.subarray(0, prefix), options);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE" && tooLarge) throw new DataError(`${path}: ${tooLarge()}`, { file: path });
    throw new DataError(`${path}: not a valid gzip file (${e instanceof Error ? e.message : String(e)})`, { file: path });
  }
}

export function formatOf(name: string, bytes: Uint8Array): DataFormat {
  const ext = extname(name).toLowerCase();
  if (ext === ".json") return "json";
  if (ext === ".csv") return "csv";
  if (/idx\d/i.test(basename(name)) || ext === ".idx") return "idx";
  if (looksLikeIdx(bytes)) return "idx";
  let i = 0;
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) i = 3;
  while (i < bytes.length && (bytes[i] === 32 || bytes[i] === 9 || bytes[i] === 10 || bytes[i] === 13)) i++;
  return bytes[i] === 0x7b /* { */ ? "json" : "csv";
}

function decodeText(bytes: Uint8Array, path: string): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch (e) {
    if (e instanceof TypeError) throw new DataError(`${path}: not a text file (invalid UTF-8); data files are JSON, CSV or IDX`, { file: path });
    throw new DataError(`${path}: too large to read as text (${bytes.length} bytes); use IDX files for data this large`, { file: path });
  }
}

/**
 * The labels file beside an images file, by MNIST's naming: `images` → `labels`, `idx3` →
 * `idx1` (`t10k-images-idx3-ubyte.gz` → `t10k-labels-idx1-ubyte.gz`), gzipped or not.
 */
export function labelsBeside(imagesPath: string): string | undefined {
  const dir = dirname(imagesPath);
  const base = basename(imagesPath);
  const renamed = base.replace(/images/g, "labels").replace(/Images/g, "Labels").replace(/IMAGES/g, "LABELS").replace(/idx[2-9]/gi, (m) => `${m.slice(0, 3)}1`);
  if (renamed === base) return undefined;
  const plain = renamed.replace(/\.gz$/i, "");
  for (const candidate of [renamed, plain, `${plain}.gz`]) {
    const p = join(dir, candidate);
    if (existsSync(p)) return p;
  }
  return undefined;
}
