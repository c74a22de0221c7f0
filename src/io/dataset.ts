import type { Shape } from "../ir/shape.js";
import type { Dataset as RuntimeDataset } from "../codegen/runtime/public-types.js";
import type { DataSpec } from "./data-spec.js";

/**
 * A data file in memory as the interpreter takes it (src/interp/array-dataset.ts's ArrayData):
 * the runtime's Dataset (every input's samples in ONE Float64Array, row-major [size, ...shape],
 * the targets likewise) with each input's name and shape beside its array. The arrays are the
 * runtime's own, not copies: toRuntimeDataset gives the compiled engine the same memory back.
 */
export interface Dataset {
  /** The number of samples. */
  readonly size: number;
  /** One entry per network input, in the network's input order. */
  readonly inputs: readonly InputSamples[];
  /** Absent when the file has no targets (allowed for `dlc run`). */
  readonly targets?: TargetSamples;
  /** The file(s) it came from, for messages. */
  readonly source: string;
}

export interface InputSamples {
  readonly name: string;
  /** One sample's shape. */
  readonly shape: Shape;
  /** [size, ...shape]. */
  readonly data: Float64Array;
}

export type TargetSamples =
  /** Targets shaped like the output: [size, ...outputShape]. */
  | { readonly kind: "values"; readonly shape: Shape; readonly data: Float64Array }
  /**
   * Class indices (cross_entropy): one per position of the output without its last axis —
   * one per sample for a [V] output, T per sample for [T,V]. `data` is [size, ...shape].
   */
  | { readonly kind: "classes"; readonly shape: Shape; readonly perSample: number; readonly classes: number; readonly data: Int32Array };

/** The runtime's Dataset with the shapes of `spec` (the spec it was read with). */
export function withShapes(data: RuntimeDataset, spec: DataSpec): Dataset {
  const inputs = data.inputs.map((d, k) => ({ name: spec.inputs[k]!.name, shape: spec.inputs[k]!.shape, data: d }));
  const output = spec.output;
  const t = data.targets;
  const targets: TargetSamples | undefined =
    t === undefined ? undefined : t.kind === "values" ? { kind: "values", shape: output, data: t.data } : { kind: "classes", shape: output.slice(0, -1), perSample: t.perSample, classes: output[output.length - 1] ?? 1, data: t.data };
  return { size: data.size, inputs, targets, source: data.source };
}

/** The same samples as the runtime's Dataset (what a compiled model's fit takes), sharing memory. */
export function toRuntimeDataset(data: Dataset): RuntimeDataset {
  const t = data.targets;
  const targets: RuntimeDataset["targets"] = t === undefined ? undefined : t.kind === "values" ? { kind: "values", data: t.data } : { kind: "classes", perSample: t.perSample, data: t.data };
  return { size: data.size, inputs: data.inputs.map((i) => i.data), targets, source: data.source };
}
