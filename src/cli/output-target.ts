import { statSync } from "node:fs";
import { dirname } from "node:path";
import { DataError } from "../io/index.js";

/**
 * Refuses, before any work, an output path that can never be written: a folder that does not
 * exist, or a folder as the target. `verb` words the message (`save to`, `write`). Other failures
 * (a full disk) still surface at the write, which is atomic.
 */
export function checkOutputTarget(path: string, verb: string): void {
  const dir = dirname(path);
  let isDir = false;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    // Reported below.
  }
  if (!isDir) throw new DataError(`cannot ${verb} ${path}: the folder ${dir} does not exist`, path);
  try {
    if (statSync(path).isDirectory()) throw new DataError(`cannot ${verb} ${path}: it is a directory`, path);
  } catch (e) {
    if (e instanceof DataError) throw e;
    // No file yet (or a path the final write will explain): fine here.
  }
}
