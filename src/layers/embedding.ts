import { noExtraPositionals, positiveInt } from "./args.js";
import { embeddingKernel } from "./embedding-kernel.js";
import { embeddingEmit } from "./embedding-emit.js";
import { defineLayer } from "./types.js";
import { embeddingOnnx } from "./embedding-onnx.js";
import { embeddingPytorch } from "./embedding-pytorch.js";

export interface EmbeddingArgs {
  readonly vocabulary: number;
  readonly dimension: number;
}

const syntax = "embedding V D";

export const embedding = defineLayer<EmbeddingArgs>({
  kind: "embedding",
  syntax,
  description: "token ids [T] → vectors [T,D] from a V×D table",
  resolve(p, r) {
    const vocabulary = positiveInt("embedding", p, 0, "a vocabulary size V", syntax, r);
    const dimension = positiveInt("embedding", p, 1, "a vector size D", syntax, r);
    noExtraPositionals("embedding", p, 2, syntax, r);
    return vocabulary === undefined || dimension === undefined ? undefined : { vocabulary, dimension };
  },
  shape([x], a, ctx) {
    if (!ctx.expectRank(0, [1], "[T] (token ids)")) return undefined;
    return [x![0]!, a.dimension];
  },
  params: (_x, a) => [{ name: "embeddings", shape: [a.vocabulary, a.dimension], init: "uniform" }],
  macs: () => 0,
  kernel: embeddingKernel,
  emit: embeddingEmit,
  onnx: embeddingOnnx,
  pytorch: embeddingPytorch,
});
