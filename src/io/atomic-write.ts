import { closeSync, fsyncSync, openSync, readdirSync, renameSync, statSync, unlinkSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";
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
  const temp = join(dir, `${tempPrefix(path)}${process.pid}.${Math.random().toString(36).slice(2, 10)}.tmp`);
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

/** `.NAME.`: what every temporary file for `path` starts with. */
function tempPrefix(path: string): string {
  return `.${basename(path)}.`;
}

/**
 * Removes the temporary files of `path` left by processes that no longer run (killed during a
 * write): `.NAME.<pid>.<random>.tmp` whose pid is not a live process. Files of live processes
 * (a save in progress) and of other targets are never touched; failures are ignored, this is
 * tidying only.
 */
function removeStaleTemps(path: string): void {
  const dir = dirname(path);
  const prefix = tempPrefix(path);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    // The random part has no dots, so `.w.json.5.<pid>.<random>.tmp` (target w.json.5) does not match w.json's.
    const m = /^(\d+)\.[0-9a-z]+\.tmp$/.exec(name.slice(prefix.length));
    if (!m) continue;
    const pid = Number(m[1]);
    if (!Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid || isLive(pid)) continue;
    try {
      unlinkSync(join(dir, name));
    } catch {
      // Gone already, or not ours to remove.
    }
  }
}

/** Whether a process with this id exists (one of another user's counts: EPERM). */
function isLive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== "ESRCH";
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
