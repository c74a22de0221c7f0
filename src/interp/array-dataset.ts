import type { Shape } from "../ir/shape.js";
import type { Targets } from "./losses.js";
import { sizeOf } from "./tensor.js";
import type { Batch, Dataset } from "./train.js";

/** Samples held in flat arrays: one per network input ([N, ...shape]) and the targets. */
export interface ArrayData {
  readonly size: number;
  readonly inputs: readonly { readonly shape: Shape; readonly data: Float64Array }[];
  /** Values: [N, ...outputShape]; classes: N·P indices (P positions per sample). */
  readonly targets?: { readonly kind: "values"; readonly shape: Shape; readonly data: Float64Array } | { readonly kind: "classes"; readonly perSample: number; readonly data: Int32Array };
}

export function arrayDataset(d: ArrayData): Dataset {
  return {
    size: d.size,
    targets: d.targets,
    batch(indices: readonly number[]): Batch {
      const inputs = d.inputs.map((input) => {
        const width = sizeOf(input.shape);
        const data = new Float64Array(indices.length * width);
        indices.forEach((s, row) => data.set(input.data.subarray(s * width, (s + 1) * width), row * width));
        return { shape: [indices.length, ...input.shape], data };
      });
      let targets: Targets;
      const t = d.targets;
      if (!t) targets = { kind: "values", tensor: { shape: [0], data: new Float64Array(0) } };
      else if (t.kind === "values") {
        const width = sizeOf(t.shape);
        const data = new Float64Array(indices.length * width);
        indices.forEach((s, row) => data.set(t.data.subarray(s * width, (s + 1) * width), row * width));
        targets = { kind: "values", tensor: { shape: [indices.length, ...t.shape], data } };
      } else {
        const data = new Int32Array(indices.length * t.perSample);
        indices.forEach((s, row) => data.set(t.data.subarray(s * t.perSample, (s + 1) * t.perSample), row * t.perSample));
        targets = { kind: "classes", indices: data };
      }
      return { inputs, targets, size: indices.length };
    },
  };
}
