import type { OnnxExport } from "../export/onnx/types.js";
import { channelsFirstOp, windowAttributes } from "../export/onnx/layout.js";
import { paddingOf } from "./geometry.js";
import type { PoolArgs } from "./pool.js";

/**
 * dlc's pools only ever look at real cells (padding and the overhang of a `ceil` window are
 * ignored, an average divides by the real cells). ONNX MaxPool ignores pads too, and AveragePool
 * does with count_include_pad 0; a `ceil` window's overhang becomes extra bottom/right padding,
 * so that floor mode gives dlc's output size without relying on ONNX's ceil_mode rule.
 * minpool is −maxpool(−x).
 */
export const poolOnnx: OnnxExport<PoolArgs> = (ctx, a) => {
  const [h, w] = ctx.inputShapes[0]! as [number, number];
  const [oh, ow] = ctx.outputShape as [number, number];
  const { kh, kw, stride } = a.window;
  const p = paddingOf(a.window, h, w);
  const bottom = Math.max(p.bottom, (oh - 1) * stride + kh - h - p.top);
  const right = Math.max(p.right, (ow - 1) * stride + kw - w - p.left);
  if (Math.max(p.top, bottom) >= kh || Math.max(p.left, right) >= kw) {
    return { refuse: `${a.mode}pool's padding is as wide as its ${kh}x${kw} window: dlc gives 0 where a window holds no real cell, ONNX pools refuse such padding` };
  }
  const attributes = windowAttributes(a.window, { top: p.top, left: p.left, bottom, right });
  return channelsFirstOp(ctx, ctx.inputs[0]!, (x) => {
    if (a.mode === "avg") return ctx.op("AveragePool", [x], { ...attributes, count_include_pad: { int: 0 } });
    if (a.mode === "max") return ctx.op("MaxPool", [x], attributes);
    return ctx.op("Neg", [ctx.op("MaxPool", [ctx.op("Neg", [x])], attributes)]);
  });
};
