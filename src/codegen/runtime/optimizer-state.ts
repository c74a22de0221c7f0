import type { OptimizerKind, OptimizerState } from "./public-types.js";

/**
 * Export and import of an optimizer's state (checkpoints), shared by the generated Model and the
 * interpreter's optimizers so that both refuse the same wrong states with the same messages.
 */

/** The buffers each optimizer keeps per trainable weight. */
export function optimizerSlotNames(kind: OptimizerKind): readonly string[] {
  return kind === "sgd" ? ["velocity"] : ["m", "v"];
}

/** A weight as the state's checks see it: its §8 name and its number of values. */
export interface StateWeight {
  readonly name: string;
  readonly size: number;
}

/**
 * Throws an Error, worded for the command line, unless `state` is one this optimizer (`kind`,
 * over these trainable `weights`) can continue from: same kind, same slots, the same weights
 * with the same sizes, a whole step count, finite values.
 */
export function checkOptimizerState(state: OptimizerState, kind: OptimizerKind, weights: readonly StateWeight[]): void {
  if (typeof state !== "object" || state === null) throw new Error("the optimizer state is not an object");
  if (state.kind !== kind) throw new Error(`the optimizer state is ${describe(state.kind)}'s, but this run trains with ${kind}`);
  if (!(Number.isSafeInteger(state.step) && state.step >= 0)) throw new Error(`the optimizer state's step must be a whole number ≥ 0, got ${String(state.step)}`);
  const names = optimizerSlotNames(kind);
  const slots = state.slots ?? {};
  for (const slot of Object.keys(slots)) if (!names.includes(slot)) throw new Error(`the optimizer state has a buffer '${slot}' that ${kind} does not keep (it keeps ${names.join(", ")})`);
  for (const slot of names) {
    const buffers = slots[slot];
    if (buffers === undefined) throw new Error(`the optimizer state lacks ${kind}'s '${slot}' buffers`);
    const expected = new Set(weights.map((w) => w.name));
    for (const name of Object.keys(buffers)) if (!expected.has(name)) throw new Error(`the optimizer state's '${slot}' holds a weight '${name}' that the network does not train`);
    for (const w of weights) {
      const data = buffers[w.name];
      if (data === undefined) throw new Error(`the optimizer state's '${slot}' lacks the weight '${w.name}'`);
      if (!(data instanceof Float64Array)) throw new Error(`the optimizer state's '${slot}' of '${w.name}' is not a Float64Array`);
      if (data.length !== w.size) throw new Error(`the optimizer state's '${slot}' of '${w.name}' has ${data.length} values; the network's weight has ${w.size}`);
      for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i]!)) throw new Error(`the optimizer state's '${slot}' of '${w.name}' holds ${data[i]} at ${i}`);
    }
  }
}

function describe(kind: unknown): string {
  return typeof kind === "string" ? kind.slice(0, 40) : "another optimizer";
}

/** The generated Model's state: its buffers are arrays over the weights arena, at each weight's offset. */
export function arenaOptimizerState(kind: OptimizerKind, step: number, weights: readonly (StateWeight & { readonly offset: number; readonly trainable: boolean })[], arrays: Readonly<Record<string, Float32Array | Float64Array>>): OptimizerState {
  const slots: Record<string, Record<string, Float64Array>> = {};
  for (const slot of optimizerSlotNames(kind)) {
    const source = arrays[slot]!;
    const buffers: Record<string, Float64Array> = {};
    for (const w of weights) if (w.trainable) buffers[w.name] = Float64Array.from(source.subarray(w.offset, w.offset + w.size));
    slots[slot] = buffers;
  }
  return { kind, step, slots };
}

/** Checks `state`, then copies it into the arena's buffers. Returns its step. */
export function setArenaOptimizerState(state: OptimizerState, kind: OptimizerKind, weights: readonly (StateWeight & { readonly offset: number; readonly trainable: boolean })[], arrays: Readonly<Record<string, Float32Array | Float64Array>>): number {
  const trainable = weights.filter((w) => w.trainable);
  checkOptimizerState(state, kind, trainable);
  for (const slot of optimizerSlotNames(kind)) for (const w of trainable) arrays[slot]!.set(state.slots[slot]![w.name]!, w.offset);
  return state.step;
}
