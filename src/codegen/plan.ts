import type { CheckedNetwork } from "../check/infer.js";
import type { Shape } from "../ir/shape.js";
import type { IrNode } from "../ir/types.js";
import { registry } from "../layers/registry.js";
import type { AnyLayerDef, ParamSpec } from "../layers/types.js";

/** An activation buffer: one sample's values × maxBatch. `d` is its gradient. */
export interface Buffer {
  readonly id: number;
  readonly shape: Shape;
  readonly size: number;
  /** Network input k feeds this buffer; it needs no gradient. */
  readonly inputIndex?: number;
}

/** One emitted piece of code: a node's kernel, or the activation written after dense/conv. */
export interface Step {
  readonly index: number;
  readonly node: IrNode;
  readonly def: AnyLayerDef;
  readonly args: unknown;
  readonly inputs: readonly number[];
  readonly output: number;
  /** The fused activation after a node's own kernel. */
  readonly isFusedActivation: boolean;
}

export interface WeightSlot {
  readonly name: string;
  readonly node: IrNode;
  readonly spec: ParamSpec;
  readonly offset: number;
  readonly size: number;
  readonly kind: "param" | "state";
  readonly trainable: boolean;
}

export interface Plan {
  readonly checked: CheckedNetwork;
  readonly buffers: readonly Buffer[];
  readonly steps: readonly Step[];
  readonly weights: readonly WeightSlot[];
  readonly weightCount: number;
  readonly inputBuffers: readonly number[];
  readonly outputBuffer: number;
  /** The input of the network's final softmax/sigmoid, for losses fused with it. */
  readonly logitsBuffer?: number;
  /** The step the fused loss gradient skips (the final activation). */
  readonly finalActivationStep?: number;
}

function sizeOf(shape: Shape): number {
  return shape.reduce((p, d) => p * d, 1);
}

/** Lays a checked network out as buffers, steps and one weights arena (in §8's weight order). */
export function plan(checked: CheckedNetwork): Plan {
  const { network, facts } = checked;
  const buffers: Buffer[] = [];
  const steps: Step[] = [];
  const bufferOf = new Map<number, number>();
  const newBuffer = (shape: Shape, inputIndex?: number): number => {
    buffers.push({ id: buffers.length, shape, size: sizeOf(shape), inputIndex });
    return buffers.length - 1;
  };
  const weights: WeightSlot[] = [];
  let offset = 0;
  for (const node of network.nodes) {
    const f = facts[node.id]!;
    const shape = f.shape!;
    if (node.kind === "input") {
      bufferOf.set(node.id, newBuffer(shape, network.inputs.indexOf(node.id)));
      continue;
    }
    for (const [kind, specs] of [["param", f.params], ["state", f.state]] as const) {
      for (const spec of specs) {
        const size = sizeOf(spec.shape);
        weights.push({ name: `${node.name}.${spec.name}`, node, spec, offset, size, kind, trainable: kind === "param" && !node.frozen });
        offset += size;
      }
    }
    const inputs = node.inputs.map((i) => bufferOf.get(i)!);
    const main = newBuffer(shape);
    steps.push({ index: steps.length, node, def: node.def, args: node.args, inputs, output: main, isFusedActivation: false });
    let out = main;
    if (node.activation) {
      out = newBuffer(shape);
      steps.push({ index: steps.length, node, def: registry.get(node.activation.kind)!, args: { alpha: node.activation.alpha }, inputs: [main], output: out, isFusedActivation: true });
    }
    bufferOf.set(node.id, out);
  }
  const last = steps[steps.length - 1];
  const outputBuffer = bufferOf.get(network.output!)!;
  const finalIsActivation = last && last.output === outputBuffer && (last.def.kind === "softmax" || last.def.kind === "sigmoid");
  return {
    checked,
    buffers,
    steps,
    weights,
    weightCount: offset,
    inputBuffers: network.inputs.map((id) => bufferOf.get(id)!),
    outputBuffer,
    logitsBuffer: finalIsActivation ? last.inputs[0] : undefined,
    finalActivationStep: finalIsActivation ? last.index : undefined,
  };
}
