import { diagnostic } from "../diag/codes.js";
import type { Diagnostics } from "../diag/diagnostic.js";
import { finalActivation } from "../ir/activation.js";
import type { IrNode, TrainConfig } from "../ir/types.js";
import type * as A from "../syntax/ast.js";
import type { CheckedNetwork } from "./infer.js";
import { warnAboutMemory } from "./memory.js";


/** Warnings a careful reviewer would give; none of them stops a network from running. */
export function lint(checked: CheckedNetwork, train: TrainConfig | undefined, diags: Diagnostics): void {
  const { network } = checked;
  const nodes = network.nodes;
  const output = network.output === undefined ? undefined : nodes[network.output];
  const warn = (n: IrNode, code: Parameters<typeof diagnostic>[0], message: string): void => diags.add(diagnostic(code, n.span, message, { chain: n.chain, severity: "warning" }));

  if (output && output.kind !== "input") {
    if (output.kind === "dropout") warn(output, "dropout-last", "dropout as the last layer only adds noise to the output; put it before a layer with weights");
    const last = finalActivation(output);
    if (train?.loss === "cross_entropy" && last !== "softmax") {
      warn(output, "softmax-before-cross-entropy", `loss cross_entropy expects the network to end in softmax, but it ends in ${last ? `'${last}'` : `'${output.text}'`}; dlc fuses softmax with the loss, so add 'softmax' last`);
    }
    if (train?.loss === "binary_cross_entropy" && last !== "sigmoid") {
      warn(output, "sigmoid-before-bce", `loss binary_cross_entropy expects the network to end in sigmoid, but it ends in ${last ? `'${last}'` : `'${output.text}'`}`);
    }
  }
  if (train?.loss === "cross_entropy") {
    for (const n of nodes) {
      if (n !== output && finalActivation(n) === "softmax" && !(n.kind === "attention")) {
        warn(n, "softmax-before-cross-entropy", "softmax before the last layer: with loss cross_entropy, softmax belongs last (the loss is fused with it)");
      }
    }
  }

  warnAboutMemory(checked, train, diags);

  const consumers = new Array<number>(nodes.length).fill(0);
  for (const n of nodes) for (const i of n.inputs) consumers[i]!++;
  for (const n of nodes) {
    if (n.def.isActivation && n.kind !== "linear") {
      const producer = nodes[n.inputs[0] ?? -1];
      const before = producer ? finalActivation(producer) : undefined;
      if (producer && before && before !== "linear" && consumers[producer.id] === 1) {
        warn(n, "double-activation", `'${n.kind}' right after '${before}' (from '${producer.text}', ${producer.span.line}:${producer.span.column}): two activations in a row`);
      }
    }
  }
  if (network.isGraph) {
    for (const n of nodes) {
      if (n.id === network.output || consumers[n.id]! > 0 || n.synthesized) continue;
      const what = n.explicitName ? `'${n.name}'` : `the value of '${n.text}'`;
      warn(n, "unused-name", `${what} is computed but never used: nothing reads it and it is not the network's output`);
    }
  }
}

/** Blocks nobody calls, in any network of the file. */
export function lintBlocks(blocks: readonly A.BlockDecl[], networks: readonly A.NetworkDecl[], diags: Diagnostics): void {
  const called = new Set<string>();
  const visit = (body: readonly A.Statement[]): void => {
    for (const s of body) {
      if (s.type === "simple") called.add(s.head.name);
      else if (s.type === "repeat") visit(s.body);
      else if (s.type === "residual") {
        visit(s.body);
        if (s.shortcut) visit(s.shortcut.body);
      } else if (s.type === "parallel") for (const b of s.branches) visit(b.body);
    }
  };
  for (const n of networks) visit(n.body);
  for (const b of blocks) visit(b.body);
  for (const b of blocks) {
    if (!called.has(b.name.name)) diags.add(diagnostic("unused-block", b.name.span, `block '${b.name.name}' is never called`));
  }
}
