import { totalmem } from "node:os";
import type { CheckedNetwork } from "../check/infer.js";
import { describeNeeds, MAX_ARRAY_VALUES, memoryNeeds, optimizerSlots, type MemoryUse } from "../check/memory.js";
import { expectedWeights, readWeights } from "../io/index.js";
import type { TrainConfig } from "../ir/types.js";
import { Model } from "../interp/model.js";
import { seededRandom } from "../interp/random.js";
import { bytes } from "../util/format-bytes.js";
import { UsageError } from "./errors.js";

/** Every node must have an interpreter kernel; a kind without one is named, not crashed on. */
export function assertRunnable(checked: CheckedNetwork): void {
  const missing = [...new Set(checked.network.nodes.filter((n) => n.kind !== "input" && !n.def.kernel).map((n) => n.kind))];
  if (missing.length > 0) throw new UsageError(`the interpreter cannot run ${missing.join(", ")} layers yet`);
  if (checked.network.output === undefined) throw new UsageError("the network has no layers to run");
}

/**
 * Refuses, before allocating anything, a network the interpreter cannot hold even one sample
 * of (float64, batch 1): past this machine's memory, or with an array past V8's length limit.
 */
export function assertFitsInMemory(checked: CheckedNetwork, training?: { readonly optimizer?: TrainConfig["optimizer"] }): void {
  const use: MemoryUse = { bytesPerValue: 8, batch: 1, training: training !== undefined, optimizerSlots: optimizerSlots(training?.optimizer) };
  const needs = memoryNeeds(checked, use);
  const what = training ? "training" : "running";
  const limit = totalmem();
  if (needs.total > limit) throw new UsageError(`${what} this network needs at least ${describeNeeds(needs, use)}; this machine has ${bytes(limit)} of memory`);
  if (needs.largestArray > MAX_ARRAY_VALUES) {
    throw new UsageError(`${what} this network needs an array of ${needs.largestArray.toLocaleString("en-US")} values, more than the ${MAX_ARRAY_VALUES.toLocaleString("en-US")} one array can hold`);
  }
}

/**
 * A model with seeded initial weights, or the weights of a file (checked against the network).
 * `training` (with the optimizer) counts gradients and optimizer state in the memory check.
 */
export function setupModel(checked: CheckedNetwork, seed: number, weightsPath: string | undefined, warn: (message: string) => void, training?: { readonly optimizer?: TrainConfig["optimizer"] }): Model {
  assertRunnable(checked);
  assertFitsInMemory(checked, training);
  const model = new Model(checked, seededRandom(seed));
  if (weightsPath !== undefined) model.loadWeights(readWeights(weightsPath, expectedWeights(checked), { onWarning: warn }));
  return model;
}
