import type { Padding, Window } from "../../layers/geometry.js";
import type { OnnxAttribute, OnnxContext } from "./types.js";

/** dlc's [N, H, W, C] → ONNX's [N, C, H, W], for ops that only take channels first. */
export function toChannelsFirst(ctx: OnnxContext, x: string): string {
  return ctx.op("Transpose", [x], { perm: { ints: [0, 3, 1, 2] } });
}

/** ONNX's [N, C, H, W] → dlc's [N, H, W, C]. */
function toChannelsLast(ctx: OnnxContext, x: string): string {
  return ctx.op("Transpose", [x], { perm: { ints: [0, 2, 3, 1] } });
}

/** A channels-first op (Conv, the pools) on dlc's channels-last `x`: transposes on either side. */
export function channelsFirstOp(ctx: OnnxContext, x: string, op: (channelsFirst: string) => string): string {
  return toChannelsLast(ctx, op(toChannelsFirst(ctx, x)));
}

/** A 2-D window's kernel_shape, strides and pads (ONNX's order: top, left, bottom, right). */
export function windowAttributes(window: Window, p: Padding): Record<string, OnnxAttribute> {
  return {
    kernel_shape: { ints: [window.kh, window.kw] },
    strides: { ints: [window.stride, window.stride] },
    pads: { ints: [p.top, p.left, p.bottom, p.right] },
  };
}
