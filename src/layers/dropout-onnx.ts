import type { OnnxExport } from "../export/onnx/types.js";

/** Inference: dropout passes its input through. */
export const dropoutOnnx: OnnxExport<unknown> = (ctx) => ctx.op("Identity", [ctx.inputs[0]!]);
