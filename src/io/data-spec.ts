import type { CheckedNetwork } from "../check/infer.js";
import type { LossKind } from "../ir/types.js";
import { DataError } from "../codegen/runtime/errors.js";
import type { InputInfo } from "../codegen/runtime/internal-types.js";
import type { DataSpec } from "../codegen/runtime/targets.js";

/**
 * What a data file must hold for one network: the runtime's DataSpec (runtime/targets.ts), the
 * network's inputs in order (the first is the main input), one sample's output shape, the loss
 * (a class index stays an index for cross_entropy, becomes one-hot otherwise) and whether
 * targets are needed (`dlc train` needs `y`; `dlc run` does not).
 */
export type { DataSpec };
/** One network input as a data file must fill it: its name, one sample's shape, and (for an input that only feeds embeddings) the vocabulary its token ids must be below. */
export type InputSpec = InputInfo;

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
  if (!output) throw new DataError("the network's output has no known shape; fix the network's errors first");
  return { inputs, output, loss: options.loss, needTargets: options.needTargets };
}
