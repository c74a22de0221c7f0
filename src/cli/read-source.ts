import { closeSync, openSync, readSync, statSync } from "node:fs";
import { UsageError } from "./errors.js";

/**
 * Largest `.dl` file dlc reads: about a million lines of layer statements, which the front
 * end checks in linear time and a few GB (bench/RESULTS.md, "scaling with network size").
 */
export const MAX_SOURCE_BYTES = 16 * 1024 * 1024;

const MIB = 1024 * 1024;

/**
 * The text of a `.dl` file. Regular files larger than MAX_SOURCE_BYTES are refused before
 * reading; anything else that is not a directory (a pipe, /dev/stdin, a device) is read up to
 * that many bytes and refused past them, so `/dev/zero` cannot fill the memory. The file must
 * be text: UTF-8 without NUL bytes, or it is refused whole instead of giving one error per
 * stray byte.
 */
export function readSource(path: string, maxBytes = MAX_SOURCE_BYTES): string {
  let regularSize: number | undefined;
  try {
    const st = statSync(path);
    if (st.isDirectory()) throw new UsageError(`'${path}' is a directory, not a .dl file`);
    if (st.isFile()) regularSize = st.size;
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(`cannot read '${path}': ${describeFsError(e)}`);
  }
  const tooLarge = (): UsageError => new UsageError(`'${path}' is larger than ${maxBytes / MIB} MiB; dlc reads .dl files of up to ${maxBytes / MIB} MiB (${maxBytes} bytes)`);
  if (regularSize !== undefined && regularSize > maxBytes) throw tooLarge();
  let bytes: Buffer;
  try {
    bytes = readCapped(path, maxBytes);
  } catch (e) {
    throw new UsageError(`cannot read '${path}': ${describeFsError(e)}`);
  }
  if (bytes.length > maxBytes) throw tooLarge();
  return decodeText(path, bytes);
}

/** Up to `cap + 1` bytes of the file: one more than allowed says that it is too large. */
function readCapped(path: string, cap: number): Buffer {
  const fd = openInput(path);
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(Math.min(1 * MIB, cap + 1 - total));
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      chunks.push(n === chunk.length ? chunk : chunk.subarray(0, n));
      total += n;
      if (total > cap) break;
    }
    return Buffer.concat(chunks, total);
  } finally {
    if (fd !== 0) closeSync(fd);
  }
}

/** `/dev/stdin` is read from descriptor 0 where it cannot be opened again (a socket, as Node's child processes get). */
function openInput(path: string): number {
  try {
    return openSync(path, "r");
  } catch (e) {
    if (path === "/dev/stdin" && (e as { code?: string }).code === "ENXIO") return 0;
    throw e;
  }
}

// ignoreBOM: keep a leading byte-order mark, as readFileSync did: the lexer skips it, and columns stay as before.
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** The rule: a `.dl` file is UTF-8 and holds no NUL byte; anything else is not a text file. */
function decodeText(path: string, bytes: Buffer): string {
  const nul = bytes.indexOf(0);
  if (nul >= 0) throw new UsageError(`'${path}' is not a text file (byte ${nul} is NUL); dlc reads .dl files as UTF-8 text`);
  try {
    return utf8.decode(bytes);
  } catch {
    throw new UsageError(`'${path}' is not a text file (it is not valid UTF-8); dlc reads .dl files as UTF-8 text`);
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
