import type { PythonHelper, PytorchExport } from "../export/pytorch/types.js";
import type { EmbeddingArgs } from "./embedding.js";

const embeddingHelper: PythonHelper = {
  name: "DlcEmbedding",
  code: `class DlcEmbedding(torch.nn.Embedding):
    """torch.nn.Embedding on token ids: int64, or whole numbers in a float tensor (an input that
    also feeds other layers), which must be whole."""

    def forward(self, ids):
        if ids.is_floating_point():
            if not torch.equal(ids, torch.round(ids)):
                raise ValueError("embedding: a token id is not a whole number")
            ids = ids.long()
        return super().forward(ids)
`,
};

/** The table is dlc's `embeddings` [V, D] as is. */
export const embeddingPytorch: PytorchExport<EmbeddingArgs> = (_ctx, a) => ({
  module: `DlcEmbedding(${a.vocabulary}, ${a.dimension})`,
  call: (m, [x]) => `${m}(${x})`,
  helpers: [embeddingHelper],
  weights: [{ name: "embeddings", read: (m) => `${m}.weight`, write: (m, v) => `${m}.weight.copy_(${v})` }],
});
