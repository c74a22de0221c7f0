import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, unlinkSync, utimesSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { writeFileAtomic } from "../io/atomic-write.js";
import { UsageError } from "./errors.js";

/*
 * The cache of compiled networks (src/cli/engine.ts): one JavaScript module per key, a file
 * `net-<key>.mjs` in $XDG_CACHE_HOME/dlc (or ~/.cache/dlc, or `--cache DIR`). Each file starts
 * with a line naming its key and the SHA-256 of the rest, checked before the file is imported,
 * so a truncated, corrupt or foreign file is rebuilt, never run. Writes are atomic (temp file,
 * then rename), so processes sharing the folder never see half a file. The folder stays bounded:
 * after each write the least recently used entries go beyond MAX_ENTRIES files or MAX_BYTES
 * (a hit touches its file's time), and only files named as this cache names them are touched.
 */

/** Entries kept (each a network × options; LeNet-5's is 220 KB). */
export const MAX_ENTRIES = 32;
/** Bytes kept in all (a 10,000-layer network's module is tens of MB). */
export const MAX_BYTES = 256 * 2 ** 20;

const ENTRY = /^net-[0-9a-f]{64}\.mjs$/;
const HEADER = "// dlc compiled-network cache entry: ";

/** The folder: `--cache DIR`, else $XDG_CACHE_HOME/dlc, else ~/.cache/dlc; a private temporary folder when the default one cannot be made. */
export function cacheFolder(given: string | undefined): string {
  if (given !== undefined) {
    try {
      mkdirSync(given, { recursive: true });
      if (!statSync(given).isDirectory()) throw new Error("not a folder");
    } catch (e) {
      throw new UsageError(`--cache: cannot use ${given} as the cache folder (${e instanceof Error ? e.message : String(e)})`);
    }
    return given;
  }
  const xdg = process.env.XDG_CACHE_HOME;
  // The XDG rule: a relative $XDG_CACHE_HOME is invalid and ignored.
  const base = xdg && xdg.startsWith("/") ? xdg : join(homedir(), ".cache");
  const dir = join(base, "dlc");
  try {
    // Private to the user: the cache holds code that dlc runs.
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (statSync(dir).isDirectory()) return dir;
  } catch {
    // A read-only home, say: a folder of this process's own instead.
  }
  return privateFolder();
}

let scratch: string | undefined;

/** A temporary folder removed when the process exits (the module file must outlive the import: threads load it again). */
function privateFolder(): string {
  if (scratch === undefined) {
    const dir = mkdtempSync(join(tmpdir(), "dlc-cache-"));
    scratch = dir;
    process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
  }
  return scratch;
}

/** The key of what went into a module (any JSON value): SHA-256, hex. */
export function cacheKey(parts: unknown): string {
  return createHash("sha256").update(JSON.stringify(parts)).digest("hex");
}

export function entryPath(dir: string, key: string): string {
  return join(dir, `net-${key}.mjs`);
}

/** The entry's path when it holds a whole, unaltered module for `key`; undefined otherwise (missing, corrupt, foreign). */
export function validEntry(dir: string, key: string): string | undefined {
  const path = entryPath(dir, key);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
  const newline = text.indexOf("\n");
  if (newline < 0 || text.slice(0, newline) !== `${HEADER}${key} ${sha256(text.slice(newline + 1))}`) return undefined;
  try {
    const now = new Date();
    utimesSync(path, now, now);
  } catch {
    // Only the eviction order suffers.
  }
  return path;
}

/** Writes the entry atomically (its header line first), then evicts the least recently used beyond the bounds. Returns its path. */
export function writeEntry(dir: string, key: string, code: string): string {
  const path = entryPath(dir, key);
  writeFileAtomic(path, `${HEADER}${key} ${sha256(code)}\n${code}`);
  evict(dir, path);
  return path;
}

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/** Removes the oldest entries (by modification time) past MAX_ENTRIES or MAX_BYTES, never `keep`. Best effort. */
function evict(dir: string, keep: string): void {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => ENTRY.test(n));
  } catch {
    return;
  }
  const entries = names.flatMap((name) => {
    const path = join(dir, name);
    try {
      const s = statSync(path);
      return s.isFile() ? [{ path, size: s.size, time: s.mtimeMs }] : [];
    } catch {
      return [];
    }
  });
  entries.sort((a, b) => b.time - a.time);
  let count = 0;
  let bytes = 0;
  for (const e of entries) {
    const mine = e.path === keep;
    if (mine || (count < MAX_ENTRIES && bytes + e.size <= MAX_BYTES)) {
      count++;
      bytes += e.size;
      continue;
    }
    try {
      unlinkSync(e.path);
    } catch {
      // Another process removed it first.
    }
  }
}
