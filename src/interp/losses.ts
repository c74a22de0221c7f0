import type { LossKind } from "../ir/types.js";
import { zeros, type Tensor } from "./tensor.js";

/** What a batch is compared with: values shaped like the output, or class indices. */
export type Targets =
  | { readonly kind: "values"; readonly tensor: Tensor }
  /** One class per sample ([B,V] output) or per position ([B,T,V] output): B·P indices. */
  | { readonly kind: "classes"; readonly indices: Int32Array };

export interface LossResult {
  /** Summed over a sample's outputs, averaged over the batch (§6). */
  readonly loss: number;
  /** dL/da, or dL/dz when `fused` (z the input of the final softmax/sigmoid). */
  readonly grad: Tensor;
}

/**
 * The three losses of §6. With `fused`, `z` holds the logits before the network's final softmax
 * (cross_entropy) or sigmoid (binary_cross_entropy), and the gradient is the stable `a − y`.
 */
export function computeLoss(kind: LossKind, a: Tensor, z: Tensor | undefined, targets: Targets, fused: boolean): LossResult {
  const batch = a.shape[0]!;
  const width = a.shape[a.shape.length - 1]!;
  const grad = zeros(a.shape);
  const g = grad.data;
  const out = a.data;
  const y = dense(targets, a.shape, width);
  let total = 0;
  switch (kind) {
    case "squared":
      for (let i = 0; i < out.length; i++) {
        const d = out[i]! - y[i]!;
        total += 0.5 * d * d;
        g[i] = d / batch;
      }
      break;
    case "cross_entropy":
      if (fused && z) {
        const logits = z.data;
        for (let row = 0; row < out.length; row += width) {
          let max = -Infinity;
          for (let j = 0; j < width; j++) max = Math.max(max, logits[row + j]!);
          let sum = 0;
          for (let j = 0; j < width; j++) sum += Math.exp(logits[row + j]! - max);
          const logSum = max + Math.log(sum);
          for (let j = 0; j < width; j++) {
            const t = y[row + j]!;
            if (t !== 0) total -= t * (logits[row + j]! - logSum);
            g[row + j] = (out[row + j]! - t) / batch;
          }
        }
      } else {
        for (let i = 0; i < out.length; i++) {
          const p = Math.max(out[i]!, 1e-12);
          if (y[i] !== 0) total -= y[i]! * Math.log(p);
          g[i] = -y[i]! / p / batch;
        }
      }
      break;
    case "binary_cross_entropy":
      if (fused && z) {
        const logits = z.data;
        for (let i = 0; i < out.length; i++) {
          const x = logits[i]!;
          // log(1 + e^x) − y·x, written so that it never overflows.
          total += Math.max(x, 0) - x * y[i]! + Math.log1p(Math.exp(-Math.abs(x)));
          g[i] = (out[i]! - y[i]!) / batch;
        }
      } else {
        for (let i = 0; i < out.length; i++) {
          const p = Math.min(Math.max(out[i]!, 1e-12), 1 - 1e-12);
          total -= y[i]! * Math.log(p) + (1 - y[i]!) * Math.log(1 - p);
          g[i] = ((p - y[i]!) / (p * (1 - p))) / batch;
        }
      }
      break;
  }
  return { loss: total / batch, grad };
}

/** Class indices become one-hot rows, so every loss reads one dense target array. */
function dense(targets: Targets, shape: readonly number[], width: number): Float64Array {
  if (targets.kind === "values") return targets.tensor.data;
  const rows = targets.indices.length;
  const size = shape.reduce((n, d) => n * d, 1);
  if (rows * width !== size) throw new Error(`internal: ${rows} class targets for an output of shape [${shape.join(",")}]`);
  const y = new Float64Array(size);
  for (let r = 0; r < rows; r++) y[r * width + targets.indices[r]!] = 1;
  return y;
}
