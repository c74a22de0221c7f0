import { writeFileAtomic as writeAtomically } from "../codegen/runtime/node-files.js";
import { nodeHost, type AtomicWriteHooks } from "./node-host.js";

export type { AtomicWriteHooks };

/**
 * Writes `bytes` to `path` so that a crash never leaves a half-written file: a temporary file in
 * the same folder, fsync, rename (runtime/node-files.ts's writeFileAtomic, the generated
 * module's too). On any failure `path` keeps its old contents and no temporary file is left.
 */
export function writeFileAtomic(path: string, bytes: Uint8Array | string, hooks: AtomicWriteHooks = {}): void {
  writeAtomically(path, bytes, nodeHost(hooks));
}
