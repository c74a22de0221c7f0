import { zeros, type Tensor } from "../interp/tensor.js";
import type { DenseArgs } from "./dense.js";
import type { LayerKernel } from "./types.js";

/**
 * y = x·kernel + bias on the last axis of a tensor of any rank ([B,F], [B,T,F], …), with a
 * Keras-layout kernel [F, N]. Every leading axis is just another row.
 */
export const denseKernel: LayerKernel<DenseArgs> = {
  forward([x], p, a) {
    const f = x!.shape[x!.shape.length - 1]!;
    const units = a.units;
    const rows = x!.data.length / f;
    const y = zeros([...x!.shape.slice(0, -1), units]);
    const xd = x!.data;
    const yd = y.data;
    const k = p.kernel!.data;
    if (k.length !== f * units) throw new Error(`dense: kernel of ${k.length} values does not fit [${f},${units}]`);
    const bias = a.bias ? p.bias!.data : undefined;
    for (let r = 0; r < rows; r++) {
      const yo = r * units;
      if (bias) for (let q = 0; q < units; q++) yd[yo + q] = bias[q]!;
      const xo = r * f;
      for (let i = 0; i < f; i++) {
        const xv = xd[xo + i]!;
        const ko = i * units;
        for (let q = 0; q < units; q++) yd[yo + q] += xv * k[ko + q]!;
      }
    }
    return { y };
  },

  backward(dy, [x], _y, _cache, p, g, a) {
    const f = x!.shape[x!.shape.length - 1]!;
    const units = a.units;
    const rows = x!.data.length / f;
    const dx: Tensor = zeros(x!.shape);
    const xd = x!.data;
    const dxd = dx.data;
    const dyd = dy.data;
    const k = p.kernel!.data;
    const gk = g.kernel!.data;
    const gb = a.bias ? g.bias!.data : undefined;
    for (let r = 0; r < rows; r++) {
      const yo = r * units;
      if (gb) for (let q = 0; q < units; q++) gb[q] += dyd[yo + q]!;
      const xo = r * f;
      for (let i = 0; i < f; i++) {
        const xv = xd[xo + i]!;
        const ko = i * units;
        let sum = 0;
        for (let q = 0; q < units; q++) {
          const d = dyd[yo + q]!;
          sum += d * k[ko + q]!;
          gk[ko + q] += xv * d;
        }
        dxd[xo + i] = sum;
      }
    }
    return [dx];
  },
};
