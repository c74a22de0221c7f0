import * as fs from "node:fs";
import * as path from "node:path";
import * as zlib from "node:zlib";
import type { NodeProcessLike } from "../codegen/runtime/host.js";
import type { FsLike, NodeHost, ZlibLike } from "../codegen/runtime/node-files.js";

/** For tests: failures injected into an atomic write (src/cli/save-test-hooks.ts sets them from the environment). */
export interface AtomicWriteHooks {
  /** Runs before the temporary file is created (tests inject an open failure here: a read-only folder, even for root). */
  readonly beforeOpen?: (tempPath: string) => void;
  /** Runs after the temporary file is written and synced, before the rename (tests inject failures here). */
  readonly beforeRename?: (tempPath: string) => void;
}

const plain: NodeHost = { fs: fs as FsLike, path, zlib: zlib as ZlibLike, process: process as NodeProcessLike };

/**
 * dlc's Node built-ins as the runtime's file functions take them (runtime/node-files.ts: the
 * same readers and atomic writer as every generated module's command line). With hooks, the
 * temporary file's creation (`openSync(temp, "wx")`) and its rename call them first.
 */
export function nodeHost(hooks: AtomicWriteHooks = {}): NodeHost {
  const { beforeOpen, beforeRename } = hooks;
  if (!beforeOpen && !beforeRename) return plain;
  const hooked: FsLike = {
    ...plain.fs,
    openSync(p: string, flags: string, mode?: number): number {
      if (flags === "wx") beforeOpen?.(p);
      return plain.fs.openSync(p, flags, mode);
    },
    renameSync(from: string, to: string): void {
      beforeRename?.(from);
      plain.fs.renameSync(from, to);
    },
  };
  return { ...plain, fs: hooked };
}
