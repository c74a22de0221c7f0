import type { CheckedNetwork } from "../check/infer.js";
import { describeNeeds, MAX_ARRAY_VALUES, memoryNeeds, optimizerSlots, WASM_MEMORY_BYTES, type MemoryUse } from "../check/memory.js";
import type { TrainConfig } from "../ir/types.js";
import { bytes } from "../util/format-bytes.js";
import type { ModuleParts } from "./module.js";

/*
 * What `dlc compile` refuses before generating or formatting: a module too big to make in
 * reasonable time and memory, or whose arrays no engine could hold. Measured on a shared 2-core
 * machine: formatting (prettier) is most of the time and memory, about linear in the code;
 * 4,000 dense layers took 107 s and 0.8 GB, 10,000 took 157 s and 2.6 GB (28 MB of code before
 * formatting, 22 MB after); at 80,000 the memory would not fit.
 */

/** Layers (nodes) of the largest network compiled: a dense layer makes about 2.8 KB of code. */
export const MAX_COMPILED_LAYERS = 10_000;
/** Code generated for the network (before formatting; the runtime is extra) that is still formatted. */
export const MAX_GENERATED_BYTES = 32 * 2 ** 20;

/** Why the network is too large to compile, before any code is generated; undefined when it is not. */
export function tooLargeToCompile(checked: CheckedNetwork, o: { precision: "f32" | "f64"; kernels?: "wasm" | "js"; train?: TrainConfig }): string | undefined {
  const layers = checked.network.nodes.length - checked.network.inputs.length;
  if (layers > MAX_COMPILED_LAYERS) {
    return `the network has ${layers.toLocaleString("en-US")} layers; dlc compile generates modules of up to ${MAX_COMPILED_LAYERS.toLocaleString("en-US")} (dlc train and dlc run take up to 1,000,000)`;
  }
  // The module trains: its arrays hold gradients and optimizer state too. Batch 1 is the least it can run.
  const use: MemoryUse = { bytesPerValue: o.precision === "f32" ? 4 : 8, batch: 1, training: true, optimizerSlots: optimizerSlots(o.train?.optimizer) };
  const needs = memoryNeeds(checked, use);
  const wasm = o.precision === "f32" && (o.kernels ?? "wasm") === "wasm";
  if (wasm && needs.total > WASM_MEMORY_BYTES) {
    return `the compiled module's arrays need at least ${describeNeeds(needs, use)}, more than the ${bytes(WASM_MEMORY_BYTES)} its WebAssembly kernels address`;
  }
  if (needs.largestArray > MAX_ARRAY_VALUES) {
    return `the compiled module would need an array of ${needs.largestArray.toLocaleString("en-US")} values, more than the ${MAX_ARRAY_VALUES.toLocaleString("en-US")} one array can hold`;
  }
  return undefined;
}

/** Why the generated code is too large to format and write; undefined when it is not. */
export function tooMuchCode(parts: ModuleParts): string | undefined {
  let size = parts.network.length + parts.api.length;
  for (const c of parts.chunks) size += c.length;
  if (size <= MAX_GENERATED_BYTES) return undefined;
  return `the network's generated code is ${bytes(size)}; dlc compile writes modules of up to ${bytes(MAX_GENERATED_BYTES)} of it`;
}
