import type { PytorchExport } from "../export/pytorch/types.js";
import { pyNumber } from "../export/pytorch/python-text.js";
import type { ActivationArgs } from "./activations.js";
import { DEFAULT_LEAKY_ALPHA } from "./activations-kernel.js";

/** An activation: a torch.nn module standing alone, its functional form after dense/conv. */
function activation(module: (a: ActivationArgs) => string, functional: (x: string, a: ActivationArgs) => string): PytorchExport<ActivationArgs> {
  return (ctx, a) => (ctx.fused ? { call: (_m, [x]) => functional(x!, a) } : { module: module(a), call: (m, [x]) => `${m}(${x})` });
}

export const reluPytorch = activation(() => "torch.nn.ReLU()", (x) => `torch.relu(${x})`);
export const sigmoidPytorch = activation(() => "torch.nn.Sigmoid()", (x) => `torch.sigmoid(${x})`);
export const tanhPytorch = activation(() => "torch.nn.Tanh()", (x) => `torch.tanh(${x})`);
export const linearPytorch = activation(() => "torch.nn.Identity()", (x) => x);
/** Softmax over the last axis. */
export const softmaxPytorch = activation(() => "torch.nn.Softmax(dim=-1)", (x) => `torch.softmax(${x}, dim=-1)`);
export const leakyreluPytorch = activation(
  (a) => `torch.nn.LeakyReLU(${pyNumber(a.alpha ?? DEFAULT_LEAKY_ALPHA)})`,
  (x, a) => `torch.nn.functional.leaky_relu(${x}, ${pyNumber(a.alpha ?? DEFAULT_LEAKY_ALPHA)})`,
);
