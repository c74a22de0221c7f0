import type { OnnxExport } from "../export/onnx/types.js";
import { toChannelsFirst } from "../export/onnx/layout.js";
import type { UpsampleArgs } from "./reshape.js";

/** [N, …] → [N, product]: row-major, channels last, as dlc flattens. */
export const flattenOnnx: OnnxExport<Record<string, never>> = (ctx) => ctx.op("Flatten", [ctx.inputs[0]!], { axis: { int: 1 } });

/** [N, H, W, C] → [N, C]. */
export const globalAvgPoolOnnx: OnnxExport<Record<string, never>> = (ctx) =>
  ctx.op("Flatten", [ctx.op("GlobalAveragePool", [toChannelsFirst(ctx, ctx.inputs[0]!)])], { axis: { int: 1 } });

/**
 * Nearest neighbour by K: [N, H, 1, W, 1, C] broadcast to [N, H, K, W, K, C], then merged, which
 * is output (i, j) = input (⌊i/K⌋, ⌊j/K⌋) exactly, with no Resize coordinate convention involved.
 * A 0 in Reshape's shape keeps the (symbolic) batch size.
 */
export const upsampleOnnx: OnnxExport<UpsampleArgs> = (ctx, a) => {
  const [h, w, c] = ctx.inputShapes[0]! as [number, number, number];
  const k = a.factor;
  const split = ctx.op("Reshape", [ctx.inputs[0]!, ctx.constant([6], [0, h, 1, w, 1, c], "int64")]);
  const spread = ctx.op("Expand", [split, ctx.constant([6], [1, h, k, w, k, c], "int64")]);
  return ctx.op("Reshape", [spread, ctx.constant([4], [0, h * k, w * k, c], "int64")]);
};
