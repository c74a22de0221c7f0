import type { CheckedNetwork } from "../check/infer.js";
import type { Shape } from "../ir/shape.js";
import type { LossKind } from "../ir/types.js";
import { DataError } from "./errors.js";

/** One network input as a data file must fill it. */
export interface InputSpec {
  /** The input's name: `src` for `src: input 20`, `input` for a lone unnamed input. */
  readonly name: string;
  /** One sample's shape (no batch dimension). */
  readonly shape: Shape;
  /** Set when the input feeds only `embedding` layers: values must be token ids below it. */
  readonly vocabulary?: number;
}

/** What a data file must hold for one network. */
export interface DataSpec {
  /** In the network's input order; the first is the main input. */
  readonly inputs: readonly InputSpec[];
  /** One sample's output shape; needed to read targets. */
  readonly output?: Shape;
  /** Decides how a class index is read: kept as an index for cross_entropy, one-hot otherwise. */
  readonly loss?: LossKind;
  /** `dlc train` needs `y`; `dlc run` does not. */
  readonly needTargets?: boolean;
}

/** The data a checked network takes; DataError when an input's or the output's shape is unknown. */
export function dataSpecOf(checked: CheckedNetwork, options: { loss?: LossKind; needTargets?: boolean } = {}): DataSpec {
  const { network, facts } = checked;
  const inputs: InputSpec[] = network.inputs.map((id) => {
    const node = network.nodes[id]!;
    const shape = facts[id]?.shape;
    if (!shape) throw new DataError(`the network's input '${node.name}' has no known shape: declare it ('input 28x28x1') or pass --input`);
    const consumers = network.nodes.filter((n) => n.inputs.includes(id));
    const vocabularies = consumers.map((n) => (n.kind === "embedding" ? (n.args as { vocabulary?: number } | undefined)?.vocabulary : undefined));
    const vocabulary = consumers.length > 0 && vocabularies.every((v): v is number => v !== undefined) ? vocabularies.reduce((a, b) => Math.min(a, b)) : undefined;
    return vocabulary === undefined ? { name: node.name, shape } : { name: node.name, shape, vocabulary };
  });
  const output = network.output === undefined ? undefined : facts[network.output]?.shape;
  return { inputs, output, loss: options.loss, needTargets: options.needTargets };
}
