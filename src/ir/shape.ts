/** A tensor shape without the batch dimension. `undefined` means "unknown after an error". */
export type Shape = readonly number[];

export function formatShape(shape: Shape | undefined): string {
  return shape ? `[${shape.join(",")}]` : "[?]";
}

export function product(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Sizes past this cannot be allocated or counted exactly; they are reported, not computed. */
export const MAX_DIMENSION = 2 ** 31 - 1;
