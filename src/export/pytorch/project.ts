import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { writeFileAtomic } from "../../io/atomic-write.js";
import { DataError } from "../../codegen/runtime/errors.js";
import { reasonOf } from "../../codegen/runtime/node-files.js";
import { isStaleTemp, tempNameFor } from "../../codegen/runtime/temp-files.js";

/**
 * The folder of the project's static Python files (run.py, train.py, dlc_support.py, …): beside
 * this file under vitest (src/), and src/export/pytorch/python of the package when running from
 * dist/ (package.json ships it).
 */
function pythonFolder(): string {
  const candidates = [new URL("./python/", import.meta.url), new URL("../../../../src/export/pytorch/python/", import.meta.url)];
  for (const url of candidates) {
    const dir = fileURLToPath(url);
    if (existsSync(join(dir, "run.py"))) return dir;
  }
  throw new Error(`internal: the PyTorch project's Python files are missing (looked in ${candidates.map((u) => fileURLToPath(u)).join(" and ")})`);
}

/** Every file of the project: model.py and the static .py files, by name. */
export function projectFiles(modelPy: string): Map<string, string> {
  const dir = pythonFolder();
  const files = new Map<string, string>();
  for (const name of readdirSync(dir).sort()) if (name.endsWith(".py")) files.set(name, readFileSync(join(dir, name), "utf8"));
  files.set("model.py", modelPy);
  return files;
}

/** Refuses, before any work, a project folder that cannot be written: its parent missing, or a file in its place. */
export function checkProjectTarget(dir: string): void {
  const parent = dirname(dir);
  let parentIsDir = false;
  try {
    parentIsDir = statSync(parent).isDirectory();
  } catch {
    // Reported below.
  }
  if (!parentIsDir) throw new DataError(`cannot write ${dir}: the folder ${parent} does not exist`, dir);
  if (existsSync(dir) && !statSync(dir).isDirectory()) throw new DataError(`cannot write ${dir}: it is a file, not a folder`, dir);
}

/**
 * Writes the project. A new folder is built as a temporary sibling and renamed into place in one
 * step; into an existing folder (which may hold the user's weights and data) each file goes
 * atomically (temporary file, then rename), other files are left alone.
 */
export function writeProject(dir: string, files: ReadonlyMap<string, string>): void {
  checkProjectTarget(dir);
  if (existsSync(dir)) {
    for (const [name, text] of files) writeFileAtomic(join(dir, name), text);
    return;
  }
  const parent = dirname(dir);
  // Folders that exports killed mid-write (kill -9) left beside this one are tidied away first.
  for (const name of readdirSync(parent)) {
    if (isStaleTemp(name, basename(dir), process.pid, (pid, signal) => process.kill(pid, signal))) rmSync(join(parent, name), { recursive: true, force: true });
  }
  const temp = join(parent, tempNameFor(basename(dir), process.pid));
  try {
    mkdirSync(temp);
    for (const [name, text] of files) writeFileAtomic(join(temp, name), text);
    renameSync(temp, dir);
  } catch (e) {
    rmSync(temp, { recursive: true, force: true });
    if (e instanceof DataError) throw e;
    throw new DataError(`cannot write ${dir}: ${reasonOf(e)}`, dir);
  }
}
