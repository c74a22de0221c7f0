/**
 * Global gradient-norm clipping, as torch.nn.utils.clip_grad_norm_(max_norm): the L2 norm over
 * every trainable gradient; when max_norm / (norm + 1e-6) < 1, every gradient is scaled by it.
 * Shared by the interpreter and the generated module (a threaded one sums the squares of fixed
 * blocks on its threads, then every thread adds the blocks in the same order).
 */

/** clip_grad_norm_'s epsilon. */
export const CLIP_EPS = 1e-6;

/** The factor the gradients are scaled by: clip / (norm + 1e-6) when that is below 1, else 1. */
export function clipScale(squares: number, clip: number): number {
  const coef = clip / (Math.sqrt(squares) + CLIP_EPS);
  return coef < 1 ? coef : 1;
}

/** Σ g² over the parts of `ranges` inside [from, to), in double precision. */
export function squaredSum(g: Float32Array | Float64Array, ranges: readonly (readonly [number, number])[], from: number, to: number): number {
  let sum = 0;
  for (const [start, end] of ranges) {
    const hi = Math.min(end, to);
    for (let i = Math.max(start, from); i < hi; i++) sum += g[i]! * g[i]!;
  }
  return sum;
}

/** The optimizer kinds by their number in a threaded module's shared settings (and stepRange's `kind`). */
export function optimizerKindIndex(kind: string): number {
  const index = ["sgd", "adam", "adamw"].indexOf(kind);
  if (index < 0) throw new Error(`optimizer.kind must be sgd, adam or adamw, got ${JSON.stringify(String(kind)).slice(0, 40)}`);
  return index;
}
