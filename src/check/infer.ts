import { diagnostic, type Code } from "../diag/codes.js";
import type { Diagnostics } from "../diag/diagnostic.js";
import { MAX_DIMENSION, formatShape, product, type Shape } from "../ir/shape.js";
import type { IrNetwork, IrNode } from "../ir/types.js";
import type { ParamSpec, ShapeContext } from "../layers/types.js";

/** What the checker learns about one node. */
export interface NodeFacts {
  /** `undefined` when unknown: after an error, or downstream of an unknown input. */
  readonly shape?: Shape;
  readonly params: readonly ParamSpec[];
  readonly state: readonly ParamSpec[];
  /** Counts, always computed from the specs above so that they cannot drift. */
  readonly paramCount: number;
  readonly stateCount: number;
  readonly pytorchExtra: number;
  readonly macs: number;
  /** Whether the counts are known (they are not when an input shape is unknown). */
  readonly countsKnown: boolean;
}

export interface CheckedNetwork {
  readonly network: IrNetwork;
  readonly facts: readonly NodeFacts[];
}

const unknownFacts: NodeFacts = { params: [], state: [], paramCount: 0, stateCount: 0, pytorchExtra: 0, macs: 0, countsKnown: false };

export function countOf(specs: readonly ParamSpec[]): number {
  return specs.reduce((n, s) => n + product(s.shape), 0);
}

/** Shape inference and counting, in node order; one mistake gives one message. */
export function inferShapes(network: IrNetwork, diags: Diagnostics): CheckedNetwork {
  const facts: NodeFacts[] = [];
  // Every node's counts are exact; their sums must be too, or the totals would be rounded.
  let total = 0;
  let macs = 0;
  let reported = false;
  for (const node of network.nodes) {
    const f = inferNode(node, network, facts, diags);
    facts.push(f);
    total += f.paramCount + f.stateCount + f.pytorchExtra;
    macs += f.macs;
    if (!reported && (total > Number.MAX_SAFE_INTEGER || macs > Number.MAX_SAFE_INTEGER)) {
      reported = true;
      diags.add(diagnostic("too-large", node.span, `with ${node.kind === "input" ? "this input" : `'${node.text}'`} the network has more parameters or operations than dlc can count exactly (up to ${Number.MAX_SAFE_INTEGER})`, { chain: node.chain }));
    }
  }
  return { network, facts };
}

/** Sizes past MAX_DIMENSION, or more elements than can be counted exactly. */
function tooLargeShape(shape: Shape): boolean {
  return shape.some((d) => d > MAX_DIMENSION) || product(shape) > Number.MAX_SAFE_INTEGER;
}

function inferNode(node: IrNode, network: IrNetwork, facts: readonly NodeFacts[], diags: Diagnostics): NodeFacts {
  if (node.kind === "input") {
    const shape = (node.args as { shape?: Shape } | undefined)?.shape;
    if (shape && tooLargeShape(shape)) {
      new NodeShapeContext(node, network, facts, diags).error("too-large", `the input shape ${formatShape(shape)} is larger than dlc can handle (sizes up to ${MAX_DIMENSION})`);
      return unknownFacts;
    }
    return { ...unknownFacts, shape, countsKnown: true };
  }
  const inputShapes = node.inputs.map((i) => facts[i]?.shape);
  const known = inputShapes.every((s): s is Shape => s !== undefined) && inputShapes.length > 0;
  const def = node.def;
  if (!known) {
    const shape = def.shapeOfUnknownInput?.(node.args);
    if (shape && tooLargeShape(shape)) {
      new NodeShapeContext(node, network, facts, diags).error("too-large", `${node.kind} gives the shape ${formatShape(shape)}, larger than dlc can count exactly (sizes up to ${MAX_DIMENSION})`);
      return unknownFacts;
    }
    return { ...unknownFacts, shape };
  }
  const ins = inputShapes as Shape[];
  const ctx = new NodeShapeContext(node, network, facts, diags);
  const shape = def.shape(ins, node.args, ctx);
  if (!shape) return unknownFacts;
  if (tooLargeShape(shape)) {
    ctx.error("too-large", `${node.kind} gives the shape ${formatShape(shape)}, larger than dlc can count exactly (sizes up to ${MAX_DIMENSION})`);
    return unknownFacts;
  }
  const params = def.params?.(ins, node.args) ?? [];
  const state = def.state?.(ins, node.args) ?? [];
  const paramCount = countOf(params);
  const stateCount = countOf(state);
  const macs = def.macs(ins, shape, node.args);
  if (!Number.isSafeInteger(paramCount) || !Number.isSafeInteger(macs)) {
    ctx.error("too-large", `${node.kind} has more parameters or operations than dlc can count exactly`);
    return unknownFacts;
  }
  return { shape, params, state, paramCount, stateCount, pytorchExtra: def.pytorchExtraParams?.(ins, node.args) ?? 0, macs, countsKnown: true };
}

class NodeShapeContext implements ShapeContext {
  readonly kind: string;

  constructor(
    private readonly node: IrNode,
    private readonly network: IrNetwork,
    private readonly facts: readonly NodeFacts[],
    private readonly diags: Diagnostics,
  ) {
    this.kind = node.kind;
  }

  error(code: Code, message: string): void {
    this.diags.add(diagnostic(code, this.node.span, message, { chain: this.node.chain, severity: "error" }));
  }

  warn(code: Code, message: string): void {
    this.diags.add(diagnostic(code, this.node.span, message, { chain: this.node.chain, severity: "warning" }));
  }

  describeInput(index: number): string {
    const producer = this.network.nodes[this.node.inputs[index]!];
    const shape = this.facts[this.node.inputs[index]!]?.shape;
    if (!producer) return formatShape(shape);
    if (producer.kind === "input" && producer.synthesized) return `${formatShape(shape)} from --input`;
    return `${formatShape(shape)} from '${producer.text}' (${producer.span.line}:${producer.span.column})`;
  }

  expectRank(index: number, ranks: readonly number[], expected: string): boolean {
    const shape = this.facts[this.node.inputs[index]!]?.shape;
    if (shape && ranks.includes(shape.length)) return true;
    const article = /^[[aeiou]/i.test(expected) ? "an" : "a";
    this.error("shape-rank", `${this.kind} expects ${article} ${expected} input, got ${this.describeInput(index)}`);
    return false;
  }
}
