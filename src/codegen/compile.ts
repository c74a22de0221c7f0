import type { CheckedNetwork } from "../check/infer.js";
import type { TrainConfig } from "../ir/types.js";
import { moduleCode } from "./module.js";
import { plan } from "./plan.js";

export interface CompileOptions {
  /** The .dl file's name as the generated comments and source map give it. */
  readonly file: string;
  readonly precision: "f32" | "f64";
  readonly train?: TrainConfig;
  readonly version: string;
  /** f32: WebAssembly SIMD matmul kernels (default) or JS only; f64 always uses JS kernels. */
  readonly kernels?: "wasm" | "js";
  /** Shards of each training batch (dlc compile --threads): > 1 trains on worker threads. */
  readonly threads?: number;
  /** With the wasm kernels: also embed relaxed-SIMD (fused multiply-add) matmul kernels, used where the engine has them. */
  readonly fma?: boolean;
}

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
