import type { LayerEmitter } from "../codegen/emit-types.js";
import type { EmbeddingArgs } from "./embedding.js";

/**
 * embedding: token ids (numbers holding integers) [n, T] → rows of `embeddings` [V, D]: [n, T, D].
 * Forward checks every id (a whole number in 0 … V−1, else a RangeError naming the sample and
 * position, as the interpreter does) and copies its row; backward adds dy into the rows that
 * were read. Ids are not differentiable: no dx.
 */
export const embeddingEmit: LayerEmitter<EmbeddingArgs> = {
  forward(a, c) {
    const tokens = c.inShapes[0]!.reduce((p, d) => p * d, 1);
    const d = a.dimension;
    return `
      for (let t = 0; t < n * ${tokens}; t++) {
        const id = x0[t];
        if (!(Number.isInteger(id) && id >= 0 && id < ${a.vocabulary})) {
          const why = Number.isInteger(id) ? "outside the vocabulary 0…${a.vocabulary - 1}" : "not a whole number";
          throw new RangeError(\`embedding: token id \${id} at sample \${this.firstRow + Math.floor(t / ${tokens})}, position \${t % ${tokens}} (counting from 0) is \${why}\`);
        }
        const ro = ${c.offset("embeddings")} + id * ${d};
        const yo = t * ${d};
        for (let j = 0; j < ${d}; j++) y[yo + j] = w[ro + j];
      }`;
  },
  backward(a, c) {
    const tokens = c.inShapes[0]!.reduce((p, d) => p * d, 1);
    const d = a.dimension;
    return `
      for (let t = 0; t < n * ${tokens}; t++) {
        const go = ${c.offset("embeddings")} + x0[t] * ${d};
        const yo = t * ${d};
        for (let j = 0; j < ${d}; j++) g[go + j] += dy[yo + j];
      }`;
  },
};
