import type { LayerEmitter } from "../codegen/emit-types.js";
import type { DropoutArgs } from "./dropout.js";

/**
 * Inverted dropout, as src/layers/dropout-kernel.ts. In training, one `rand()` draw per element
 * in row-major order over the whole batch: the element is kept (scaled by 1/(1−P)) when u ≥ P,
 * so a seeded model draws the same mask as the interpreter. The per-element factor (0 or
 * 1/(1−P)) is kept in the `mask` scratch for backward, and `masked[0]` says whether the last
 * forward applied one (inference is the identity and draws nothing).
 */
export const dropoutEmit: LayerEmitter<DropoutArgs> = {
  forward(a, c) {
    const size = c.outShape.reduce((p, d) => p * d, 1);
    if (a.rate === 0) return `y.set(x0.subarray(0, n * ${size}));`;
    const mask = c.scratch("mask", size, true);
    const masked = c.scratch("masked", 1, false, "int");
    return `
      if (training) {
        ${masked}[0] = 1;
        for (let i = 0; i < n * ${size}; i++) {
          const s = rand() >= ${a.rate} ? ${1 / (1 - a.rate)} : 0;
          ${mask}[i] = s;
          y[i] = x0[i] * s;
        }
      } else {
        ${masked}[0] = 0;
        y.set(x0.subarray(0, n * ${size}));
      }`;
  },
  backward(a, c) {
    if (!c.needsDx(0)) return "";
    const size = c.outShape.reduce((p, d) => p * d, 1);
    if (a.rate === 0) return `for (let i = 0; i < n * ${size}; i++) dx0[i] += dy[i];`;
    const mask = c.scratch("mask", size, true);
    const masked = c.scratch("masked", 1, false, "int");
    return `
      if (${masked}[0] === 1) {
        for (let i = 0; i < n * ${size}; i++) dx0[i] += dy[i] * ${mask}[i];
      } else {
        for (let i = 0; i < n * ${size}; i++) dx0[i] += dy[i];
      }`;
  },
};
