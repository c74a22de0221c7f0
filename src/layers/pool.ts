import { describeValue } from "../ir/values.js";
import { noExtraPositionals } from "./args.js";
import { readWindow, windowOptions, windowOutput, type Window } from "./geometry.js";
import { poolKernel } from "./pool-kernel.js";
import { poolEmit } from "./pool-emit.js";
import { defineLayer, type LayerDef } from "./types.js";
import { poolOnnx } from "./pool-onnx.js";
import { poolPytorch } from "./pool-pytorch.js";

export type PoolMode = "max" | "avg" | "min";

export interface PoolArgs {
  readonly mode: PoolMode;
  readonly window: Window;
}

function pool(mode: PoolMode): LayerDef<PoolArgs> {
  const kind = `${mode}pool`;
  const syntax = `${kind} K [stride S] [pad P|same|valid] [ceil]`;
  return defineLayer<PoolArgs>({
    kind,
    syntax,
    description: `${mode} pooling over [H,W,C]; stride defaults to K; padded cells are ignored`,
    options: { ...windowOptions, ceil: { type: "flag" } },
    resolve(p, r) {
      const first = p.positional[0];
      if (!first) {
        r.error("bad-argument", p.span, `${kind} needs a window size: ${syntax}`);
        return undefined;
      }
      let k: readonly number[];
      if (first.value.type === "dims" && first.value.dims.length === 2) k = first.value.dims;
      else if (first.value.type === "number" && first.value.isInteger && first.value.value >= 1) k = [first.value.value, first.value.value];
      else {
        r.error("bad-value", first.span, `${kind} expects a window size such as 2 or 2x2, got '${describeValue(first.value)}'`);
        return undefined;
      }
      if (k[0]! < 1 || k[1]! < 1) {
        r.error("bad-value", first.span, `${kind} window must be at least 1x1`);
        return undefined;
      }
      noExtraPositionals(kind, p, 1, syntax, r);
      return { mode, window: readWindow(p, k[0]!, k[1]!, Math.max(k[0]!, k[1]!), r) };
    },
    shape([x], a, ctx) {
      if (!ctx.expectRank(0, [3], "[H,W,C]")) return undefined;
      const out = windowOutput(a.window, x![0]!, x![1]!, ctx);
      return out ? [out[0], out[1], x![2]!] : undefined;
    },
    macs: () => 0,
    kernel: poolKernel,
    emit: poolEmit,
    onnx: poolOnnx,
    pytorch: poolPytorch,
  });
}

export const maxpool = pool("max");
export const avgpool = pool("avg");
export const minpool = pool("min");
