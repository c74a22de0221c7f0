import { zeros, type Tensor } from "../interp/tensor.js";
import type { ConvArgs } from "./conv.js";
import type { LayerKernel } from "./types.js";
import { expectRank, planWindow } from "./window-plan.js";

/**
 * Cross-correlation over [B, H, W, C] with a Keras-layout kernel [KH, KW, C, F] and bias [F]
 * (absent with `bias false`). Padded cells are zeros: they are simply skipped.
 */
export const convKernel: LayerKernel<ConvArgs> = {
  forward([x], p, a) {
    expectRank("conv", x!.shape, 4);
    const [b, h, w, c] = x!.shape as [number, number, number, number];
    const { kh, kw, stride } = a.window;
    const f = a.filters;
    const { oh, ow, top, left } = planWindow(a.window, h, w);
    const y = zeros([b, oh, ow, f]);
    const xd = x!.data;
    const yd = y.data;
    const k = p.kernel!.data;
    const bias = a.bias ? p.bias!.data : undefined;
    for (let n = 0; n < b; n++) {
      for (let i = 0; i < oh; i++) {
        for (let j = 0; j < ow; j++) {
          const yo = ((n * oh + i) * ow + j) * f;
          if (bias) for (let q = 0; q < f; q++) yd[yo + q] = bias[q]!;
          for (let u = 0; u < kh; u++) {
            const r = i * stride - top + u;
            if (r < 0 || r >= h) continue;
            for (let v = 0; v < kw; v++) {
              const s = j * stride - left + v;
              if (s < 0 || s >= w) continue;
              const xo = ((n * h + r) * w + s) * c;
              const ko = (u * kw + v) * c * f;
              for (let ch = 0; ch < c; ch++) {
                const xv = xd[xo + ch]!;
                const kc = ko + ch * f;
                for (let q = 0; q < f; q++) yd[yo + q] += xv * k[kc + q]!;
              }
            }
          }
        }
      }
    }
    return { y };
  },

  backward(dy, [x], _y, _cache, p, g, a) {
    const [b, h, w, c] = x!.shape as [number, number, number, number];
    const { kh, kw, stride } = a.window;
    const f = a.filters;
    const { oh, ow, top, left } = planWindow(a.window, h, w);
    const dx: Tensor = zeros(x!.shape);
    const xd = x!.data;
    const dxd = dx.data;
    const dyd = dy.data;
    const k = p.kernel!.data;
    const gk = g.kernel!.data;
    const gb = a.bias ? g.bias!.data : undefined;
    for (let n = 0; n < b; n++) {
      for (let i = 0; i < oh; i++) {
        for (let j = 0; j < ow; j++) {
          const yo = ((n * oh + i) * ow + j) * f;
          if (gb) for (let q = 0; q < f; q++) gb[q] += dyd[yo + q]!;
          for (let u = 0; u < kh; u++) {
            const r = i * stride - top + u;
            if (r < 0 || r >= h) continue;
            for (let v = 0; v < kw; v++) {
              const s = j * stride - left + v;
              if (s < 0 || s >= w) continue;
              const xo = ((n * h + r) * w + s) * c;
              const ko = (u * kw + v) * c * f;
              for (let ch = 0; ch < c; ch++) {
                const xv = xd[xo + ch]!;
                const kc = ko + ch * f;
                let sum = 0;
                for (let q = 0; q < f; q++) {
                  const d = dyd[yo + q]!;
                  sum += d * k[kc + q]!;
                  gk[kc + q] += xv * d;
                }
                dxd[xo + ch] += sum;
              }
            }
          }
        }
      }
    }
    return [dx];
  },
};
