import type { IrNode } from "./types.js";

/** The activation a node ends in: its own kind, or the word written after dense/conv. */
export function finalActivation(node: IrNode): string | undefined {
  return node.def.isActivation ? node.kind : node.activation?.kind;
}
