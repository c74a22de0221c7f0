import { readFileSync } from "node:fs";
import { decodeCheckpoint, encodeCheckpoint, type Checkpoint, type CheckpointIdentity } from "../codegen/runtime/checkpoint.js";
import { DataError, writeFileAtomic } from "../io/index.js";

/**
 * `dlc train --checkpoint PATH` / `--resume PATH`: the file side of the runtime's checkpoint
 * format (src/codegen/runtime/checkpoint.ts, which `node net.mjs train` uses too).
 */
export type { Checkpoint, CheckpointIdentity, CheckpointWeight } from "../codegen/runtime/checkpoint.js";

/** Writes a checkpoint atomically. */
export function writeCheckpoint(path: string, c: Checkpoint): void {
  writeFileAtomic(path, encodeCheckpoint(c, path));
}

/** Reads and checks a checkpoint: DataError (exit 2) for an unreadable, corrupt or foreign one. */
export function readCheckpoint(path: string, expected: CheckpointIdentity): Checkpoint {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new DataError(`cannot read checkpoint ${path}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (e as Error).message}`, path);
  }
  return decodeCheckpoint(bytes, path, expected);
}
