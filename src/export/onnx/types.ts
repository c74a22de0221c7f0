import type { Shape } from "../../ir/shape.js";

/** An ONNX node attribute, typed as ONNX stores it. */
export type OnnxAttribute =
  | { readonly int: number }
  | { readonly ints: readonly number[] }
  | { readonly float: number }
  | { readonly string: string };

/** A refusal: the kind (with these arguments) has no exact ONNX form. */
export interface OnnxRefusal {
  readonly refuse: string;
}

/**
 * What a registry entry's `onnx` export sees of one node. Values are named strings in the
 * graph; every tensor is batch first (`[N, …]`, channels-last), exactly as dlc's kernels see it.
 */
export interface OnnxContext {
  /** The node's dlc name (`conv3`), used to name its values. */
  readonly name: string;
  /** The values feeding the node, in the node's input order. */
  readonly inputs: readonly string[];
  /** One sample's shape of each input (no batch axis). */
  readonly inputShapes: readonly Shape[];
  /** One sample's output shape (no batch axis). */
  readonly outputShape: Shape;
  /** The graph opset version the export targets. */
  readonly opset: number;
  /** The float32 initializer holding the node's parameter or state `name` (`kernel`, `moving_mean`). */
  param(name: string): string;
  /** A new constant initializer. */
  constant(dims: readonly number[], values: readonly number[], type: "float" | "int64"): string;
  /** Adds one ONNX node; returns the name of its (only) output. */
  op(opType: string, inputs: readonly string[], attributes?: Readonly<Record<string, OnnxAttribute>>): string;
  /** Adds one ONNX node with `outputs` outputs (LSTM's Y and Y_h); returns their names in order. */
  opWithOutputs(opType: string, inputs: readonly string[], outputs: number, attributes?: Readonly<Record<string, OnnxAttribute>>): string[];
}

/** A layer kind's ONNX export: the name of the value it computes, or why it cannot. */
export type OnnxExport<A> = (ctx: OnnxContext, args: A) => string | OnnxRefusal;
