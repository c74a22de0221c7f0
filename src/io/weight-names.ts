import type { CheckedNetwork } from "../check/infer.js";
import type { Shape } from "../ir/shape.js";
import { DataError } from "../codegen/runtime/errors.js";

/** One tensor a weights file must hold for a network (LANGUAGE.md §8). */
export interface ExpectedWeight {
  /** `<layer>.<param>`: `conv1.kernel`, `bn1.moving_mean`, `lstm1.l2.fw.kernel`. */
  readonly name: string;
  /** The layer's name as `dlc summary` prints it. */
  readonly layer: string;
  /** The registry spec's name: `kernel`, `l2.fw.recurrent_kernel`. */
  readonly param: string;
  readonly shape: Shape;
  /** Learnable parameter, or state (batchnorm's running statistics). */
  readonly kind: "param" | "state";
  /** The node id in the checked network. */
  readonly node: number;
  /** False for a `frozen` layer's parameters (state is never trained). */
  readonly trainable: boolean;
}

/**
 * The weights a checked network needs, in node order and, within a node, in the order of the
 * kind's `params()` then `state()` specs. Throws DataError when a layer's shapes are unknown
 * (the network has errors): its weights cannot be listed.
 */
export function expectedWeights(checked: CheckedNetwork): ExpectedWeight[] {
  const out: ExpectedWeight[] = [];
  const { network, facts } = checked;
  for (const node of network.nodes) {
    if (node.kind === "input") continue;
    const f = facts[node.id];
    const hasParams = node.def.params !== undefined || node.def.state !== undefined;
    if (!f || (hasParams && !f.countsKnown)) {
      throw new DataError(`cannot list the weights of '${node.name}' (line ${node.span.line}): its input shape is unknown; fix the network's errors first`);
    }
    for (const spec of f.params) out.push({ name: `${node.name}.${spec.name}`, layer: node.name, param: spec.name, shape: spec.shape, kind: "param", node: node.id, trainable: !node.frozen });
    for (const spec of f.state) out.push({ name: `${node.name}.${spec.name}`, layer: node.name, param: spec.name, shape: spec.shape, kind: "state", node: node.id, trainable: false });
  }
  return out;
}
