import { diagnostic } from "../diag/codes.js";
import type { Diagnostics } from "../diag/diagnostic.js";
import { product } from "../ir/shape.js";
import { bytes } from "../util/format-bytes.js";
import type { IrNode, TrainConfig } from "../ir/types.js";
import type { CheckedNetwork } from "./infer.js";

/*
 * What running a network needs in memory, worked out from the checked counts before anything is
 * allocated or generated: `dlc check` warns past a fixed size, `dlc train`/`run` and
 * `dlc compile` refuse what cannot be held at all.
 */

/** How the network is to be run. */
export interface MemoryUse {
  /** 4 for float32 (the compiled module's default), 8 for float64 (the interpreter). */
  readonly bytesPerValue: number;
  readonly batch: number;
  /** Training keeps gradients and optimizer state; inference only parameters and activations. */
  readonly training: boolean;
  /** Values of optimizer state per trainable parameter: 0 plain SGD, 1 momentum, 2 Adam. */
  readonly optimizerSlots: number;
}

/** Bytes, each part as `dlc summary` shows it (activations: every layer's output, kept for backward). */
export interface MemoryNeeds {
  readonly parameters: number;
  readonly gradients: number;
  readonly optimizerState: number;
  readonly activations: number;
  readonly total: number;
  /** The node that needs most (its parameters, their gradients and state, and its output). */
  readonly biggest?: IrNode;
  /** Values in the largest single array (a parameter, or one layer's output at this batch). */
  readonly largestArray: number;
}

/** The float32 memory of a wasm32 module: WebAssembly addresses at most 4 GiB. */
export const WASM_MEMORY_BYTES = 2 ** 32;
/** Elements one typed array can hold in Node (V8's limit): past it, "Invalid typed array length". */
export const MAX_ARRAY_VALUES = 2 ** 32;

/** Optimizer state per trainable parameter for a train { } optimizer (plain SGD by default). */
export function optimizerSlots(optimizer: TrainConfig["optimizer"] | undefined): number {
  if (optimizer?.kind === "adam" || optimizer?.kind === "adamw") return 2;
  return (optimizer?.momentum ?? 0) > 0 ? 1 : 0;
}

export function memoryNeeds(checked: CheckedNetwork, use: MemoryUse): MemoryNeeds {
  const { network, facts } = checked;
  let parameters = 0;
  let trainable = 0;
  let activations = 0;
  let largestArray = 0;
  let biggest: IrNode | undefined;
  let mostValues = -1;
  for (const node of network.nodes) {
    const f = facts[node.id];
    if (!f) continue;
    const own = f.paramCount + f.stateCount;
    const learnt = use.training && !node.frozen ? f.paramCount : 0;
    const output = node.kind === "input" || !f.shape ? 0 : product(f.shape) * use.batch;
    parameters += own;
    trainable += learnt;
    activations += output;
    for (const spec of f.params) largestArray = Math.max(largestArray, product(spec.shape));
    for (const spec of f.state) largestArray = Math.max(largestArray, product(spec.shape));
    largestArray = Math.max(largestArray, output);
    const values = own + learnt * (1 + use.optimizerSlots) + output;
    if (values > mostValues) {
      mostValues = values;
      biggest = node;
    }
  }
  const b = use.bytesPerValue;
  const needs = {
    parameters: parameters * b,
    gradients: trainable * b,
    optimizerState: trainable * use.optimizerSlots * b,
    activations: activations * b,
  };
  return { ...needs, total: needs.parameters + needs.gradients + needs.optimizerState + needs.activations, biggest, largestArray };
}

/** "14.55 TiB (float32, batch 32: parameters …, gradients …, optimizer state …, activations …)". */
export function describeNeeds(needs: MemoryNeeds, use: MemoryUse): string {
  const parts = [`parameters ${bytes(needs.parameters)}`];
  if (use.training) parts.push(`gradients ${bytes(needs.gradients)}`);
  if (use.training && use.optimizerSlots > 0) parts.push(`optimizer state ${bytes(needs.optimizerState)}`);
  parts.push(`activations ${bytes(needs.activations)}`);
  return `${bytes(needs.total)} (float${8 * use.bytesPerValue}, batch ${use.batch}: ${parts.join(", ")})`;
}

/**
 * `dlc check`'s warning: training even one sample at a time (batch 1) in float32 needs more than
 * a compiled module's WebAssembly memory holds, the point past which `dlc compile` refuses. A
 * fixed limit, not this machine's memory, so that a file checks the same everywhere (`dlc
 * train`/`run` compare with the machine when they start); batch 1, since the batch is chosen
 * when training and the arrays of a larger one only scale the activations.
 */
export function warnAboutMemory(checked: CheckedNetwork, train: TrainConfig | undefined, diags: Diagnostics): void {
  const use: MemoryUse = { bytesPerValue: 4, batch: 1, training: true, optimizerSlots: optimizerSlots(train?.optimizer) };
  const needs = memoryNeeds(checked, use);
  if (needs.total <= WASM_MEMORY_BYTES || !needs.biggest) return;
  // Past 2^53 values the counts are not exact, and the network is too-large already.
  if (!Number.isSafeInteger(needs.total / use.bytesPerValue)) return;
  const at = needs.biggest;
  const message = `training this network needs at least ${describeNeeds(needs, use)}, more than the ${bytes(WASM_MEMORY_BYTES)} a compiled module can address (dlc compile refuses it; dlc train, in float64, needs twice as much); '${at.text}' needs the most`;
  diags.add(diagnostic("too-much-memory", at.span, message, { chain: at.chain, severity: "warning" }));
}
