import type { ModelLike, WeightInfo } from "./internal-types.js";

/**
 * When training has diverged: the rule dlc train's interpreter applies too (src/interp/divergence.ts
 * takes its numbers from here), checked after each batch's step. A batch diverges when its loss is
 * NaN or ±Infinity, when its loss exceeds EXPLOSION_FACTOR × max(1, L0) — L0 the loss of the
 * first batch of the run that completed well — or when the update leaves a weight NaN,
 * ±Infinity or beyond float32's range (such weights cannot be saved as F32, and nothing good
 * comes after them). The caller undoes that batch and stops.
 */
export const EXPLOSION_FACTOR = 1e4;
/** float32's largest finite value. */
export const FLOAT32_MAX = 3.4028234663852886e38;

/** The loss above which a batch has exploded, given L0, the first good batch's loss. */
export function explosionLimit(firstLoss: number): number {
  return EXPLOSION_FACTOR * Math.max(1, firstLoss);
}

export type Divergence =
  | { readonly reason: "loss"; readonly loss: number }
  | { readonly reason: "exploded"; readonly loss: number; readonly firstLoss: number }
  /** `value`: the first value of that weight out of range. */
  | { readonly reason: "weight"; readonly loss: number; readonly weight: string; readonly value: number };

export class DivergenceWatch {
  /** L0: the loss of the first batch that completed well. */
  private firstLoss: number | undefined;

  /**
   * The divergence of a batch whose step gave `loss` and left the model's weights as they are,
   * or undefined when the batch is good (the first good one sets L0). The model's own
   * weightsFinite is used where it has one (f32 weights: finite is within float32's range).
   */
  check(loss: number, model: Pick<ModelLike, "w" | "weightsFinite">, weights: readonly WeightInfo[]): Divergence | undefined {
    if (!Number.isFinite(loss)) return { reason: "loss", loss };
    const first = this.firstLoss;
    if (first !== undefined && loss > explosionLimit(first)) return { reason: "exploded", loss, firstLoss: first };
    const bad = model.weightsFinite?.() === true ? undefined : firstOutOfRange(model.w, weights);
    if (bad !== undefined) return { reason: "weight", loss, ...bad };
    if (first === undefined) this.firstLoss = loss;
    return undefined;
  }
}

/** The first value that is NaN, ±Infinity or beyond ±FLOAT32_MAX, and its weight's name (in WEIGHTS' order). */
export function firstOutOfRange(w: Float32Array | Float64Array, weights: readonly WeightInfo[]): { weight: string; value: number } | undefined {
  // Math.max keeps NaN, so four running maxima of |w| tell without a branch per value whether to look.
  let m0 = 0;
  let m1 = 0;
  let m2 = 0;
  let m3 = 0;
  const end4 = w.length - (w.length % 4);
  for (let i = 0; i < end4; i += 4) {
    m0 = Math.max(m0, Math.abs(w[i]!));
    m1 = Math.max(m1, Math.abs(w[i + 1]!));
    m2 = Math.max(m2, Math.abs(w[i + 2]!));
    m3 = Math.max(m3, Math.abs(w[i + 3]!));
  }
  for (let i = end4; i < w.length; i++) m0 = Math.max(m0, Math.abs(w[i]!));
  if (Math.max(m0, m1, m2, m3) <= FLOAT32_MAX) return undefined;
  for (let i = 0; i < w.length; i++) {
    const value = w[i]!;
    if (!(Math.abs(value) <= FLOAT32_MAX)) return { weight: weights.find((e) => i >= e.offset && i < e.offset + e.size)?.name ?? `weight ${i}`, value };
  }
  return undefined;
}

/** What a diverged run reports, in either engine: where it stopped and why. */
export interface DivergedRun {
  readonly loss: number;
  readonly epoch: number;
  readonly batch: number;
  readonly goodBatches: number;
  readonly firstLoss?: number;
  readonly weight?: string;
  readonly value?: number;
}

/** What stopped a diverged run, where, and what became of the weights (`save`: the --save target). */
export function divergenceMessage(o: DivergedRun, save: string | undefined): string {
  let what: string;
  if (o.weight !== undefined) {
    what = o.value !== undefined && Number.isFinite(o.value) ? `the update made ${o.weight} ${o.value}, beyond float32's range` : `the update made ${o.weight} NaN or infinite`;
  } else if (o.firstLoss !== undefined) {
    what = `the loss exploded to ${o.loss}, more than ${EXPLOSION_FACTOR} × the first batch's ${o.firstLoss}`;
  } else {
    what = `the loss became ${o.loss}`;
  }
  const advice = "(try a smaller --lr, or scale the data)";
  const where = `${what} at epoch ${o.epoch}, batch ${o.batch}; training stopped and undid that batch`;
  if (o.goodBatches > 0) return `${where}, so the weights are the last good ones ${advice}`;
  return `${where}, before any batch trained well${save === undefined ? "" : `, so nothing was saved: ${save} is unchanged`} ${advice}`;
}
