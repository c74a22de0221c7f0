// Shared by the dense and conv emitters: their outputs start as the bias, and the product adds onto it.
import type { EmitContext } from "../codegen/emit-types.js";

/**
 * Code filling `target[0 … total)` with rows equal to `w[offset … offset + width)` (a bias):
 * one row by a loop, then copyWithin doubling the filled part — native copies, no allocation.
 */
export function fillRows(target: string, offset: number, width: number, total: string): string {
  return `      // every row starts as the bias
      for (let q = 0; q < ${width}; q++) ${target}[q] = w[${offset} + q];
      for (let len = ${width}, all = ${total}; len < all; len *= 2) ${target}.copyWithin(len, 0, Math.min(len, all - len));`;
}

/** At most this many columns keep their sums in locals in one pass over the rows. */
const SUM_BLOCK = 16;

/**
 * Code adding the column sums of `source[0 … total)`, rows of `width`, onto `g[offset …)` (a
 * bias gradient). For narrow rows (LeNet's 6 and 16 filters: many rows, few columns), up to
 * SUM_BLOCK columns per pass keep their running sums in locals (s0, s1, …), so g is written once
 * per column rather than once per element.
 */
function addColumnSums(source: string, offset: number, width: number, total: string): string {
  // Wide rows: a compact loop (unrolled blocks would grow the module by the width).
  if (width > 2 * SUM_BLOCK) {
    return `      // bias gradient: the column sums of ${source}
      for (let o = 0; o < ${total}; o += ${width}) for (let q = 0; q < ${width}; q++) g[${offset} + q] += ${source}[o + q];`;
  }
  const passes: string[] = [];
  for (let q0 = 0; q0 < width; q0 += SUM_BLOCK) {
    const cols = Array.from({ length: Math.min(SUM_BLOCK, width - q0) }, (_, j) => j);
    passes.push(`{
        ${cols.map((j) => `let s${j} = 0;`).join(" ")}
        for (let o = ${q0}; o < ${total}; o += ${width}) {
          ${cols.map((j) => `s${j} += ${source}[o${j === 0 ? "" : ` + ${j}`}];`).join(" ")}
        }
        ${cols.map((j) => `g[${offset + q0 + j}] += s${j};`).join(" ")}
      }`);
  }
  return `      // bias gradient: the column sums of ${source}
      ${passes.join("\n      ")}`;
}

/**
 * On SIMD kernels, the same column sums as one product: g[offset …) += onesᵀ·source, a tn matmul
 * with M = 1 whose K runs over every row (n · `rowsPerSample` of them): several times faster
 * than the JS loop. `ones` is a per-row scratch of 1s, filled on first use (nothing else writes it).
 */
function columnSumsByProduct(c: EmitContext, source: string, offset: number, width: number, rowsPerSample: number): string {
  const ones = c.scratch("ones", rowsPerSample, true);
  return `      // bias gradient: the column sums of ${source}, as onesᵀ · ${source}
      if (${ones}[0] !== 1) ${ones}.fill(1);
      ${c.helper("matmulTN", width)}(${ones}, 0, ${source}, 0, g, ${offset}, 1, n${rowsPerSample === 1 ? "" : ` * ${rowsPerSample}`}, ${width});`;
}

/** The bias gradient g[offset …) += the column sums of `source` (n · rowsPerSample rows of `width`): one product on SIMD kernels, JS sums otherwise. */
export function biasGradient(c: EmitContext, source: string, offset: number, width: number, rowsPerSample: number): string {
  return c.simdKernels ? columnSumsByProduct(c, source, offset, width, rowsPerSample) : addColumnSums(source, offset, width, `n * ${rowsPerSample * width}`);
}
