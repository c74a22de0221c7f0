import type { CallSite } from "../diag/diagnostic.js";
import type { Span } from "../diag/span.js";
import type { AnyLayerDef } from "../layers/types.js";
import type { Shape } from "./shape.js";

/** A block call, for grouping a summary's rows with subtotals. */
export interface Group {
  readonly id: number;
  readonly block: string;
  /** The call's label, or the block name with a running index (`bottleneck3`). */
  readonly name: string;
  readonly span: Span;
  readonly parent?: Group;
}

export interface IrNode {
  readonly id: number;
  readonly kind: string;
  readonly def: AnyLayerDef;
  /** The resolved arguments, typed by the kind's registry entry. */
  readonly args: unknown;
  /** Set once the network is built: the label, or kind + running index (`conv3`). */
  name: string;
  readonly explicitName: boolean;
  /** An activation written after dense/conv: part of this layer in summaries. */
  readonly activation?: { readonly kind: string; readonly alpha?: number };
  readonly frozen: boolean;
  /** Producers of this node's inputs, always earlier in `nodes`. */
  readonly inputs: readonly number[];
  /** The statement that made the node (for a residual's join: the residual statement). */
  readonly span: Span;
  /** The statement's text from its head word on, as messages quote it. */
  readonly text: string;
  readonly chain: readonly CallSite[];
  readonly group?: Group;
  /** Made by the structure (residual join, parallel join, missing input), not written. */
  readonly synthesized: boolean;
  /** An input shape given on the command line (`--input`) or unknown (`undefined` args). */
  readonly inputShape?: Shape;
}

export interface IrNetwork {
  readonly name: string | null;
  readonly span: Span;
  /** In topological order: every node's inputs come before it. */
  readonly nodes: readonly IrNode[];
  readonly inputs: readonly number[];
  readonly output: number | undefined;
  /** Whether the network uses named values (`from`, `add a b`, …): then unused values are linted. */
  readonly isGraph: boolean;
}

export type LossKind = "squared" | "cross_entropy" | "binary_cross_entropy";

export interface TrainConfig {
  readonly loss?: LossKind;
  readonly optimizer?: { readonly kind: "sgd" | "adam" | "adamw"; readonly lr?: number; readonly momentum?: number; readonly beta1?: number; readonly beta2?: number; readonly eps?: number };
  readonly batch?: number;
  readonly epochs?: number;
  readonly bptt?: number;
  readonly seed?: number;
  /** `schedule step E G` / `schedule cosine`: the learning rate per epoch (runtime/schedule.ts). */
  readonly schedule?: { readonly kind: "step"; readonly every: number; readonly gamma: number } | { readonly kind: "cosine" };
  /** `warmup N`: linear warmup over the first N batches. */
  readonly warmup?: number;
  /** `weight_decay X`: L2 added to the gradient (sgd, adam), decoupled for adamw (default 0.01 there). */
  readonly weightDecay?: number;
  /** `clip X`: global gradient-norm clipping to X before each step. */
  readonly clip?: number;
  /** `patience N`: stop when the validation loss has not improved for N epochs. */
  readonly patience?: number;
  readonly span?: Span;
}
