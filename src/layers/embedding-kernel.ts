import { zeros, type Tensor } from "../interp/tensor.js";
import type { EmbeddingArgs } from "./embedding.js";
import type { LayerKernel } from "./types.js";

/** `sample 3, position 7`: where flat index i sits in a batch-first id tensor, counting from 0. */
function positionOf(shape: readonly number[], i: number): string {
  const index: number[] = [];
  for (let axis = shape.length - 1; axis >= 0; axis--) {
    index.unshift(i % shape[axis]!);
    i = Math.floor(i / shape[axis]!);
  }
  const [sample, ...rest] = index;
  return rest.length === 0 ? `sample ${sample}` : `sample ${sample}, position ${rest.join(",")}`;
}

/** The row of each id, or an Error naming the first bad id and where it is. */
function rowsOf(x: Tensor, vocabulary: number): Int32Array {
  const rows = new Int32Array(x.data.length);
  for (let i = 0; i < rows.length; i++) {
    const id = x.data[i]!;
    if (!Number.isInteger(id) || id < 0 || id >= vocabulary) {
      const why = Number.isInteger(id) ? `outside the vocabulary 0…${vocabulary - 1}` : "not a whole number";
      throw new Error(`embedding: token id ${id} at ${positionOf(x.shape, i)} (counting from 0) is ${why}`);
    }
    rows[i] = id;
  }
  return rows;
}

/**
 * Token ids (float64 values holding integers) [B, T] → rows of `embeddings` [V, D]: [B, T, D].
 * Ids are not differentiable: dx is zero; backward adds dy into the rows that were read.
 */
export const embeddingKernel: LayerKernel<EmbeddingArgs> = {
  forward([x], p, a) {
    const d = a.dimension;
    const rows = rowsOf(x!, a.vocabulary);
    const table = p.embeddings!.data;
    const y = zeros([...x!.shape, d]);
    for (let i = 0; i < rows.length; i++) y.data.set(table.subarray(rows[i]! * d, rows[i]! * d + d), i * d);
    return { y, cache: rows };
  },

  backward(dy, [x], _y, cache, _p, g, a) {
    const d = a.dimension;
    const rows = (cache as Int32Array | undefined) ?? rowsOf(x!, a.vocabulary);
    const gTable = g.embeddings!.data;
    for (let i = 0; i < rows.length; i++) {
      const go = rows[i]! * d;
      const yo = i * d;
      for (let j = 0; j < d; j++) gTable[go + j] += dy.data[yo + j]!;
    }
    return [zeros(x!.shape)];
  },
};
