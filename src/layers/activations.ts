import { describeValue } from "../ir/values.js";
import { noExtraPositionals } from "./args.js";
import {
  DEFAULT_LEAKY_ALPHA,
  leakyreluKernel,
  linearKernel,
  reluKernel,
  sigmoidKernel,
  softmaxKernel,
  tanhKernel,
} from "./activations-kernel.js";
import { leakyreluEmit, linearEmit, reluEmit, sigmoidEmit, softmaxEmit, tanhEmit } from "./activations-emit.js";
import type { LayerEmitter } from "../codegen/emit-types.js";
import { defineLayer, type LayerDef, type LayerKernel } from "./types.js";
import { leakyreluOnnx, linearOnnx, reluOnnx, sigmoidOnnx, softmaxOnnx, tanhOnnx } from "./activations-onnx.js";
import type { OnnxExport } from "../export/onnx/types.js";
import type { PytorchExport } from "../export/pytorch/types.js";
import { leakyreluPytorch, linearPytorch, reluPytorch, sigmoidPytorch, softmaxPytorch, tanhPytorch } from "./activations-pytorch.js";

export interface ActivationArgs {
  /** leakyrelu's slope for negative inputs. */
  readonly alpha?: number;
}

function activation(kind: string, description: string, kernel: LayerKernel<ActivationArgs>, emit: LayerEmitter<ActivationArgs>, onnx: OnnxExport<ActivationArgs>, pytorch: PytorchExport<ActivationArgs>): LayerDef<ActivationArgs> {
  return defineLayer<ActivationArgs>({
    kind,
    syntax: kind,
    description,
    isActivation: true,
    resolve(p, r) {
      noExtraPositionals(kind, p, 0, kind, r);
      return {};
    },
    shape: ([x]) => x,
    macs: () => 0,
    kernel,
    emit,
    onnx,
    pytorch,
  });
}

export const relu = activation("relu", "max(0, x)", reluKernel, reluEmit, reluOnnx, reluPytorch);
export const sigmoid = activation("sigmoid", "1 / (1 + e^-x)", sigmoidKernel, sigmoidEmit, sigmoidOnnx, sigmoidPytorch);
export const tanh = activation("tanh", "hyperbolic tangent", tanhKernel, tanhEmit, tanhOnnx, tanhPytorch);
export const softmax = activation("softmax", "softmax over the last axis", softmaxKernel, softmaxEmit, softmaxOnnx, softmaxPytorch);
export const linear = activation("linear", "identity", linearKernel, linearEmit, linearOnnx, linearPytorch);

export const leakyrelu = defineLayer<ActivationArgs>({
  kind: "leakyrelu",
  syntax: "leakyrelu [alpha]   (alpha defaults to 0.01)",
  description: "x for x > 0, alpha·x otherwise",
  isActivation: true,
  options: { alpha: { type: "number", min: 0 } },
  resolve(p, r) {
    const a = p.positional[0];
    if (a && (a.value.type !== "number" || a.value.value < 0)) {
      r.error("bad-value", a.span, `leakyrelu expects a slope alpha ≥ 0, got '${describeValue(a.value)}'`);
      return undefined;
    }
    noExtraPositionals("leakyrelu", p, 1, "leakyrelu [alpha]", r);
    const option = p.options.get("alpha");
    const fromOption = option && option.value !== true && option.value.type === "number" ? option.value.value : undefined;
    return { alpha: a?.value.type === "number" ? a.value.value : (fromOption ?? DEFAULT_LEAKY_ALPHA) };
  },
  shape: ([x]) => x,
  macs: () => 0,
  kernel: leakyreluKernel,
  emit: leakyreluEmit,
  onnx: leakyreluOnnx,
  pytorch: leakyreluPytorch,
});
