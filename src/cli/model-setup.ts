import type { CheckedNetwork } from "../check/infer.js";
import { expectedWeights, readWeights } from "../io/index.js";
import { Model } from "../interp/model.js";
import { seededRandom } from "../interp/random.js";
import { UsageError } from "./errors.js";

/** Every node must have an interpreter kernel; a kind without one is named, not crashed on. */
export function assertRunnable(checked: CheckedNetwork): void {
  const missing = [...new Set(checked.network.nodes.filter((n) => n.kind !== "input" && !n.def.kernel).map((n) => n.kind))];
  if (missing.length > 0) throw new UsageError(`the interpreter cannot run ${missing.join(", ")} layers yet`);
  if (checked.network.output === undefined) throw new UsageError("the network has no layers to run");
}

/** A model with seeded initial weights, or the weights of a file (checked against the network). */
export function setupModel(checked: CheckedNetwork, seed: number, weightsPath: string | undefined, warn: (message: string) => void): Model {
  assertRunnable(checked);
  const model = new Model(checked, seededRandom(seed));
  if (weightsPath !== undefined) model.loadWeights(readWeights(weightsPath, expectedWeights(checked), { onWarning: warn }));
  return model;
}
