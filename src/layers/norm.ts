import { noExtraPositionals } from "./args.js";
import { batchnormKernel, layernormKernel } from "./norm-kernel.js";
import { batchnormEmit, layernormEmit } from "./norm-emit.js";
import { defineLayer } from "./types.js";
import { batchnormOnnx, layernormOnnx } from "./norm-onnx.js";
import { batchnormPytorch, layernormPytorch } from "./norm-pytorch.js";

export const batchnorm = defineLayer<Record<string, never>>({
  kind: "batchnorm",
  syntax: "batchnorm",
  description: "normalises the last axis with batch statistics (eps 1e-3, momentum 0.99, as Keras)",
  resolve(p, r) {
    noExtraPositionals("batchnorm", p, 0, "batchnorm", r);
    return {};
  },
  shape: ([x], _a, ctx) => (ctx.expectRank(0, [1, 2, 3], "[..., C]") ? x : undefined),
  params: ([x]) => {
    const c = x![x!.length - 1]!;
    return [
      { name: "gamma", shape: [c], init: "ones" },
      { name: "beta", shape: [c], init: "zeros" },
    ];
  },
  state: ([x]) => {
    const c = x![x!.length - 1]!;
    return [
      { name: "moving_mean", shape: [c], init: "zeros" },
      { name: "moving_variance", shape: [c], init: "ones" },
    ];
  },
  macs: () => 0,
  kernel: batchnormKernel,
  emit: batchnormEmit,
  onnx: batchnormOnnx,
  pytorch: batchnormPytorch,
});

export const layernorm = defineLayer<Record<string, never>>({
  kind: "layernorm",
  syntax: "layernorm",
  description: "normalises each sample over its last axis (eps 1e-3)",
  resolve(p, r) {
    noExtraPositionals("layernorm", p, 0, "layernorm", r);
    return {};
  },
  shape: ([x], _a, ctx) => (ctx.expectRank(0, [1, 2, 3], "[..., F]") ? x : undefined),
  params: ([x]) => {
    const f = x![x!.length - 1]!;
    return [
      { name: "gamma", shape: [f], init: "ones" },
      { name: "beta", shape: [f], init: "zeros" },
    ];
  },
  macs: () => 0,
  kernel: layernormKernel,
  emit: layernormEmit,
  onnx: layernormOnnx,
  pytorch: layernormPytorch,
});
