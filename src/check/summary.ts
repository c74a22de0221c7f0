import { product, type Shape } from "../ir/shape.js";
import type { Group } from "../ir/types.js";
import type { CheckedNetwork } from "./infer.js";

/** Where PyTorch and Keras count differently; `dlc` is §4's own count. */
export type Convention = "dlc" | "keras" | "pytorch";

export interface SummaryRow {
  readonly name: string;
  readonly kind: string;
  readonly line: number;
  readonly outputShape: Shape | null;
  readonly params: number | null;
  readonly trainable: boolean;
  readonly macs: number | null;
  /** Non-learnable buffers (batchnorm statistics), 0 under the keras convention. */
  readonly state: number;
  readonly group?: Group;
  /** The activation written after dense/conv (`dense 10 softmax`). */
  readonly activation?: string;
}

export interface Summary {
  readonly network: string | null;
  readonly input: Shape | null;
  readonly rows: readonly SummaryRow[];
  readonly totalParams: number;
  readonly trainableParams: number;
  readonly nonTrainableParams: number;
  readonly stateSize: number;
  readonly macs: number;
  /** Sum over rows of the output size of one sample: the activations kept for backward. */
  readonly activationValues: number;
}

export function summarize(checked: CheckedNetwork, convention: Convention = "dlc"): Summary {
  const { network, facts } = checked;
  const rows: SummaryRow[] = [];
  let totalParams = 0;
  let trainableParams = 0;
  let stateSize = 0;
  let macs = 0;
  let activationValues = 0;
  for (const node of network.nodes) {
    if (node.kind === "input") continue;
    const f = facts[node.id]!;
    let params = f.paramCount;
    let state = f.stateCount;
    if (convention === "keras") {
      params += state;
      state = 0;
    } else if (convention === "pytorch") {
      params += f.pytorchExtra;
    }
    const trainable = !node.frozen;
    totalParams += params;
    if (trainable) trainableParams += params - (convention === "keras" ? f.stateCount : 0);
    stateSize += state;
    macs += f.macs;
    if (f.shape) activationValues += product(f.shape);
    rows.push({
      name: node.name,
      kind: node.kind,
      line: node.span.line,
      outputShape: f.shape ?? null,
      params: f.countsKnown ? params : null,
      trainable,
      macs: f.countsKnown ? f.macs : null,
      state,
      group: node.group,
      activation: node.activation?.kind,
    });
  }
  const firstInput = network.inputs[0];
  const input = firstInput === undefined ? null : (facts[firstInput]?.shape ?? null);
  return { network: network.name, input, rows, totalParams, trainableParams, nonTrainableParams: totalParams - trainableParams, stateSize, macs, activationValues };
}

/** The `dlc summary --json` object of §7, exactly. */
export function summaryJson(s: Summary): object {
  return {
    network: s.network,
    input: s.input,
    layers: s.rows.map((r) => ({ name: r.name, kind: r.kind, line: r.line, outputShape: r.outputShape, params: r.params, trainable: r.trainable, macs: r.macs })),
    totalParams: s.totalParams,
    trainableParams: s.trainableParams,
    nonTrainableParams: s.nonTrainableParams,
    stateSize: s.stateSize,
    macs: s.macs,
  };
}
