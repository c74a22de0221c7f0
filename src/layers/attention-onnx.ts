import type { OnnxExport } from "../export/onnx/types.js";
import type { AttentionArgs } from "./attention.js";

/**
 * Unscaled attention as dlc defines it, with MatMul on [N, Tq, ·] × [N, ·, Tk]: scores (dot,
 * bilinear q·W·kᵀ, or mlp v·tanh(q·Wq + k·Wk) broadcast over [N, Tq, Tk, U]), Softmax over the
 * memory steps, then the weighted sum of memory rows. A query [N, Hq] runs as [N, 1, Hq].
 */
export const attentionOnnx: OnnxExport<AttentionArgs> = (ctx, a) => {
  const [queryShape, memoryShape] = ctx.inputShapes as [number[], number[]];
  const timed = queryShape.length === 2;
  const tq = timed ? queryShape[0]! : 1;
  const [tk, hk] = memoryShape as [number, number];
  const hq = queryShape[queryShape.length - 1]!;
  const memory = ctx.inputs[1]!;
  const query = timed ? ctx.inputs[0]! : ctx.op("Reshape", [ctx.inputs[0]!, ctx.constant([3], [0, 1, hq], "int64")]);
  const memoryT = ctx.op("Transpose", [memory], { perm: { ints: [0, 2, 1] } });
  let scores: string;
  if (a.score === "dot") scores = ctx.op("MatMul", [query, memoryT]);
  else if (a.score === "bilinear") scores = ctx.op("MatMul", [ctx.op("MatMul", [query, ctx.param("kernel")]), memoryT]);
  else {
    const u = a.units ?? hq;
    const qp = ctx.op("Reshape", [ctx.op("MatMul", [query, ctx.param("query_kernel")]), ctx.constant([4], [0, tq, 1, u], "int64")]);
    const kp = ctx.op("Reshape", [ctx.op("MatMul", [memory, ctx.param("memory_kernel")]), ctx.constant([4], [0, 1, tk, u], "int64")]);
    scores = ctx.op("MatMul", [ctx.op("Tanh", [ctx.op("Add", [qp, kp])]), ctx.param("score_vector")]);
  }
  const weights = ctx.op("Softmax", [scores], { axis: { int: -1 } });
  const y = ctx.op("MatMul", [weights, memory]);
  return timed ? y : ctx.op("Reshape", [y, ctx.constant([2], [0, hk], "int64")]);
};
