import { describeValue } from "../ir/values.js";
import { sameShape } from "../ir/shape.js";
import { formatShape } from "../ir/shape.js";
import { addKernel, concatKernel } from "./graph-kernel.js";
import { addEmit, concatEmit } from "./graph-emit.js";
import { defineLayer } from "./types.js";
import { addOnnx, concatOnnx } from "./graph-onnx.js";
import { addPytorch, concatPytorch } from "./graph-pytorch.js";

export interface InputArgs {
  readonly shape: readonly number[];
}

const inputSyntax = "input SHAPE   (e.g. input 28x28x1, input 784, input 50x32)";

/** `input 28x28x1`: where a network (or one of its named inputs) starts. */
export const input = defineLayer<InputArgs>({
  kind: "input",
  syntax: inputSyntax,
  description: "declares an input and its shape (batch dimension implicit)",
  structural: true,
  resolve(p, r) {
    const dims: number[] = [];
    for (const a of p.positional) {
      if (a.value.type === "dims") for (const d of a.value.dims) dims.push(d);
      else if (a.value.type === "number" && a.value.isInteger) dims.push(a.value.value);
      else {
        r.error("bad-value", a.span, `input expects a shape such as 28x28x1, got '${describeValue(a.value)}'`);
        return undefined;
      }
    }
    if (dims.length === 0) {
      r.error("bad-argument", p.span, `input needs a shape: ${inputSyntax}`);
      return undefined;
    }
    if (dims.some((d) => d < 1)) {
      r.error("bad-value", p.span, `input sizes must be positive, got ${dims.join("x")}`);
      return undefined;
    }
    return { shape: dims };
  },
  shape: (_x, a) => a.shape,
  macs: () => 0,
});

/** `add a b …`: element-wise sum (a residual's join is one too). */
export const add = defineLayer<Record<string, never>>({
  kind: "add",
  syntax: "add NAME [NAME …]   (one name: the current value plus NAME)",
  description: "element-wise sum of values of one shape",
  takesReferences: true,
  structural: true,
  resolve: () => ({}),
  shape(xs, _a, ctx) {
    const first = xs[0]!;
    for (let i = 1; i < xs.length; i++) {
      if (!sameShape(first, xs[i]!)) {
        ctx.error("shape-mismatch", `add needs inputs of one shape, got ${ctx.describeInput(0)} and ${ctx.describeInput(i)}`);
        return undefined;
      }
    }
    return first;
  },
  macs: () => 0,
  kernel: addKernel,
  emit: addEmit,
  onnx: addOnnx,
  pytorch: addPytorch,
});

/** `concat a b …`: join on the last axis (a parallel's join is one too). */
export const concat = defineLayer<Record<string, never>>({
  kind: "concat",
  syntax: "concat NAME [NAME …]   (one name: the current value, then NAME)",
  description: "concatenation on the last axis; all other axes must agree",
  takesReferences: true,
  structural: true,
  resolve: () => ({}),
  shape(xs, _a, ctx) {
    const first = xs[0]!;
    let last = 0;
    for (let i = 0; i < xs.length; i++) {
      const x = xs[i]!;
      if (x.length !== first.length || !sameShape(x.slice(0, -1), first.slice(0, -1))) {
        ctx.error("shape-mismatch", `concat joins on the last axis and needs all other axes equal, got ${ctx.describeInput(0)} and ${ctx.describeInput(i)}`);
        return undefined;
      }
      last += x[x.length - 1]!;
    }
    return [...first.slice(0, -1), last];
  },
  macs: () => 0,
  kernel: concatKernel,
  emit: concatEmit,
  onnx: concatOnnx,
  pytorch: concatPytorch,
});

export { formatShape };
