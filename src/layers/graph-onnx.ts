import type { OnnxExport } from "../export/onnx/types.js";

/** Element-wise sum of any number of values of one shape. */
export const addOnnx: OnnxExport<Record<string, never>> = (ctx) => ctx.op("Sum", ctx.inputs);

/** Joined on the last axis. */
export const concatOnnx: OnnxExport<Record<string, never>> = (ctx) => ctx.op("Concat", ctx.inputs, { axis: { int: -1 } });
