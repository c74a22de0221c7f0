import type { LayerEmitter } from "../codegen/emit-types.js";
import type { DenseArgs } from "./dense.js";

/** y = x·kernel + bias on the last axis; every leading axis (batch, time) is one more row. */
export const denseEmit: LayerEmitter<DenseArgs> = {
  forward(a, c) {
    const x = c.inShapes[0]!;
    const f = x[x.length - 1]!;
    const rowsPerSample = x.slice(0, -1).reduce((p, d) => p * d, 1);
    const k = c.offset("kernel");
    const init = a.bias ? `w[${c.offset("bias")} + q]` : "0";
    return `
      for (let r = 0; r < n * ${rowsPerSample}; r++) {
        const xo = r * ${f};
        const yo = r * ${a.units};
        for (let q = 0; q < ${a.units}; q++) y[yo + q] = ${init};
        for (let i = 0; i < ${f}; i++) {
          const xv = x0[xo + i];
          if (xv === 0) continue;
          const ko = ${k} + i * ${a.units};
          for (let q = 0; q < ${a.units}; q++) y[yo + q] += xv * w[ko + q];
        }
      }`;
  },
  backward(a, c) {
    const x = c.inShapes[0]!;
    const f = x[x.length - 1]!;
    const rowsPerSample = x.slice(0, -1).reduce((p, d) => p * d, 1);
    const k = c.offset("kernel");
    const bias = a.bias ? `for (let q = 0; q < ${a.units}; q++) g[${c.offset("bias")} + q] += dy[yo + q];` : "";
    const dx = c.needsDx(0);
    return `
      for (let r = 0; r < n * ${rowsPerSample}; r++) {
        const xo = r * ${f};
        const yo = r * ${a.units};
        ${bias}
        for (let i = 0; i < ${f}; i++) {
          const xv = x0[xo + i];
          const ko = ${k} + i * ${a.units};
          ${dx ? "let sum = 0;" : ""}
          for (let q = 0; q < ${a.units}; q++) {
            const d = dy[yo + q];
            ${dx ? "sum += d * w[ko + q];" : ""}
            g[ko + q] += xv * d;
          }
          ${dx ? "dx0[xo + i] += sum;" : ""}
        }
      }`;
  },
};
