import type { Shape } from "../ir/shape.js";
import type { Tensor } from "../interp/tensor.js";

/**
 * A data file in memory, compact: every input's samples in ONE Float64Array, row-major
 * [size, ...shape], and the targets likewise. Sample i of an input is
 * `data.subarray(i * width, (i + 1) * width)` with width = product(shape). The object fits
 * the interpreter's `ArrayData` (src/interp/array-dataset.ts) as it is.
 */
export interface Dataset {
  /** The number of samples. */
  readonly size: number;
  /** One entry per network input, in the network's input order. */
  readonly inputs: readonly InputSamples[];
  /** Absent when the file has no targets (allowed for `dlc run`). */
  readonly targets?: TargetSamples;
  /** The file(s) it came from, for messages. */
  readonly source: string;
}

export interface InputSamples {
  readonly name: string;
  /** One sample's shape. */
  readonly shape: Shape;
  /** [size, ...shape]. */
  readonly data: Float64Array;
}

export type TargetSamples =
  /** Targets shaped like the output: [size, ...outputShape]. */
  | { readonly kind: "values"; readonly shape: Shape; readonly data: Float64Array }
  /**
   * Class indices (cross_entropy): one per position of the output without its last axis —
   * one per sample for a [V] output, T per sample for [T,V]. `data` is [size, ...shape].
   */
  | { readonly kind: "classes"; readonly shape: Shape; readonly perSample: number; readonly classes: number; readonly data: Int32Array };

function widthOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Samples `indices` of one input as a batch tensor [B, ...shape] (a copy). */
export function gatherInput(input: InputSamples, indices: ArrayLike<number>): Tensor {
  const width = widthOf(input.shape);
  const data = new Float64Array(indices.length * width);
  for (let row = 0; row < indices.length; row++) {
    const s = indices[row]!;
    data.set(input.data.subarray(s * width, (s + 1) * width), row * width);
  }
  return { shape: [indices.length, ...input.shape], data };
}

/** Samples start … start+count−1 of one input as a batch tensor, sharing memory (no copy). */
export function sliceInput(input: InputSamples, start: number, count: number): Tensor {
  const width = widthOf(input.shape);
  return { shape: [count, ...input.shape], data: input.data.subarray(start * width, (start + count) * width) };
}
