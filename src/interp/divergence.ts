/**
 * When training has diverged — the rule both engines follow (the generated module's runtime
 * implements the same one): after a batch, training stops and undoes that batch when
 * - its loss is NaN or ±Infinity, or
 * - its loss exceeds EXPLOSION_FACTOR × max(1, L0), L0 being the loss of the run's first good
 *   batch (a loss that finite arithmetic still holds, but that no healthy run reaches), or
 * - a weight is NaN, ±Infinity or beyond float32's range (|w| > FLOAT32_MAX): such weights
 *   cannot be saved as F32 nor trained on by a float32 module.
 */
export const EXPLOSION_FACTOR = 1e4;

/** The largest finite float32, (2 − 2⁻²³)·2¹²⁷. */
export const FLOAT32_MAX = 3.4028234663852886e38;

export type LossDivergence = "non-finite" | "exploded";

/** The loss above which a batch has exploded, given the first good batch's loss L0. */
export function explosionLimit(firstLoss: number): number {
  return EXPLOSION_FACTOR * Math.max(1, firstLoss);
}

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
