// Shared by the dense and conv emitters: their outputs start as the bias, and the product adds onto it.
/**
 * Code filling `target[0 … total)` with rows equal to `w[offset … offset + width)` (a bias):
 * one row by a loop, then copyWithin doubling the filled part — native copies, no allocation.
 */
export function fillRows(target: string, offset: number, width: number, total: string): string {
  return `      // every row starts as the bias
      for (let q = 0; q < ${width}; q++) ${target}[q] = w[${offset} + q];
      for (let len = ${width}, all = ${total}; len < all; len *= 2) ${target}.copyWithin(len, 0, Math.min(len, all - len));`;
}
