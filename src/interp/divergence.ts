/**
 * When training has diverged — the rule both engines follow (the generated module's runtime
 * implements the same one): after a batch, training stops and undoes that batch when
 * - its loss is NaN or ±Infinity, or
 * - its loss exceeds EXPLOSION_FACTOR × max(1, L0), L0 being the loss of the run's first good
 *   batch (a loss that finite arithmetic still holds, but that no healthy run reaches), or
 * - a weight is NaN, ±Infinity or beyond float32's range (|w| > FLOAT32_MAX): such weights
 *   cannot be saved as F32 nor trained on by a float32 module.
 */
import { explosionLimit, FLOAT32_MAX } from "../codegen/runtime/divergence.js";

/** The numbers are the generated module's own (one rule for both engines). */
export { EXPLOSION_FACTOR, explosionLimit, FLOAT32_MAX } from "../codegen/runtime/divergence.js";

export type LossDivergence = "non-finite" | "exploded";

/**
 * How a batch's loss shows divergence, or undefined when it does not. `firstLoss` is L0, the
 * first good batch's loss, undefined while no batch has completed (the first batch can only
 * diverge by a non-finite loss).
 */
export function lossDivergence(loss: number, firstLoss: number | undefined): LossDivergence | undefined {
  if (!Number.isFinite(loss)) return "non-finite";
  if (firstLoss !== undefined && loss > explosionLimit(firstLoss)) return "exploded";
  return undefined;
}

/** Whether a weight value is one training must not go on from: NaN, ±Infinity or |w| > FLOAT32_MAX. */
export function weightDiverged(w: number): boolean {
  // Written so that NaN, which fails every comparison, counts as diverged.
  return !(Math.abs(w) <= FLOAT32_MAX);
}
