import { zeros, type Tensor } from "../interp/tensor.js";
import type { UpsampleArgs } from "./reshape.js";
import type { LayerKernel } from "./types.js";
import { expectRank } from "./window-plan.js";

type NoArgs = Record<string, never>;

/** [B, …] → [B, product of the rest]: the same values, row-major (a copy, never shared). */
export const flattenKernel: LayerKernel<NoArgs> = {
  forward([x]) {
    const b = x!.shape[0]!;
    return { y: { shape: [b, x!.data.length / b], data: new Float64Array(x!.data) } };
  },
  backward(dy, [x]) {
    return [{ shape: [...x!.shape], data: new Float64Array(dy.data) }];
  },
};

/** [B, H, W, C] → [B, C]: the mean of each channel. */
export const globalAvgPoolKernel: LayerKernel<NoArgs> = {
  forward([x]) {
    expectRank("globalavgpool", x!.shape, 4);
    const [b, h, w, c] = x!.shape as [number, number, number, number];
    const y = zeros([b, c]);
    const cells = h * w;
    for (let n = 0; n < b; n++) {
      const yo = n * c;
      for (let cell = 0; cell < cells; cell++) {
        const xo = (n * cells + cell) * c;
        for (let ch = 0; ch < c; ch++) y.data[yo + ch] += x!.data[xo + ch]!;
      }
      for (let ch = 0; ch < c; ch++) y.data[yo + ch] /= cells;
    }
    return { y };
  },
  backward(dy, [x]) {
    const [b, h, w, c] = x!.shape as [number, number, number, number];
    const dx: Tensor = zeros(x!.shape);
    const cells = h * w;
    for (let n = 0; n < b; n++) {
      for (let cell = 0; cell < cells; cell++) {
        const xo = (n * cells + cell) * c;
        for (let ch = 0; ch < c; ch++) dx.data[xo + ch] = dy.data[n * c + ch]! / cells;
      }
    }
    return [dx];
  },
};

/** [B, H, W, C] → [B, K·H, K·W, C], nearest neighbour: output (i, j) copies input (⌊i/K⌋, ⌊j/K⌋). */
export const upsampleKernel: LayerKernel<UpsampleArgs> = {
  forward([x], _p, a) {
    expectRank("upsample", x!.shape, 4);
    const [b, h, w, c] = x!.shape as [number, number, number, number];
    const k = a.factor;
    const y = zeros([b, h * k, w * k, c]);
    for (let n = 0; n < b; n++) {
      for (let i = 0; i < h * k; i++) {
        for (let j = 0; j < w * k; j++) {
          const xo = ((n * h + Math.floor(i / k)) * w + Math.floor(j / k)) * c;
          const yo = ((n * h * k + i) * w * k + j) * c;
          for (let ch = 0; ch < c; ch++) y.data[yo + ch] = x!.data[xo + ch]!;
        }
      }
    }
    return { y };
  },
  backward(dy, [x], _y, _cache, _p, _g, a) {
    const [b, h, w, c] = x!.shape as [number, number, number, number];
    const k = a.factor;
    const dx: Tensor = zeros(x!.shape);
    for (let n = 0; n < b; n++) {
      for (let i = 0; i < h * k; i++) {
        for (let j = 0; j < w * k; j++) {
          const xo = ((n * h + Math.floor(i / k)) * w + Math.floor(j / k)) * c;
          const yo = ((n * h * k + i) * w * k + j) * c;
          for (let ch = 0; ch < c; ch++) dx.data[xo + ch] += dy.data[yo + ch]!;
        }
      }
    }
    return [dx];
  },
};
