import type { OnnxExport } from "../export/onnx/types.js";
import { channelsFirstOp, windowAttributes } from "../export/onnx/layout.js";
import type { ConvArgs } from "./conv.js";
import { paddingOf } from "./geometry.js";

/**
 * ONNX Conv is channels first with an [F, C, KH, KW] weight: transpose around it, and transpose
 * dlc's [KH, KW, C, F] kernel inside the graph (the initializer keeps dlc's layout and name).
 * `pad same` becomes its explicit (bottom/right-heavy) pads, so no auto_pad convention is relied on.
 */
export const convOnnx: OnnxExport<ConvArgs> = (ctx, a) => {
  const [h, w] = ctx.inputShapes[0]!;
  const p = paddingOf(a.window, h!, w!);
  const weight = ctx.op("Transpose", [ctx.param("kernel")], { perm: { ints: [3, 2, 0, 1] } });
  return channelsFirstOp(ctx, ctx.inputs[0]!, (x) => {
    const inputs = [x, weight];
    if (a.bias) inputs.push(ctx.param("bias"));
    return ctx.op("Conv", inputs, windowAttributes(a.window, p));
  });
};
