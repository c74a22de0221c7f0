import type { Shape } from "../ir/shape.js";

/**
 * A dense float64 tensor, row-major, batch first: [B, F], [B, T, F], [B, H, W, C]
 * (channels last). Parameters use the layouts of LANGUAGE.md §8 (Keras').
 */
export interface Tensor {
  readonly shape: Shape;
  readonly data: Float64Array;
}

export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function zeros(shape: Shape): Tensor {
  return { shape: [...shape], data: new Float64Array(sizeOf(shape)) };
}

export function tensor(shape: Shape, data: ArrayLike<number>): Tensor {
  if (data.length !== sizeOf(shape)) throw new Error(`tensor: ${data.length} values do not fill shape [${shape.join(",")}]`);
  return { shape: [...shape], data: Float64Array.from(data) };
}

export function zerosLike(t: Tensor): Tensor {
  return zeros(t.shape);
}

export function clone(t: Tensor): Tensor {
  return { shape: [...t.shape], data: new Float64Array(t.data) };
}

/** Adds b into a, element by element (gradients accumulate). */
export function addInto(a: Tensor, b: Tensor): void {
  const x = a.data;
  const y = b.data;
  for (let i = 0; i < x.length; i++) x[i]! += y[i]!;
}

/** The batch size: the first dimension. */
export function batchOf(t: Tensor): number {
  return t.shape[0]!;
}
