/**
 * A mistake in a weights or data file: the user's, never dlc's. The message is complete on its
 * own (it names the file and, where known, the place); the fields repeat the place as data.
 */
export class DataError extends Error {
  /** The file the mistake is in. */
  readonly file?: string;
  /** 1-based line and column (JSON syntax errors, CSV). */
  readonly line?: number;
  readonly column?: number;
  /** Where in the JSON document: `dense1.kernel[2][1]`, `x[17]`. */
  readonly path?: string;

  constructor(message: string, where: { file?: string; line?: number; column?: number; path?: string } = {}) {
    super(message);
    this.name = "DataError";
    this.file = where.file;
    this.line = where.line;
    this.column = where.column;
    this.path = where.path;
  }
}

/** `data.json` or `data.json:3:14`, for the front of a message. */
export function place(file: string, line?: number, column?: number): string {
  if (line === undefined) return file;
  return column === undefined ? `${file}:${line}` : `${file}:${line}:${column}`;
}

/** An OS error's short reason: `no such file`, `permission denied`, … */
export function reasonOf(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  switch (err?.code) {
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
      return err instanceof Error ? err.message : String(e);
  }
}
