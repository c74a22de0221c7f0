import type { EmitContext, LayerEmitter } from "../codegen/emit-types.js";
import type { UpsampleArgs } from "./reshape.js";

type NoArgs = Record<string, never>;

function sizeOf(shape: readonly number[]): number {
  return shape.reduce((p, d) => p * d, 1);
}

/** flatten: the same values, row-major: forward copies x into y, backward adds dy into dx. */
export const flattenEmit: LayerEmitter<NoArgs> = {
  forward: (_a, c) => `
      y.set(x0.subarray(0, n * ${sizeOf(c.outShape)}));`,
  backward: (_a, c) =>
    c.needsDx(0)
      ? `
      for (let i = 0; i < n * ${sizeOf(c.outShape)}; i++) dx0[i] += dy[i];`
      : "",
};

/**
 * globalavgpool: [n, H, W, C] → [n, C], each channel's mean over the H·W cells (summed cell by
 * cell with the channels innermost, then divided, as the interpreter); backward spreads dy/(H·W).
 */
export const globalAvgPoolEmit: LayerEmitter<NoArgs> = {
  forward(_a, c) {
    const { cells, ch } = cellsOf(c);
    return `
      for (let b = 0; b < n; b++) {
        const yo = b * ${ch};
        for (let q = 0; q < ${ch}; q++) y[yo + q] = 0;
        for (let cell = 0; cell < ${cells}; cell++) {
          const xo = (b * ${cells} + cell) * ${ch};
          for (let q = 0; q < ${ch}; q++) y[yo + q] += x0[xo + q];
        }
        for (let q = 0; q < ${ch}; q++) y[yo + q] /= ${cells};
      }`;
  },
  backward(_a, c) {
    if (!c.needsDx(0)) return "";
    const { cells, ch } = cellsOf(c);
    return `
      for (let b = 0; b < n; b++) {
        const yo = b * ${ch};
        for (let cell = 0; cell < ${cells}; cell++) {
          const xo = (b * ${cells} + cell) * ${ch};
          for (let q = 0; q < ${ch}; q++) dx0[xo + q] += dy[yo + q] / ${cells};
        }
      }`;
  },
};

function cellsOf(c: EmitContext): { cells: number; ch: number } {
  const [h, w, ch] = c.inShapes[0]! as [number, number, number];
  return { cells: h * w, ch };
}

/**
 * upsample K (nearest): output (i, j) copies input (⌊i/K⌋, ⌊j/K⌋). The generated loops run over
 * input rows r, the K copies of the row, input columns s and the K copies of the cell, so no
 * division is done per element; backward sums each input cell's K·K gradients in the same
 * (output row-major) order as the interpreter.
 */
export const upsampleEmit: LayerEmitter<UpsampleArgs> = {
  forward(a, c) {
    return upsampleLoops(a, c, "y[yo + ch] = x0[xo + ch];");
  },
  backward(a, c) {
    return c.needsDx(0) ? upsampleLoops(a, c, "dx0[xo + ch] += dy[yo + ch];") : "";
  },
};

function upsampleLoops(a: UpsampleArgs, c: EmitContext, copy: string): string {
  const [h, w, ch] = c.inShapes[0]! as [number, number, number];
  const k = a.factor;
  return `
      for (let b = 0; b < n; b++) {
        for (let r = 0; r < ${h}; r++) {
          const xr = (b * ${h} + r) * ${w * ch};
          for (let du = 0; du < ${k}; du++) {
            const yr = ((b * ${h} + r) * ${k} + du) * ${w * k * ch};
            for (let s = 0; s < ${w}; s++) {
              const xo = xr + s * ${ch};
              for (let dv = 0; dv < ${k}; dv++) {
                const yo = yr + (s * ${k} + dv) * ${ch};
                for (let ch = 0; ch < ${ch}; ch++) ${copy}
              }
            }
          }
        }
      }`;
}
