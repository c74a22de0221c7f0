import type { OnnxExport } from "../export/onnx/types.js";
import type { EmbeddingArgs } from "./embedding.js";

/**
 * Rows of the table by token id: Gather on axis 0. The ids arrive as int64 when the input only
 * feeds embeddings, else as float32 whole numbers; the Cast makes both int64 (a no-op for int64).
 */
export const embeddingOnnx: OnnxExport<EmbeddingArgs> = (ctx) => {
  const ids = ctx.op("Cast", [ctx.inputs[0]!], { to: { int: 7 } });
  return ctx.op("Gather", [ctx.param("embeddings"), ids], { axis: { int: 0 } });
};
