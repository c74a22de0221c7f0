import type { Code } from "../diag/codes.js";
import type { Span } from "../diag/span.js";
import type { Shape } from "../ir/shape.js";
import type { ArgValue } from "../ir/values.js";
import type { Tensor } from "../interp/tensor.js";
import type { LayerEmitter } from "../codegen/emit-types.js";
import type { OnnxExport } from "../export/onnx/types.js";
import type { PytorchExport } from "../export/pytorch/types.js";

/** How a parameter starts: Keras' defaults (He for relu layers, Glorot otherwise). */
export type Init = "glorot" | "he" | "orthogonal" | "zeros" | "ones" | "uniform";

export interface ParamSpec {
  /** `kernel`, `bias`, `l2.fw.recurrent_kernel`… — the weights file adds `<layer>.` in front. */
  readonly name: string;
  readonly shape: Shape;
  readonly init: Init;
  /** Fan-in and fan-out for the initialiser, where the shape alone does not tell. */
  readonly fans?: readonly [number, number];
}

export type OptionSpec =
  | { readonly type: "flag" }
  | { readonly type: "bool" }
  | { readonly type: "int"; readonly min?: number; readonly words?: readonly string[] }
  | { readonly type: "number"; readonly min?: number; readonly max?: number; readonly exclusiveMax?: boolean };

export interface Positional {
  readonly value: ArgValue;
  readonly span: Span;
}

export interface OptionValue {
  readonly value: ArgValue | true;
  readonly span: Span;
}

/** A statement's arguments, sorted into positionals, options and modifiers by the generic reader. */
export interface ParsedArgs {
  readonly positional: readonly Positional[];
  readonly options: ReadonlyMap<string, OptionValue>;
  readonly activation?: { readonly kind: string; readonly alpha?: number; readonly span: Span };
  readonly frozen: boolean;
  /** The statement (for "missing argument" messages). */
  readonly span: Span;
}

export interface Reporter {
  error(code: Code, span: Span, message: string): void;
  warn(code: Code, span: Span, message: string): void;
}

export interface ShapeContext {
  readonly kind: string;
  error(code: Code, message: string): void;
  warn(code: Code, message: string): void;
  /** `[2] from 'dense 2 relu' (1:1)`: an input's shape and where it came from. */
  describeInput(index: number): string;
  /** Checks an input's rank, reporting "conv expects an [H,W,C] input, got …" when it is off. */
  expectRank(index: number, ranks: readonly number[], expected: string): boolean;
}

/** A layer's parameters (and state, e.g. batchnorm's moving statistics) by spec name. */
export type ParamTensors = Record<string, Tensor>;

export interface KernelContext {
  /** Training (dropout on, batchnorm on batch statistics and updating its state) or inference. */
  readonly training: boolean;
  /** Seeded uniform [0, 1): dropout masks draw from it, so runs repeat exactly with --seed. */
  readonly random: () => number;
  /** Truncated BPTT window for recurrent layers (`train { bptt K }`), if any. */
  readonly bptt?: number;
}

export interface ForwardResult {
  readonly y: Tensor;
  /** Whatever backward needs beyond the inputs and the output (masks, statistics, gate values). */
  readonly cache?: unknown;
}

/**
 * The interpreter's float64 reference kernels. Tensors are batch first. Forward never applies
 * the activation written after dense/conv (the runner does, with the activation's own kernel).
 * Backward returns dx for each input (fresh tensors) and ADDS parameter gradients into `g`
 * (same names as `p`, state excluded): gradients accumulate.
 */
export interface LayerKernel<A> {
  forward(xs: readonly Tensor[], p: ParamTensors, a: A, ctx: KernelContext): ForwardResult;
  backward(dy: Tensor, xs: readonly Tensor[], y: Tensor, cache: unknown, p: ParamTensors, g: ParamTensors, a: A, ctx: KernelContext): Tensor[];
}

/**
 * Everything dlc knows about one layer kind. The interpreter and the code generator add
 * their kernels and emitters to the same entry.
 */
export interface LayerDef<A = unknown> {
  readonly kind: string;
  /** `dense N [act] [bias false]` — shown in help and "did you mean" messages. */
  readonly syntax: string;
  readonly description: string;
  readonly options?: Readonly<Record<string, OptionSpec>>;
  /** Takes a trailing activation word (`dense 10 relu`). */
  readonly takesActivation?: boolean;
  /** Word arguments name other values (`add a b`, `attention enc dot`). */
  readonly takesReferences?: boolean;
  /** An activation function that can also stand alone or follow dense/conv. */
  readonly isActivation?: boolean;
  /** A node that only routes values (input, add, concat): no params, not a "layer" in lints. */
  readonly structural?: boolean;

  resolve(p: ParsedArgs, r: Reporter): A | undefined;
  shape(inputs: readonly Shape[], args: A, ctx: ShapeContext): Shape | undefined;
  /** Output shape when the input is unknown (`dense N` gives `[N]`); unknown by default. */
  shapeOfUnknownInput?(args: A): Shape | undefined;
  params?(inputs: readonly Shape[], args: A): ParamSpec[];
  /** Non-learnable buffers (batchnorm running statistics). */
  state?(inputs: readonly Shape[], args: A): ParamSpec[];
  /** Learnable values PyTorch has on top of §4's count (its second recurrent bias). */
  pytorchExtraParams?(inputs: readonly Shape[], args: A): number;
  macs(inputs: readonly Shape[], output: Shape, args: A): number;
  /** Forward and backward for the interpreter (input nodes have none). */
  readonly kernel?: LayerKernel<A>;
  /** Forward and backward code for `dlc compile` (input nodes have none). */
  readonly emit?: LayerEmitter<A>;
  /** Its inference graph in ONNX (`dlc export --to onnx`); a kind without one is refused at its statement. */
  readonly onnx?: OnnxExport<A>;
  /** Its PyTorch module and forward code (`dlc export --to pytorch`); a kind without one is refused at its statement. */
  readonly pytorch?: PytorchExport<A>;
}

/** A registry entry with its argument type erased, as the registry stores it. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyLayerDef = LayerDef<any>;

export function defineLayer<A>(def: LayerDef<A>): LayerDef<A> {
  return def;
}
