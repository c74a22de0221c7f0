import { describeValue } from "../ir/values.js";
import { boolOption, noExtraPositionals } from "./args.js";
import { convKernel } from "./conv-kernel.js";
import { convEmit } from "./conv-emit.js";
import { readWindow, windowOptions, windowOutput, type Window } from "./geometry.js";
import { initFor } from "./init.js";
import { defineLayer } from "./types.js";
import { convOnnx } from "./conv-onnx.js";
import { convPytorch } from "./conv-pytorch.js";

export interface ConvArgs {
  readonly filters: number;
  readonly window: Window;
  readonly bias: boolean;
  readonly activation?: string;
}

const syntax = "conv F KxK [stride S] [pad P|same|valid] [activation] [bias false]";

export const conv = defineLayer<ConvArgs>({
  kind: "conv",
  syntax,
  description: "2-D convolution (cross-correlation) over [H,W,C]",
  options: { ...windowOptions, bias: { type: "bool" } },
  takesActivation: true,
  resolve(p, r) {
    // `conv F KxK`, `conv F K` (K means KxK) or `conv KxK` (one filter).
    const [first, second] = p.positional;
    let filters: number | undefined;
    let kernel: readonly number[] | undefined;
    if (!first) {
      r.error("bad-argument", p.span, `conv needs a kernel size: ${syntax}`);
      return undefined;
    }
    if (first.value.type === "dims") {
      filters = 1;
      kernel = first.value.dims;
      noExtraPositionals("conv", p, 1, syntax, r);
    } else if (first.value.type === "number" && first.value.isInteger && first.value.value >= 1) {
      filters = first.value.value;
      if (!second) {
        r.error("bad-argument", p.span, `conv ${filters} has no kernel size: write conv ${filters} 3x3 (or conv ${filters} 3)`);
        return undefined;
      }
      if (second.value.type === "dims") kernel = second.value.dims;
      else if (second.value.type === "number" && second.value.isInteger && second.value.value >= 1) kernel = [second.value.value, second.value.value];
      else {
        r.error("bad-value", second.span, `conv expects a kernel size such as 3x3, got '${describeValue(second.value)}'`);
        return undefined;
      }
      noExtraPositionals("conv", p, 2, syntax, r);
    } else {
      r.error("bad-value", first.span, `conv expects a number of filters or a kernel size, got '${describeValue(first.value)}'`);
      return undefined;
    }
    if (kernel.length !== 2 || kernel.some((k) => k < 1)) {
      r.error("bad-value", (second ?? first).span, `conv kernel must be KxK with K ≥ 1, got ${kernel.join("x")}`);
      return undefined;
    }
    return { filters, window: readWindow(p, kernel[0]!, kernel[1]!, 1, r), bias: boolOption(p, "bias", true), activation: p.activation?.kind };
  },
  shape([x], a, ctx) {
    if (!ctx.expectRank(0, [3], "[H,W,C]")) return undefined;
    const out = windowOutput(a.window, x![0]!, x![1]!, ctx);
    return out ? [out[0], out[1], a.filters] : undefined;
  },
  params([x], a) {
    const c = x![2]!;
    const { kh, kw } = a.window;
    const kernel = { name: "kernel", shape: [kh, kw, c, a.filters], init: initFor(a.activation), fans: [kh * kw * c, kh * kw * a.filters] as const };
    return a.bias ? [kernel, { name: "bias", shape: [a.filters], init: "zeros" }] : [kernel];
  },
  macs([x], out, a) {
    return out[0]! * out[1]! * a.filters * a.window.kh * a.window.kw * x![2]!;
  },
  kernel: convKernel,
  emit: convEmit,
  onnx: convOnnx,
  pytorch: convPytorch,
});
