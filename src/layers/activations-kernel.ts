import { type Tensor } from "../interp/tensor.js";
import type { ActivationArgs } from "./activations.js";
import type { LayerKernel } from "./types.js";

/** leakyrelu's slope when none is written (and when dense/conv carry `leakyrelu` bare). */
export const DEFAULT_LEAKY_ALPHA = 0.01;

function same(t: Tensor): Tensor {
  return { shape: [...t.shape], data: new Float64Array(t.data.length) };
}

type Elementwise = "relu" | "leakyrelu" | "sigmoid" | "tanh" | "linear";

/** y = f(x) element by element; a plain loop per kind (no per-element calls). */
function applyForward(kind: Elementwise, x: Float64Array, y: Float64Array, alpha: number): void {
  const n = x.length;
  switch (kind) {
    case "relu":
      for (let i = 0; i < n; i++) y[i] = x[i]! > 0 ? x[i]! : 0;
      return;
    case "leakyrelu":
      for (let i = 0; i < n; i++) y[i] = x[i]! > 0 ? x[i]! : alpha * x[i]!;
      return;
    case "sigmoid":
      // Stable on both sides: e^t is only ever taken of a non-positive t.
      for (let i = 0; i < n; i++) {
        const v = x[i]!;
        if (v >= 0) y[i] = 1 / (1 + Math.exp(-v));
        else {
          const e = Math.exp(v);
          y[i] = e / (1 + e);
        }
      }
      return;
    case "tanh":
      for (let i = 0; i < n; i++) y[i] = Math.tanh(x[i]!);
      return;
    case "linear":
      y.set(x);
      return;
  }
}

/** dx = dy·f′, with f′ written in terms of x or y. At exactly 0, relu's slope is 0 and leakyrelu's alpha (as TensorFlow and PyTorch). */
function applyBackward(kind: Elementwise, dy: Float64Array, x: Float64Array, y: Float64Array, dx: Float64Array, alpha: number): void {
  const n = dy.length;
  switch (kind) {
    case "relu":
      for (let i = 0; i < n; i++) dx[i] = x[i]! > 0 ? dy[i]! : 0;
      return;
    case "leakyrelu":
      for (let i = 0; i < n; i++) dx[i] = x[i]! > 0 ? dy[i]! : alpha * dy[i]!;
      return;
    case "sigmoid":
      for (let i = 0; i < n; i++) dx[i] = dy[i]! * y[i]! * (1 - y[i]!);
      return;
    case "tanh":
      for (let i = 0; i < n; i++) dx[i] = dy[i]! * (1 - y[i]! * y[i]!);
      return;
    case "linear":
      dx.set(dy);
      return;
  }
}

function elementwise(kind: Elementwise): LayerKernel<ActivationArgs> {
  return {
    forward([x], _p, a) {
      const y = same(x!);
      applyForward(kind, x!.data, y.data, a.alpha ?? DEFAULT_LEAKY_ALPHA);
      return { y };
    },
    backward(dy, [x], y, _cache, _p, _g, a) {
      const dx = same(dy);
      applyBackward(kind, dy.data, x!.data, y.data, dx.data, a.alpha ?? DEFAULT_LEAKY_ALPHA);
      return [dx];
    },
  };
}

export const reluKernel = elementwise("relu");
export const leakyreluKernel = elementwise("leakyrelu");
export const sigmoidKernel = elementwise("sigmoid");
export const tanhKernel = elementwise("tanh");
export const linearKernel = elementwise("linear");

/** Softmax over the last axis, shifted by each row's maximum; dx = y ⊙ (dy − Σ dy·y). */
export const softmaxKernel: LayerKernel<ActivationArgs> = {
  forward([x]) {
    const n = x!.shape[x!.shape.length - 1]!;
    const xd = x!.data;
    const y = same(x!);
    const yd = y.data;
    for (let o = 0; o < xd.length; o += n) {
      let max = -Infinity;
      for (let i = 0; i < n; i++) max = Math.max(max, xd[o + i]!);
      let sum = 0;
      for (let i = 0; i < n; i++) {
        const e = Math.exp(xd[o + i]! - max);
        yd[o + i] = e;
        sum += e;
      }
      for (let i = 0; i < n; i++) yd[o + i] /= sum;
    }
    return { y };
  },
  backward(dy, _xs, y) {
    const n = y.shape[y.shape.length - 1]!;
    const yd = y.data;
    const dx = same(dy);
    for (let o = 0; o < yd.length; o += n) {
      let dot = 0;
      for (let i = 0; i < n; i++) dot += dy.data[o + i]! * yd[o + i]!;
      for (let i = 0; i < n; i++) dx.data[o + i] = yd[o + i]! * (dy.data[o + i]! - dot);
    }
    return [dx];
  },
};
