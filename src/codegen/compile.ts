import type { CheckedNetwork } from "../check/infer.js";
import { moduleCode, type ModuleOptions } from "./module.js";
import { plan } from "./plan.js";

/** What `generateModule` needs: the .dl file's name for comments and the source map, the precision, the kernels, the shards, --fma (ModuleOptions documents each). */
export type CompileOptions = ModuleOptions;

/** Layer kinds the code generator cannot emit yet, for a clear message instead of a crash. */
export function unsupportedKinds(checked: CheckedNetwork): string[] {
  const kinds = new Set<string>();
  for (const n of checked.network.nodes) {
    if (n.kind !== "input" && !n.def.emit) kinds.add(n.kind);
  }
  return [...kinds];
}

/** A checked network → the TypeScript module's text (not yet formatted). */
export function generateModule(checked: CheckedNetwork, o: CompileOptions): string {
  return moduleCode(plan(checked), o);
}
