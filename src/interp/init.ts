import type { Shape } from "../ir/shape.js";
import type { ParamSpec } from "../layers/types.js";
import { normal } from "./random.js";
import { sizeOf, zeros, type Tensor } from "./tensor.js";

/** Fan-in and fan-out as Keras computes them: [in, out] matrices, or the spec's own fans (conv). */
function fans(spec: ParamSpec): [number, number] {
  if (spec.fans) return [spec.fans[0], spec.fans[1]];
  const s: Shape = spec.shape;
  if (s.length === 1) return [s[0]!, s[0]!];
  return [sizeOf(s.slice(0, -1)), s[s.length - 1]!];
}

/** A fresh parameter: Glorot uniform, He uniform (relu layers), orthogonal (recurrent), zeros, ones. */
export function initParam(spec: ParamSpec, random: () => number): Tensor {
  const t = zeros(spec.shape);
  const d = t.data;
  const uniform = (limit: number): void => {
    for (let i = 0; i < d.length; i++) d[i] = (random() * 2 - 1) * limit;
  };
  const [fanIn, fanOut] = fans(spec);
  switch (spec.init) {
    case "zeros":
      break;
    case "ones":
      d.fill(1);
      break;
    case "glorot":
      uniform(Math.sqrt(6 / (fanIn + fanOut)));
      break;
    case "he":
      uniform(Math.sqrt(6 / fanIn));
      break;
    case "uniform":
      uniform(0.05);
      break;
    case "orthogonal":
      orthogonal(t, random);
      break;
  }
  return t;
}

/** Rows of a [rows, cols] matrix made orthonormal (Gram–Schmidt on normal samples), as Keras' Orthogonal. */
function orthogonal(t: Tensor, random: () => number): void {
  const rows = t.shape[0]!;
  const cols = sizeOf(t.shape) / rows;
  const d = t.data;
  for (let i = 0; i < d.length; i++) d[i] = normal(random);
  if (rows > cols) return;
  for (let r = 0; r < rows; r++) {
    const row = r * cols;
    for (let q = 0; q < r; q++) {
      const other = q * cols;
      let dot = 0;
      for (let c = 0; c < cols; c++) dot += d[row + c]! * d[other + c]!;
      for (let c = 0; c < cols; c++) d[row + c]! -= dot * d[other + c]!;
    }
    let norm = 0;
    for (let c = 0; c < cols; c++) norm += d[row + c]! * d[row + c]!;
    norm = Math.sqrt(norm) || 1;
    for (let c = 0; c < cols; c++) d[row + c]! /= norm;
  }
}
