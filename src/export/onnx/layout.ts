import type { OnnxContext } from "./types.js";

/** dlc's [N, H, W, C] → ONNX's [N, C, H, W], for ops that only take channels first. */
export function toChannelsFirst(ctx: OnnxContext, x: string): string {
  return ctx.op("Transpose", [x], { perm: { ints: [0, 3, 1, 2] } });
}

/** ONNX's [N, C, H, W] → dlc's [N, H, W, C]. */
export function toChannelsLast(ctx: OnnxContext, x: string): string {
  return ctx.op("Transpose", [x], { perm: { ints: [0, 2, 3, 1] } });
}
