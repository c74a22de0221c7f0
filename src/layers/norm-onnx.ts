import type { OnnxExport } from "../export/onnx/types.js";
import { NORM_EPSILON } from "./norm-kernel.js";

/**
 * Inference batchnorm on the last axis, from the running statistics:
 * (x − mean) / √(var + eps) · γ + β, broadcast over [N, …, C] (no layout change needed).
 */
export const batchnormOnnx: OnnxExport<Record<string, never>> = (ctx) => {
  const std = ctx.op("Sqrt", [ctx.op("Add", [ctx.param("moving_variance"), ctx.constant([], [NORM_EPSILON], "float")])]);
  const normalised = ctx.op("Div", [ctx.op("Sub", [ctx.inputs[0]!, ctx.param("moving_mean")]), std]);
  return ctx.op("Add", [ctx.op("Mul", [normalised, ctx.param("gamma")]), ctx.param("beta")]);
};

/** Each row of the last axis on its own mean and biased variance: ONNX LayerNormalization (opset 17). */
export const layernormOnnx: OnnxExport<Record<string, never>> = (ctx) =>
  ctx.op("LayerNormalization", [ctx.inputs[0]!, ctx.param("gamma"), ctx.param("beta")], { axis: { int: -1 }, epsilon: { float: NORM_EPSILON } });
