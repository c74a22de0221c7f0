import type { OnnxExport } from "../export/onnx/types.js";
import type { ActivationArgs } from "./activations.js";
import { DEFAULT_LEAKY_ALPHA } from "./activations-kernel.js";

/** An activation that is one ONNX operator on its input. */
function unary(opType: string): OnnxExport<ActivationArgs> {
  return (ctx) => ctx.op(opType, [ctx.inputs[0]!]);
}

export const reluOnnx = unary("Relu");
export const sigmoidOnnx = unary("Sigmoid");
export const tanhOnnx = unary("Tanh");
export const linearOnnx = unary("Identity");
/** Softmax over the last axis (opset 13+ normalises over that one axis only, as dlc does). */
export const softmaxOnnx: OnnxExport<ActivationArgs> = (ctx) => ctx.op("Softmax", [ctx.inputs[0]!], { axis: { int: -1 } });
export const leakyreluOnnx: OnnxExport<ActivationArgs> = (ctx, a) => ctx.op("LeakyRelu", [ctx.inputs[0]!], { alpha: { float: a.alpha ?? DEFAULT_LEAKY_ALPHA } });
