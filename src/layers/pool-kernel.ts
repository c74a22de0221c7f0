import { zeros, type Tensor } from "../interp/tensor.js";
import type { PoolArgs } from "./pool.js";
import type { LayerKernel } from "./types.js";
import { expectRank, planWindow } from "./window-plan.js";

/** Max/min pooling remembers, per output, the flat input index it took (−1: an empty window). */
interface PoolCache {
  readonly picked?: Int32Array;
}

/**
 * Max, min and average pooling over [B, H, W, C]. A window only ever looks at real cells:
 * padding and the part of a `ceil` window past the end are ignored, never counted (an average
 * divides by the number of real cells). A window with no real cell at all (padding wider than the
 * window) gives 0 and passes no gradient. Max/min backward routes to the first arg-max/arg-min
 * in row-major window order.
 */
export const poolKernel: LayerKernel<PoolArgs> = {
  forward([x], _p, a) {
    expectRank(`${a.mode}pool`, x!.shape, 4);
    const [b, h, w, c] = x!.shape as [number, number, number, number];
    const { kh, kw, stride } = a.window;
    const { oh, ow, top, left } = planWindow(a.window, h, w);
    const y = zeros([b, oh, ow, c]);
    const xd = x!.data;
    const yd = y.data;
    const picked = a.mode === "avg" ? undefined : new Int32Array(yd.length).fill(-1);
    const takeMax = a.mode === "max";
    for (let n = 0; n < b; n++) {
      for (let i = 0; i < oh; i++) {
        const r0 = Math.max(0, i * stride - top);
        const r1 = Math.min(h, i * stride - top + kh);
        for (let j = 0; j < ow; j++) {
          const s0 = Math.max(0, j * stride - left);
          const s1 = Math.min(w, j * stride - left + kw);
          const yo = ((n * oh + i) * ow + j) * c;
          if (r1 <= r0 || s1 <= s0) continue;
          if (!picked) {
            for (let r = r0; r < r1; r++) {
              for (let s = s0; s < s1; s++) {
                const xo = ((n * h + r) * w + s) * c;
                for (let ch = 0; ch < c; ch++) yd[yo + ch] += xd[xo + ch]!;
              }
            }
            const count = (r1 - r0) * (s1 - s0);
            for (let ch = 0; ch < c; ch++) yd[yo + ch] /= count;
            continue;
          }
          for (let ch = 0; ch < c; ch++) {
            let best = ((n * h + r0) * w + s0) * c + ch;
            let bestValue = xd[best]!;
            for (let r = r0; r < r1; r++) {
              for (let s = s0; s < s1; s++) {
                const xi = ((n * h + r) * w + s) * c + ch;
                const v = xd[xi]!;
                if (takeMax ? v > bestValue : v < bestValue) {
                  best = xi;
                  bestValue = v;
                }
              }
            }
            yd[yo + ch] = bestValue;
            picked[yo + ch] = best;
          }
        }
      }
    }
    const cache: PoolCache = { picked };
    return { y, cache };
  },

  backward(dy, [x], _y, cache, _p, _g, a) {
    const dx: Tensor = zeros(x!.shape);
    const dxd = dx.data;
    const dyd = dy.data;
    const picked = (cache as PoolCache | undefined)?.picked;
    if (picked) {
      for (let o = 0; o < picked.length; o++) {
        const xi = picked[o]!;
        if (xi >= 0) dxd[xi] += dyd[o]!;
      }
      return [dx];
    }
    const [b, h, w, c] = x!.shape as [number, number, number, number];
    const { kh, kw, stride } = a.window;
    const { oh, ow, top, left } = planWindow(a.window, h, w);
    for (let n = 0; n < b; n++) {
      for (let i = 0; i < oh; i++) {
        const r0 = Math.max(0, i * stride - top);
        const r1 = Math.min(h, i * stride - top + kh);
        for (let j = 0; j < ow; j++) {
          const s0 = Math.max(0, j * stride - left);
          const s1 = Math.min(w, j * stride - left + kw);
          if (r1 <= r0 || s1 <= s0) continue;
          const yo = ((n * oh + i) * ow + j) * c;
          const scale = 1 / ((r1 - r0) * (s1 - s0));
          for (let r = r0; r < r1; r++) {
            for (let s = s0; s < s1; s++) {
              const xo = ((n * h + r) * w + s) * c;
              for (let ch = 0; ch < c; ch++) dxd[xo + ch] += dyd[yo + ch]! * scale;
            }
          }
        }
      }
    }
    return [dx];
  },
};
