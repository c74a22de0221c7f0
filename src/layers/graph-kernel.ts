import { zeros, type Tensor } from "../interp/tensor.js";
import type { LayerKernel } from "./types.js";

type NoArgs = Record<string, never>;

function shapeText(t: Tensor): string {
  return `[${t.shape.join(",")}]`;
}

/** Element-wise sum of any number of inputs of one shape; each input's gradient is dy. */
export const addKernel: LayerKernel<NoArgs> = {
  forward(xs) {
    const y: Tensor = { shape: [...xs[0]!.shape], data: new Float64Array(xs[0]!.data) };
    for (let k = 1; k < xs.length; k++) {
      const xd = xs[k]!.data;
      if (xd.length !== y.data.length) throw new Error(`add: inputs ${shapeText(xs[0]!)} and ${shapeText(xs[k]!)} differ`);
      for (let i = 0; i < xd.length; i++) y.data[i] += xd[i]!;
    }
    return { y };
  },
  backward(dy, xs) {
    return xs.map((x) => ({ shape: [...x.shape], data: new Float64Array(dy.data) }));
  },
};

/** Concatenation of any number of inputs on the last axis; every other axis agrees. */
export const concatKernel: LayerKernel<NoArgs> = {
  forward(xs) {
    const first = xs[0]!;
    const lead = first.shape.slice(0, -1);
    const rows = first.data.length / first.shape[first.shape.length - 1]!;
    const widths = xs.map((x) => x.shape[x.shape.length - 1]!);
    const total = widths.reduce((s, w) => s + w, 0);
    xs.forEach((x, k) => {
      if (x.data.length !== rows * widths[k]!) throw new Error(`concat: inputs ${shapeText(first)} and ${shapeText(x)} differ outside the last axis`);
    });
    const y = zeros([...lead, total]);
    let offset = 0;
    xs.forEach((x, k) => {
      const w = widths[k]!;
      for (let r = 0; r < rows; r++) y.data.set(x.data.subarray(r * w, r * w + w), r * total + offset);
      offset += w;
    });
    return { y };
  },
  backward(dy, xs) {
    const total = dy.shape[dy.shape.length - 1]!;
    const rows = dy.data.length / total;
    let offset = 0;
    return xs.map((x) => {
      const w = x.shape[x.shape.length - 1]!;
      const dx = zeros(x.shape);
      for (let r = 0; r < rows; r++) dx.data.set(dy.data.subarray(r * total + offset, r * total + offset + w), r * w);
      offset += w;
      return dx;
    });
  },
};
