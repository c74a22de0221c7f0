import { noExtraPositionals, boolOption, positiveInt } from "./args.js";
import { defineLayer } from "./types.js";
import { initFor } from "./init.js";
import { denseKernel } from "./dense-kernel.js";
import { denseEmit } from "./dense-emit.js";
import { denseOnnx } from "./dense-onnx.js";
import { densePytorch } from "./dense-pytorch.js";

export interface DenseArgs {
  readonly units: number;
  readonly bias: boolean;
  readonly activation?: string;
}

const syntax = "dense N [activation] [bias false]";

export const dense = defineLayer<DenseArgs>({
  kind: "dense",
  syntax,
  description: "fully connected layer on the last axis",
  options: { bias: { type: "bool" } },
  takesActivation: true,
  resolve(p, r) {
    const units = positiveInt("dense", p, 0, "a number of units", syntax, r);
    noExtraPositionals("dense", p, 1, syntax, r);
    return units === undefined ? undefined : { units, bias: boolOption(p, "bias", true), activation: p.activation?.kind };
  },
  shape([x], a, ctx) {
    if (!ctx.expectRank(0, [1, 2, 3, 4], "[..., F]")) return undefined;
    return [...x!.slice(0, -1), a.units];
  },
  shapeOfUnknownInput: (a) => [a.units],
  params([x], a) {
    const f = x![x!.length - 1]!;
    const kernel = { name: "kernel", shape: [f, a.units], init: initFor(a.activation) };
    return a.bias ? [kernel, { name: "bias", shape: [a.units], init: "zeros" }] : [kernel];
  },
  macs([x], _out, a) {
    return x!.reduce((n, d) => n * d, 1) * a.units;
  },
  kernel: denseKernel,
  emit: denseEmit,
  onnx: denseOnnx,
  pytorch: densePytorch,
});
