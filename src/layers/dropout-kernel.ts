import { type Tensor } from "../interp/tensor.js";
import type { DropoutArgs } from "./dropout.js";
import type { LayerKernel } from "./types.js";

/** The per-element factor applied in training: 0 (dropped) or 1/(1−P) (kept). */
interface DropoutCache {
  readonly scale?: Float64Array;
}

/**
 * Inverted dropout: in training each element is kept when a draw u from `ctx.random` has
 * u ≥ P (as Keras), and kept elements are scaled by 1/(1−P), so inference is the identity.
 * One draw per element, in row-major order, so a seed gives the same mask everywhere.
 */
export const dropoutKernel: LayerKernel<DropoutArgs> = {
  forward([x], _p, a, ctx) {
    const xd = x!.data;
    const y: Tensor = { shape: [...x!.shape], data: new Float64Array(xd) };
    if (!ctx.training || a.rate === 0) return { y, cache: {} satisfies DropoutCache };
    const keep = 1 / (1 - a.rate);
    const scale = new Float64Array(xd.length);
    for (let i = 0; i < xd.length; i++) {
      const s = ctx.random() >= a.rate ? keep : 0;
      scale[i] = s;
      y.data[i] = xd[i]! * s;
    }
    return { y, cache: { scale } satisfies DropoutCache };
  },

  backward(dy, _xs, _y, cache) {
    const dx: Tensor = { shape: [...dy.shape], data: new Float64Array(dy.data) };
    const scale = (cache as DropoutCache | undefined)?.scale;
    if (scale) for (let i = 0; i < scale.length; i++) dx.data[i] *= scale[i]!;
    return [dx];
  },
};
