import { noExtraPositionals, positiveInt } from "./args.js";
import { flattenKernel, globalAvgPoolKernel, upsampleKernel } from "./reshape-kernel.js";
import { flattenEmit, globalAvgPoolEmit, upsampleEmit } from "./reshape-emit.js";
import { defineLayer } from "./types.js";
import { flattenOnnx, globalAvgPoolOnnx, upsampleOnnx } from "./reshape-onnx.js";
import { flattenPytorch, globalAvgPoolPytorch, upsamplePytorch } from "./reshape-pytorch.js";

export const flatten = defineLayer<Record<string, never>>({
  kind: "flatten",
  syntax: "flatten",
  description: "any shape → [product of its sizes]",
  resolve(p, r) {
    noExtraPositionals("flatten", p, 0, "flatten", r);
    return {};
  },
  shape: ([x]) => [x!.reduce((n, d) => n * d, 1)],
  macs: () => 0,
  kernel: flattenKernel,
  emit: flattenEmit,
  onnx: flattenOnnx,
  pytorch: flattenPytorch,
});

export const globalavgpool = defineLayer<Record<string, never>>({
  kind: "globalavgpool",
  syntax: "globalavgpool",
  description: "[H,W,C] → [C], the mean of each channel",
  resolve(p, r) {
    noExtraPositionals("globalavgpool", p, 0, "globalavgpool", r);
    return {};
  },
  shape([x], _a, ctx) {
    if (!ctx.expectRank(0, [3], "[H,W,C]")) return undefined;
    return [x![2]!];
  },
  macs: () => 0,
  kernel: globalAvgPoolKernel,
  emit: globalAvgPoolEmit,
  onnx: globalAvgPoolOnnx,
  pytorch: globalAvgPoolPytorch,
});

export interface UpsampleArgs {
  readonly factor: number;
}

export const upsample = defineLayer<UpsampleArgs>({
  kind: "upsample",
  syntax: "upsample K",
  description: "[H,W,C] → [K·H, K·W, C], nearest neighbour (for U-Net decoders)",
  resolve(p, r) {
    const factor = positiveInt("upsample", p, 0, "a factor", "upsample K", r);
    noExtraPositionals("upsample", p, 1, "upsample K", r);
    return factor === undefined ? undefined : { factor };
  },
  shape([x], a, ctx) {
    if (!ctx.expectRank(0, [3], "[H,W,C]")) return undefined;
    return [x![0]! * a.factor, x![1]! * a.factor, x![2]!];
  },
  macs: () => 0,
  kernel: upsampleKernel,
  emit: upsampleEmit,
  onnx: upsampleOnnx,
  pytorch: upsamplePytorch,
});
