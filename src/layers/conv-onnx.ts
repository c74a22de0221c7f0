import type { OnnxExport } from "../export/onnx/types.js";
import { toChannelsFirst, toChannelsLast } from "../export/onnx/layout.js";
import type { ConvArgs } from "./conv.js";
import { paddingOf } from "./geometry.js";

/**
 * ONNX Conv is channels first with an [F, C, KH, KW] weight: transpose around it, and transpose
 * dlc's [KH, KW, C, F] kernel inside the graph (the initializer keeps dlc's layout and name).
 * `pad same` becomes its explicit (bottom/right-heavy) pads, so no auto_pad convention is relied on.
 */
export const convOnnx: OnnxExport<ConvArgs> = (ctx, a) => {
  const [h, w] = ctx.inputShapes[0]!;
  const { kh, kw, stride } = a.window;
  const p = paddingOf(a.window, h!, w!);
  const weight = ctx.op("Transpose", [ctx.param("kernel")], { perm: { ints: [3, 2, 0, 1] } });
  const inputs = [toChannelsFirst(ctx, ctx.inputs[0]!), weight];
  if (a.bias) inputs.push(ctx.param("bias"));
  const y = ctx.op("Conv", inputs, {
    kernel_shape: { ints: [kh, kw] },
    strides: { ints: [stride, stride] },
    pads: { ints: [p.top, p.left, p.bottom, p.right] },
  });
  return toChannelsLast(ctx, y);
};
