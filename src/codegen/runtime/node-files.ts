import { dataFormatOf, decodeIdx, idxDataset, MAX_IDX_HEADER, parseDataset, readIdxHeader } from "./data.js";
import { DataError } from "./errors.js";
import { nodeBuiltin, utf8Encode, type NodeProcessLike } from "./host.js";
import type { ModuleInfo } from "./internal-types.js";
import type { Dataset } from "./public-types.js";
import type { DataSpec } from "./targets.js";
import { isStaleTemp, tempNameFor } from "./temp-files.js";
import { checkWeights, parseWeights, weightsFormatOf } from "./weights.js";

/**
 * Files through Node's fs, path and zlib, passed in as a NodeHost (the generated module's command
 * line loads them when a command runs; dlc passes its own, src/io/node-host.ts): weights and data
 * files, and atomic saves (a temporary file in the same folder, fsync, rename).
 */

export interface StatsLike {
  isDirectory(): boolean;
  isFile(): boolean;
  isCharacterDevice(): boolean;
  isBlockDevice(): boolean;
  isFIFO(): boolean;
  isSocket(): boolean;
  readonly mode: number;
}
export interface FsLike {
  readFileSync(path: string): Uint8Array;
  existsSync(path: string): boolean;
  statSync(path: string): StatsLike;
  realpathSync(path: string): string;
  openSync(path: string, flags: string, mode?: number): number;
  readSync(fd: number, buffer: Uint8Array, offset: number, length: number, position: number | null): number;
  writeSync(fd: number, data: Uint8Array, offset: number, length: number): number;
  fsyncSync(fd: number): void;
  closeSync(fd: number): void;
  renameSync(from: string, to: string): void;
  unlinkSync(path: string): void;
  readdirSync(path: string): string[];
}
export interface PathLike {
  dirname(path: string): string;
  basename(path: string): string;
  join(...parts: string[]): string;
}
interface GunzipOptions {
  readonly finishFlush?: number;
  readonly maxOutputLength?: number;
}
export interface ZlibLike {
  gunzipSync(bytes: Uint8Array, options?: GunzipOptions): Uint8Array;
  readonly constants: { readonly Z_SYNC_FLUSH: number };
}
export interface NodeHost {
  readonly fs: FsLike;
  readonly path: PathLike;
  readonly zlib: ZlibLike;
  readonly process: NodeProcessLike;
}

/** Node's built-ins, loaded now (only the command line calls this). */
export async function loadNodeHost(proc: NodeProcessLike): Promise<NodeHost> {
  return { fs: await nodeBuiltin<FsLike>("fs"), path: await nodeBuiltin<PathLike>("path"), zlib: await nodeBuiltin<ZlibLike>("zlib"), process: proc };
}

/** An OS error's short reason: `no such file or directory`, `permission denied`, … */
export function reasonOf(e: unknown): string {
  switch ((e as { code?: string } | undefined)?.code) {
    case "ENOENT":
      return "no such file or directory";
    case "EACCES":
    case "EPERM":
      return "permission denied";
    case "EISDIR":
      return "it is a directory";
    case "ENOTDIR":
      return "a part of the path is not a directory";
    case "ENOSPC":
      return "no space left on the device";
    case "EROFS":
      return "read-only file system";
    default:
      return e instanceof Error ? e.message : String(e);
  }
}

/** A weights file's values by name, checked against the network. */
export function readWeightsFile(info: ModuleInfo, path: string, node: NodeHost, warn: (message: string) => void): Map<string, Float64Array> {
  const format = weightsFormatOf(path);
  const bytes = readRegularFile(path, "weights file", node);
  const { values, warnings } = checkWeights(parseWeights(bytes, format, path), info.weights, path);
  for (const w of warnings) warn(w);
  return values;
}

/**
 * A data file (`--data`), or an IDX images file and its labels named together (`IMAGES,LABELS`);
 * gunzipped when the name ends in .gz; the format by the name (`.json`, `.csv`, `idx` in it) or
 * else the first bytes. An IDX images file finds its labels beside it by MNIST's naming.
 */
export function readDataFile(path: string, spec: DataSpec, node: NodeHost): Dataset {
  const { fs, path: paths } = node;
  if (path.includes(",") && !fs.existsSync(path)) {
    const parts = path.split(",").map((p) => p.trim()).filter((p) => p !== "");
    if (parts.length !== 2) throw new DataError(`--data ${path}: name one file, or an IDX images file and its labels file separated by one comma`);
    const [a, b] = parts.map((p) => decodeIdx(readDataBytes(p, node, "idx").bytes, p));
    const [images, labels] = a!.dims.length === 1 && b!.dims.length > 1 ? [b!, a!] : [a!, b!];
    return idxDataset(images, labels, spec);
  }
  const { bytes, name } = readDataBytes(path, node);
  const format = dataFormatOf(name, bytes);
  if (format !== "idx") return parseDataset(bytes, spec, path, format);
  const images = decodeIdx(bytes, path);
  if (images.dims.length === 1) return idxDataset(images, undefined, spec);
  const labelsPath = labelsBeside(path, fs, paths);
  return idxDataset(images, labelsPath ? decodeIdx(readDataBytes(labelsPath, node, "idx").bytes, labelsPath) : undefined, spec);
}

/**
 * A file's bytes, for `--data` and `--weights`. Only regular files are read: a device such as
 * /dev/zero never ends, a FIFO may never be written to, and neither tells its size beforehand,
 * so reading one could fill the memory or wait forever. `what` names the file in messages.
 */
export function readRegularFile(path: string, what: "data file" | "weights file" | "checkpoint", node: NodeHost): Uint8Array {
  let st: StatsLike;
  try {
    st = node.fs.statSync(path);
  } catch (e) {
    throw new DataError(`cannot read the ${what} ${path}: ${reasonOf(e)}`, path);
  }
  if (st.isDirectory()) throw new DataError(`cannot read the ${what} ${path}: it is a directory`, path);
  if (!st.isFile()) throw new DataError(`cannot read the ${what} ${path}: it is ${specialKind(st)}, not a regular file; dlc reads only regular files`, path);
  try {
    return node.fs.readFileSync(path);
  } catch (e) {
    throw new DataError(`cannot read the ${what} ${path}: ${reasonOf(e)}`, path);
  }
}

export function specialKind(st: StatsLike): string {
  if (st.isCharacterDevice()) return "a character device";
  if (st.isBlockDevice()) return "a block device";
  if (st.isFIFO()) return "a FIFO (named pipe)";
  if (st.isSocket()) return "a socket";
  return "a special file";
}

/** The most a gzip'd JSON or CSV data file may inflate to (IDX files: what their header declares). */
const MAX_INFLATED_TEXT = 2 ** 30;

/**
 * A data file's bytes, gunzipped when the name ends in `.gz`; `name` is the name without `.gz`.
 * `format` is what the caller knows the file to be, if anything.
 */
function readDataBytes(path: string, node: NodeHost, format?: "idx"): { bytes: Uint8Array; name: string } {
  const raw = readRegularFile(path, "data file", node);
  if (!path.toLowerCase().endsWith(".gz")) return { bytes: raw, name: path };
  const name = path.slice(0, -3);
  // Inflate the start first: an IDX header declares the file's size, and nothing past that
  // size is inflated (a gzip bomb is refused after a few megabytes, not gigabytes).
  const head = gunzipHead(raw, path, node);
  const idx = (format ?? dataFormatOf(name, head)) === "idx";
  const limit = idx ? readIdxHeader(head, path).fileLength : MAX_INFLATED_TEXT;
  const why = idx ? "the size its IDX header declares" : "the most dlc inflates of gzip'd JSON or CSV data";
  const bytes = gunzip(raw, path, node, { maxOutputLength: limit }, raw.length, () => `refused: it inflates to more than ${limit} bytes, ${why}`);
  return { bytes, name };
}

/**
 * The first inflated bytes of a gzip file: at least an IDX header's worth (up to
 * MAX_IDX_HEADER bytes), or all of them. The compressed prefix grows from 4 KiB until its
 * output is long enough, and each try inflates at most 64 MiB (deflate expands a byte at most
 * ~1,032-fold).
 */
function gunzipHead(raw: Uint8Array, path: string, node: NodeHost): Uint8Array {
  const cap = 64 * 2 ** 20;
  for (let n = 4096; ; n *= 4) {
    const prefix = Math.min(n, raw.length);
    const out = gunzip(raw, path, node, { finishFlush: node.zlib.constants.Z_SYNC_FLUSH, maxOutputLength: cap }, prefix, () => `cannot find where its contents start: ${prefix} bytes in, the gzip header has not ended`);
    if (out.length >= MAX_IDX_HEADER || prefix === raw.length) return out;
  }
}

/**
 * Inflates the first `prefix` bytes of `raw`; every failure is a DataError, `tooLarge()` the
 * message when the output would pass `options.maxOutputLength`.
 */
function gunzip(raw: Uint8Array, path: string, node: NodeHost, options: GunzipOptions, prefix = raw.length, tooLarge?: () => string): Uint8Array {
  try {
    return node.zlib.gunzipSync(raw.subarray(0, prefix), options);
  } catch (e) {
    if ((e as { code?: string }).code === "ERR_BUFFER_TOO_LARGE" && tooLarge) throw new DataError(`${path}: ${tooLarge()}`, path);
    throw new DataError(`${path}: not a valid gzip file (${e instanceof Error ? e.message : String(e)})`, path);
  }
}

/** The labels file beside an images file, by MNIST's naming (`t10k-images-idx3-ubyte` → `t10k-labels-idx1-ubyte`). */
function labelsBeside(imagesPath: string, fs: FsLike, paths: PathLike): string | undefined {
  const base = paths.basename(imagesPath);
  const renamed = base.replace(/images/g, "labels").replace(/Images/g, "Labels").replace(/IMAGES/g, "LABELS").replace(/idx[2-9]/gi, (m) => `${m.slice(0, 3)}1`);
  if (renamed === base) return undefined;
  const plain = renamed.replace(/\.gz$/i, "");
  for (const candidate of [renamed, plain, `${plain}.gz`]) {
    const p = paths.join(paths.dirname(imagesPath), candidate);
    if (fs.existsSync(p)) return p;
  }
  return undefined;
}

/** Refuses a `--save` path (a weights file; any name with `weights: false`) that can never be written, before training rather than after. */
export function checkSaveTarget(path: string, node: NodeHost, weights = true): void {
  if (weights) weightsFormatOf(path);
  const dir = node.path.dirname(path);
  let isDir = false;
  try {
    isDir = node.fs.statSync(dir).isDirectory();
  } catch {
    // Reported below.
  }
  if (!isDir) throw new DataError(`cannot save to ${path}: the folder ${dir} does not exist`, path);
  try {
    if (node.fs.statSync(path).isDirectory()) throw new DataError(`cannot save to ${path}: it is a directory`, path);
  } catch (e) {
    if (e instanceof DataError) throw e;
  }
}

/**
 * Temporary file in the same folder, fsync, rename: a crash never leaves a half-written file.
 * The temporary file is `.NAME.<pid>.<random>.tmp`; those that processes killed mid-write
 * (kill -9) left of the same target are removed first.
 */
export function writeFileAtomic(path: string, contents: string | Uint8Array, node: NodeHost): void {
  const { fs } = node;
  const dir = node.path.dirname(path);
  const temp = node.path.join(dir, tempNameFor(node.path.basename(path), node.process.pid));
  const data = typeof contents === "string" ? utf8Encode(contents) : contents;
  let mode = 0o666;
  try {
    const old = fs.statSync(path);
    if (old.isDirectory()) throw new DataError(`cannot write ${path}: it is a directory`, path);
    mode = old.mode & 0o777;
  } catch (e) {
    if (e instanceof DataError) throw e;
  }
  removeStaleTemps(path, node);
  let fd: number | undefined;
  try {
    fd = fs.openSync(temp, "wx", mode);
    let written = 0;
    while (written < data.length) written += fs.writeSync(fd, data, written, data.length - written);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(temp, path);
  } catch (e) {
    if (fd !== undefined) {
      try {
        fs.closeSync(fd);
      } catch {
        // Already failing; the first error is the one to report.
      }
    }
    try {
      fs.unlinkSync(temp);
    } catch {
      // The temporary file may never have been created.
    }
    if (e instanceof DataError) throw e;
    throw new DataError(`cannot write ${path}: ${reasonOf(e)}; the previous file, if any, is unchanged`, path);
  }
  try {
    const dirFd = fs.openSync(dir, "r");
    try {
      fs.fsyncSync(dirFd);
    } finally {
      fs.closeSync(dirFd);
    }
  } catch {
    // Best effort: makes the rename itself durable where the platform allows it.
  }
}

/**
 * Removes the temporary files of `path` left by processes that no longer run (killed during a
 * write); failures are ignored, this is tidying only.
 */
function removeStaleTemps(path: string, node: NodeHost): void {
  const dir = node.path.dirname(path);
  const baseName = node.path.basename(path);
  let names: string[];
  try {
    names = node.fs.readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (!isStaleTemp(name, baseName, node.process.pid, (pid, signal) => node.process.kill(pid, signal))) continue;
    try {
      node.fs.unlinkSync(node.path.join(dir, name));
    } catch {
      // Gone already, or not ours to remove.
    }
  }
}
