import { closeSync, fsyncSync, openSync, readdirSync, renameSync, statSync, unlinkSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { isStaleTemp, tempNameFor } from "../codegen/runtime/temp-files.js";
import { DataError, reasonOf } from "./errors.js";

export interface AtomicWriteHooks {
  /** Runs before the temporary file is created (tests inject an open failure here: a read-only folder, even for root). */
  readonly beforeOpen?: (tempPath: string) => void;
  /** Runs after the temporary file is written and synced, before the rename (tests inject failures here). */
  readonly beforeRename?: (tempPath: string) => void;
}

/**
 * Writes `bytes` to `path` so that a crash never leaves a half-written file: the data goes to
 * a temporary file in the same directory, is flushed to disk, and is renamed over `path` in one
 * step. On any failure the temporary file is removed and `path` keeps its old contents. The
 * temporary file is `.NAME.<pid>.<random>.tmp`; those that processes killed mid-write (kill -9)
 * left of the same target are removed first.
 */
export function writeFileAtomic(path: string, bytes: Uint8Array | string, hooks: AtomicWriteHooks = {}): void {
  const dir = dirname(path);
  const temp = join(dir, tempNameFor(basename(path), process.pid));
  const data = typeof bytes === "string" ? Buffer.from(bytes, "utf8") : bytes;
  let mode = 0o666;
  try {
    const old = statSync(path);
    if (old.isDirectory()) throw new DataError(`cannot write ${path}: it is a directory`, { file: path });
    mode = old.mode & 0o777;
  } catch (e) {
    if (e instanceof DataError) throw e;
    // No old file: a new one with the default mode.
  }
  removeStaleTemps(path);
  let fd: number | undefined;
  try {
    hooks.beforeOpen?.(temp);
    fd = openSync(temp, "wx", mode);
    let written = 0;
    while (written < data.length) written += writeSync(fd, data, written, data.length - written);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    hooks.beforeRename?.(temp);
    renameSync(temp, path);
  } catch (e) {
    if (fd !== undefined) {
      try {
        closeSync(fd);
      } catch {
        // Already failing; the first error is the one to report.
      }
    }
    try {
      unlinkSync(temp);
    } catch {
      // The temporary file may never have been created.
    }
    if (e instanceof DataError) throw e;
    throw new DataError(`cannot write ${path}: ${reasonOf(e)}; the previous file, if any, is unchanged`, { file: path });
  }
  syncDirectory(dir);
}

/**
 * Removes the temporary files of `path` left by processes that no longer run (killed during a
 * write); failures are ignored, this is tidying only.
 */
function removeStaleTemps(path: string): void {
  const dir = dirname(path);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (!isStaleTemp(name, basename(path), process.pid, (pid, signal) => process.kill(pid, signal))) continue;
    try {
      unlinkSync(join(dir, name));
    } catch {
      // Gone already, or not ours to remove.
    }
  }
}

/** Makes the rename itself durable where the platform allows it (not on Windows). */
function syncDirectory(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, "r");
    fsyncSync(fd);
  } catch {
    // Best effort.
  } finally {
    if (fd !== undefined) {
      try {
        closeSync(fd);
      } catch {
        // Best effort.
      }
    }
  }
}
