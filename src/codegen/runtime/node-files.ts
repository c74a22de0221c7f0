import { dataFormatOf, decodeIdx, idxDataset, parseDataset } from "./data.js";
import { DataError } from "./errors.js";
import { nodeBuiltin, utf8Encode, type NodeProcessLike } from "./host.js";
import type { ModuleInfo } from "./internal-types.js";
import type { Dataset } from "./public-types.js";
import type { DataSpec } from "./targets.js";
import { checkWeights, parseWeights, weightsFormatOf } from "./weights.js";

/**
 * The command line's files, through Node's fs, path and zlib (loaded when a command runs): weights
 * and data files read with src/io's messages (weights.ts, data.ts), and atomic saves (as
 * src/io/atomic-write.ts: a temporary file in the same folder, fsync, rename).
 */

interface StatsLike {
  isDirectory(): boolean;
  readonly mode: number;
}
export interface FsLike {
  readFileSync(path: string): Uint8Array;
  existsSync(path: string): boolean;
  statSync(path: string): StatsLike;
  realpathSync(path: string): string;
  openSync(path: string, flags: string, mode?: number): number;
  writeSync(fd: number, data: Uint8Array, offset: number, length: number): number;
  fsyncSync(fd: number): void;
  closeSync(fd: number): void;
  renameSync(from: string, to: string): void;
  unlinkSync(path: string): void;
}
export interface PathLike {
  dirname(path: string): string;
  basename(path: string): string;
  join(...parts: string[]): string;
}
export interface NodeHost {
  readonly fs: FsLike;
  readonly path: PathLike;
  readonly zlib: { gunzipSync(bytes: Uint8Array): Uint8Array };
  readonly process: NodeProcessLike;
}

/** Node's built-ins, loaded now (only the command line calls this). */
export async function loadNodeHost(proc: NodeProcessLike): Promise<NodeHost> {
  return { fs: await nodeBuiltin<FsLike>("fs"), path: await nodeBuiltin<PathLike>("path"), zlib: await nodeBuiltin<NodeHost["zlib"]>("zlib"), process: proc };
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

/** A weights file's values by name, checked against the network (as src/io's readWeights). */
export function readWeightsFile(info: ModuleInfo, path: string, node: NodeHost, warn: (message: string) => void): Map<string, Float64Array> {
  const format = weightsFormatOf(path);
  let bytes: Uint8Array;
  try {
    bytes = node.fs.readFileSync(path);
  } catch (e) {
    throw new DataError(`cannot read the weights file ${path}: ${reasonOf(e)}`, path);
  }
  const { values, warnings } = checkWeights(parseWeights(bytes, format, path), info.weights, path);
  for (const w of warnings) warn(w);
  return values;
}

/** A data file (or `IMAGES,LABELS`), as src/io's loadData reads it: gunzipped, format by name or bytes. */
export function readDataFile(path: string, spec: DataSpec, node: NodeHost): Dataset {
  const { fs, path: paths } = node;
  if (path.includes(",") && !fs.existsSync(path)) {
    const parts = path.split(",").map((p) => p.trim()).filter((p) => p !== "");
    if (parts.length !== 2) throw new DataError(`--data ${path}: name one file, or an IDX images file and its labels file separated by one comma`);
    const [a, b] = parts.map((p) => decodeIdx(readDataBytes(p, node).bytes, p));
    const [images, labels] = a!.dims.length === 1 && b!.dims.length > 1 ? [b!, a!] : [a!, b!];
    return idxDataset(images, labels, spec);
  }
  const { bytes, name } = readDataBytes(path, node);
  const format = dataFormatOf(name, bytes);
  if (format !== "idx") return parseDataset(bytes, spec, path, format);
  const images = decodeIdx(bytes, path);
  if (images.dims.length === 1) return idxDataset(images, undefined, spec);
  const labelsPath = labelsBeside(path, fs, paths);
  return idxDataset(images, labelsPath ? decodeIdx(readDataBytes(labelsPath, node).bytes, labelsPath) : undefined, spec);
}

function readDataBytes(path: string, node: NodeHost): { bytes: Uint8Array; name: string } {
  let bytes: Uint8Array;
  try {
    if (node.fs.statSync(path).isDirectory()) throw new DataError(`cannot read the data file ${path}: it is a directory`, path);
    bytes = node.fs.readFileSync(path);
  } catch (e) {
    if (e instanceof DataError) throw e;
    throw new DataError(`cannot read the data file ${path}: ${reasonOf(e)}`, path);
  }
  if (!path.toLowerCase().endsWith(".gz")) return { bytes, name: path };
  try {
    return { bytes: node.zlib.gunzipSync(bytes), name: path.slice(0, -3) };
  } catch (e) {
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

/** Refuses a `--save` path that can never be written, before training rather than after. */
export function checkSaveTarget(path: string, node: NodeHost): void {
  weightsFormatOf(path);
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

/** Temporary file in the same folder, fsync, rename: a crash never leaves a half-written file. */
export function writeFileAtomic(path: string, contents: string | Uint8Array, node: NodeHost): void {
  const { fs } = node;
  const dir = node.path.dirname(path);
  const temp = node.path.join(dir, `.${node.path.basename(path)}.${node.process.pid}.${Math.random().toString(36).slice(2, 10)}.tmp`);
  const data = typeof contents === "string" ? utf8Encode(contents) : contents;
  let mode = 0o666;
  try {
    const old = fs.statSync(path);
    if (old.isDirectory()) throw new DataError(`cannot write ${path}: it is a directory`, path);
    mode = old.mode & 0o777;
  } catch (e) {
    if (e instanceof DataError) throw e;
  }
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
