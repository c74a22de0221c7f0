import type { OnnxExport } from "../export/onnx/types.js";
import type { DenseArgs } from "./dense.js";

/** x·kernel (+ bias) on the last axis: MatMul broadcasts over [N, …, F] as dlc's dense does. */
export const denseOnnx: OnnxExport<DenseArgs> = (ctx, a) => {
  const y = ctx.op("MatMul", [ctx.inputs[0]!, ctx.param("kernel")]);
  return a.bias ? ctx.op("Add", [y, ctx.param("bias")]) : y;
};
