import { describeValue } from "../ir/values.js";
import { noExtraPositionals } from "./args.js";
import { dropoutKernel } from "./dropout-kernel.js";
import { dropoutEmit } from "./dropout-emit.js";
import { defineLayer } from "./types.js";
import { dropoutOnnx } from "./dropout-onnx.js";
import { dropoutPytorch } from "./dropout-pytorch.js";

export interface DropoutArgs {
  readonly rate: number;
}

const syntax = "dropout P   (0 ≤ P < 1, the probability of dropping)";

export const dropout = defineLayer<DropoutArgs>({
  kind: "dropout",
  syntax,
  description: "inverted dropout: drops with probability P in training, identity in inference",
  resolve(p, r) {
    const a = p.positional[0];
    if (!a) {
      r.error("bad-argument", p.span, `dropout needs a rate: ${syntax}`);
      return undefined;
    }
    if (a.value.type !== "number" || a.value.value < 0 || a.value.value >= 1) {
      r.error("bad-value", a.span, `dropout expects a rate P with 0 ≤ P < 1, got '${describeValue(a.value)}'`);
      return undefined;
    }
    noExtraPositionals("dropout", p, 1, syntax, r);
    return { rate: a.value.value };
  },
  shape: ([x]) => x,
  macs: () => 0,
  kernel: dropoutKernel,
  emit: dropoutEmit,
  onnx: dropoutOnnx,
  pytorch: dropoutPytorch,
});
