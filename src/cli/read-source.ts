import { readFileSync, statSync } from "node:fs";
import { UsageError } from "./errors.js";

/** Largest `.dl` file dlc reads; far beyond any real network, small enough to never exhaust memory. */
const MAX_SOURCE_BYTES = 64 * 1024 * 1024;

export function readSource(path: string): string {
  let size: number;
  try {
    const st = statSync(path);
    if (st.isDirectory()) throw new UsageError(`'${path}' is a directory, not a .dl file`);
    size = st.size;
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(`cannot read '${path}': ${describeFsError(e)}`);
  }
  if (size > MAX_SOURCE_BYTES) throw new UsageError(`'${path}' is ${size} bytes; dlc reads .dl files of up to ${MAX_SOURCE_BYTES} bytes`);
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    throw new UsageError(`cannot read '${path}': ${describeFsError(e)}`);
  }
}

export function describeFsError(e: unknown): string {
  const code = (e as { code?: string }).code;
  switch (code) {
    case "ENOENT":
      return "no such file";
    case "EACCES":
    case "EPERM":
      return "permission denied";
    case "EISDIR":
      return "it is a directory";
    default:
      return e instanceof Error ? e.message : String(e);
  }
}
