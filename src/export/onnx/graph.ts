import type { CheckedNetwork } from "../../check/infer.js";
import { diagnostic } from "../../diag/codes.js";
import type { Diagnostic } from "../../diag/diagnostic.js";
import type { Model } from "../../interp/model.js";
import { dataSpecOf } from "../../io/data-spec.js";
import type { IrNode } from "../../ir/types.js";
import { registry } from "../../layers/registry.js";
import type { AnyLayerDef } from "../../layers/types.js";
import { attributeProto, encodeModel, FLOAT, floatInitializer, INT64, int64Initializer, valueInfo } from "./model.js";
import type { OnnxAttribute, OnnxContext } from "./types.js";
import type { onnx as OnnxTypes } from "onnx-proto";

type NodeProto = OnnxTypes.INodeProto;
type TensorProto = OnnxTypes.ITensorProto;

export interface OnnxExportOptions {
  readonly opset: number;
  readonly producerVersion: string;
}

/** The encoded model, or the statements that cannot be exported (then no bytes). */
export interface OnnxExportResult {
  readonly bytes?: Uint8Array;
  readonly diagnostics: readonly Diagnostic[];
}

/**
 * The network's inference graph as an ONNX model. Walks the checked nodes in order (blocks,
 * repeat, residual and parallel are already nodes) and asks each node's registry entry for its
 * ONNX form; a fused activation is its own entry's export applied after. Value names are
 * `<layer>/<Op>_<k>` and initializers `<layer>.<param>`: neither can clash with an input's name
 * (an identifier), and all are plain strings in the protobuf, never code.
 */
export function exportOnnx(checked: CheckedNetwork, model: Model, options: OnnxExportOptions): OnnxExportResult {
  const { network, facts } = checked;
  const spec = dataSpecOf(checked);
  const diagnostics: Diagnostic[] = [];
  const nodes: NodeProto[] = [];
  const initializers: TensorProto[] = [];
  const initialized = new Set<string>();
  const values: (string | undefined)[] = new Array(network.nodes.length);
  let counter = 0;

  const inputs = network.inputs.map((id, i) => {
    const input = spec.inputs[i]!;
    values[id] = input.name;
    return valueInfo(input.name, input.vocabulary === undefined ? FLOAT : INT64, input.shape);
  });

  const contextFor = (node: IrNode, inputNames: readonly string[]): OnnxContext => {
    const opWithOutputs = (opType: string, opInputs: readonly string[], outputCount: number, attributes: Readonly<Record<string, OnnxAttribute>> = {}): string[] => {
      const name = `${node.name}/${opType}_${counter++}`;
      const outputs = Array.from({ length: outputCount }, (_, i) => (i === 0 ? name : `${name}:${i}`));
      nodes.push({
        opType,
        name,
        input: [...opInputs],
        output: outputs,
        attribute: Object.entries(attributes).map(([k, a]) => attributeProto(k, a)),
      });
      return outputs;
    };
    return {
      name: node.name,
      inputs: inputNames,
      inputShapes: node.inputs.map((i) => facts[i]!.shape!),
      outputShape: facts[node.id]!.shape!,
      opset: options.opset,
      param(name) {
        const full = `${node.name}.${name}`;
        const t = model.params[node.id]![name];
        if (!t) throw new Error(`${node.kind} has no parameter '${name}'`);
        if (!initialized.has(full)) {
          initialized.add(full);
          initializers.push(floatInitializer(full, t));
        }
        return full;
      },
      constant(dims, data, type) {
        const name = `${node.name}/Constant_${counter++}`;
        initializers.push(type === "float" ? floatInitializer(name, { shape: dims, data }) : int64Initializer(name, dims, data));
        return name;
      },
      op: (opType, opInputs, attributes) => opWithOutputs(opType, opInputs, 1, attributes)[0]!,
      opWithOutputs,
    };
  };

  const refuse = (node: IrNode, message: string): void => {
    diagnostics.push(diagnostic("onnx-export", node.span, message, { chain: node.chain }));
  };

  const refuseKind = (node: IrNode, def: AnyLayerDef): void => refuse(node, `dlc export cannot export ${def.kind} to ONNX yet`);

  const run = (def: AnyLayerDef, node: IrNode, inputNames: readonly string[], args: unknown): string | undefined => {
    if (!def.onnx) {
      refuseKind(node, def);
      return undefined;
    }
    const out = def.onnx(contextFor(node, inputNames), args);
    if (typeof out === "string") return out;
    refuse(node, `dlc export cannot export this ${def.kind} to ONNX exactly: ${out.refuse}`);
    return undefined;
  };

  for (const node of network.nodes) {
    if (node.kind === "input") continue;
    const inputNames = node.inputs.map((i) => values[i]);
    // After a refusal, later nodes only report their own kinds' lack of an export: one message each.
    if (inputNames.some((v) => v === undefined)) {
      if (!node.def.onnx) refuseKind(node, node.def);
      continue;
    }
    let y = run(node.def, node, inputNames as string[], node.args);
    if (y !== undefined && node.activation) {
      y = run(registry.get(node.activation.kind)!, node, [y], { alpha: node.activation.alpha });
    }
    values[node.id] = y;
  }
  if (diagnostics.length > 0) return { diagnostics };

  // The graph output is `output` (or `output_…` should an input be called that), fed by an Identity.
  const inputNames = new Set(spec.inputs.map((i) => i.name));
  let outputName = "output";
  while (inputNames.has(outputName)) outputName += "_";
  nodes.push({ opType: "Identity", name: outputName, input: [values[network.output!]!], output: [outputName] });
  const outputs = [valueInfo(outputName, FLOAT, facts[network.output!]!.shape!)];
  const bytes = encodeModel({
    graphName: network.name ?? "dlc",
    opset: options.opset,
    producerVersion: options.producerVersion,
    nodes,
    initializers,
    inputs,
    outputs,
  });
  return { bytes, diagnostics };
}
