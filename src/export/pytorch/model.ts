import type { CheckedNetwork } from "../../check/infer.js";
import { commentText } from "../../codegen/safe-text.js";
import { diagnostic } from "../../diag/codes.js";
import type { Diagnostic } from "../../diag/diagnostic.js";
import { dataSpecOf } from "../../io/data-spec.js";
import { finalActivation } from "../../ir/activation.js";
import type { IrNode, TrainConfig } from "../../ir/types.js";
import { registry } from "../../layers/registry.js";
import type { AnyLayerDef, ParamSpec } from "../../layers/types.js";
import { COMMON_PYTHON } from "./common-python.js";
import { pyLiteral, pyString, pythonIdentifiers } from "./python-text.js";
import { resolvedTrain } from "./train-config.js";
import type { PythonHelper, PytorchContext, PytorchLayer } from "./types.js";

export interface PytorchModelOptions {
  /** The .dl file's name, for the header comment. */
  readonly file: string;
  readonly version: string;
  /** The file's train { } block (dlc's defaults fill what it leaves out). */
  readonly train?: TrainConfig;
}

/** model.py's text, or the statements that cannot be exported (then no text). */
export interface PytorchModelResult {
  readonly text?: string;
  readonly diagnostics: readonly Diagnostic[];
}

/** Fan-in and fan-out as dlc's initialiser computes them (src/interp/init.ts). */
function fansOf(spec: ParamSpec): [number, number] {
  if (spec.fans) return [spec.fans[0], spec.fans[1]];
  const s = spec.shape;
  if (s.length === 1) return [s[0]!, s[0]!];
  return [s.slice(0, -1).reduce((a, b) => a * b, 1), s[s.length - 1]!];
}

/** One exported node: its Python identifier and its layer (with a fused activation's form). */
interface Exported {
  readonly node: IrNode;
  readonly id: string;
  readonly layer: PytorchLayer;
  readonly activation?: PytorchLayer;
}

/**
 * DIR/model.py for a checked network: NETWORK, WEIGHTS, the helpers its layers need, and
 * `class Net(torch.nn.Module)` with one attribute per layer (named after dlc's layer, made a safe
 * unique identifier), forward, dlc_state/load_dlc_state and load_dlc/save_dlc. Each node asks its
 * registry entry for its PyTorch form; a kind without one is refused at its statement.
 */
export function pytorchModel(checked: CheckedNetwork, options: PytorchModelOptions): PytorchModelResult {
  const { network, facts } = checked;
  const spec = dataSpecOf(checked);
  const ids = pythonIdentifiers(network.nodes.map((n) => n.name));
  const diagnostics: Diagnostic[] = [];
  const exported: Exported[] = [];

  const refuse = (node: IrNode, message: string): void => {
    diagnostics.push(diagnostic("pytorch-export", node.span, message, { chain: node.chain }));
  };
  const exportOf = (def: AnyLayerDef, node: IrNode, ctx: PytorchContext, args: unknown): PytorchLayer | undefined => {
    if (!def.pytorch) {
      refuse(node, `dlc export cannot export ${def.kind} to PyTorch yet`);
      return undefined;
    }
    const out = def.pytorch(ctx, args);
    if ("refuse" in out) {
      refuse(node, `dlc export cannot export this ${def.kind} to PyTorch exactly: ${out.refuse}`);
      return undefined;
    }
    return out;
  };

  for (const node of network.nodes) {
    if (node.kind === "input") continue;
    const ctx: PytorchContext = {
      inputShapes: node.inputs.map((i) => facts[i]!.shape!),
      outputShape: facts[node.id]!.shape!,
      frozen: node.frozen,
      fused: false,
      bptt: "bptt",
    };
    const layer = exportOf(node.def, node, ctx, node.args);
    const activation = node.activation ? exportOf(registry.get(node.activation.kind)!, node, { ...ctx, fused: true }, { alpha: node.activation.alpha }) : undefined;
    if (layer && (!node.activation || activation)) exported.push({ node, id: ids[node.id]!, layer, activation });
    const names = new Set((layer?.weights ?? []).map((w) => w.name));
    const specs = [...facts[node.id]!.params, ...facts[node.id]!.state].map((s) => s.name);
    if (layer && (specs.length !== names.size || specs.some((s) => !names.has(s)))) throw new Error(`${node.kind}'s PyTorch export names weights ${[...names].join(", ")}, its specs ${specs.join(", ")}`);
  }
  if (diagnostics.length > 0) return { diagnostics };

  const inputIds = network.inputs.map((i) => ids[i]!);
  const outputNode = network.nodes[network.output!]!;
  const last = finalActivation(outputNode);
  const networkValue = {
    name: network.name,
    inputs: spec.inputs.map((i) => ({ name: i.name, shape: i.shape, dtype: i.vocabulary === undefined ? "float" : "int64", ...(i.vocabulary === undefined ? {} : { vocabulary: i.vocabulary }) })),
    output: facts[network.output!]!.shape!,
    final_activation: last ?? null,
    train: resolvedTrain(options.train),
  };
  const weights = network.nodes.flatMap((n) => [...facts[n.id]!.params, ...facts[n.id]!.state].map((s) => {
    const [fanIn, fanOut] = fansOf(s);
    return `    (${pyString(`${n.name}.${s.name}`)}, ${pyLiteral(s.shape)}, ${pyString(s.init)}, ${fanIn}, ${fanOut}),`;
  }));

  const helpers: PythonHelper[] = [];
  const addHelper = (h: PythonHelper): void => {
    if (helpers.some((x) => x.name === h.name)) return;
    for (const n of h.needs ?? []) addHelper(n);
    helpers.push(h);
  };
  for (const e of exported) for (const h of [...(e.layer.helpers ?? []), ...(e.activation?.helpers ?? [])]) addHelper(h);

  const where = (n: IrNode): string => commentText(`${options.file}:${n.span.line}:${n.span.column} ${n.text}`);
  const init: string[] = [];
  const body: string[] = [];
  const stateLines: string[] = [];
  const loadLines: string[] = [];
  let logits = "None";
  for (const e of exported) {
    const self = `self.${e.id}`;
    if (e.layer.module !== undefined) {
      init.push(`        # ${where(e.node)}`, `        ${self} = ${e.layer.module}`);
      if (e.node.frozen) init.push(`        ${self}.requires_grad_(False)`);
    }
    const inputs = e.node.inputs.map((i) => ids[i]!);
    const z = e.layer.call(self, inputs);
    if (e.node.id === network.output && e.activation) {
      body.push(`        logits = ${z}`, `        ${e.id} = ${e.activation.call("", ["logits"])}`);
      logits = "logits";
    } else {
      body.push(`        ${e.id} = ${e.activation ? e.activation.call("", [z]) : z}`);
      if (e.node.id === network.output && e.node.def.isActivation) logits = inputs[0]!;
    }
    for (const w of e.layer.weights ?? []) {
      const key = pyString(`${e.node.name}.${w.name}`);
      stateLines.push(`            ${key}: ${w.read(self)},`);
      loadLines.push(`            ${w.write(self, `state[${key}]`)}`);
    }
  }

  const args = inputIds.join(", ");
  const header = `# Generated by dlc ${commentText(options.version)} from ${commentText(options.file)}${network.name ? ` (network ${commentText(network.name)})` : ""}.
# Edit the .dl file and export again rather than editing this file. Needs only torch (1.13+);
# load_dlc/save_dlc use dlc_support.py, written beside it.`;
  const text = `${header}
"""The network as a PyTorch module: \`Net()(*inputs)\` takes batches shaped as dlc's data
(channels last, batch first; token ids as int64), in dlc's input order, and returns what
\`dlc run\` gives. Weights move between dlc and PyTorch with Net.load_dlc and Net.save_dlc."""

import importlib
import math
import warnings

import torch

# The network's inputs and output (one sample's shape), and its train { } block with dlc's defaults.
NETWORK = ${pyLiteral(networkValue)}

# Every weight as dlc names it, in dlc's order: (name, shape in dlc's layout, initialiser, fan-in, fan-out).
WEIGHTS = [
${weights.join("\n")}
]


${[COMMON_PYTHON, ...helpers.map((h) => h.code)].map((c) => c.trimEnd()).join("\n\n\n")}


class Net(torch.nn.Module):
    """One attribute per dlc layer. Frozen layers' weights have requires_grad off. Under
    torch.distributed, Net.sync_batch_statistics = True makes batchnorm use the global batch."""

    sync_batch_statistics = False

    def __init__(self, seed=NETWORK["train"]["seed"], bptt=NETWORK["train"]["bptt"]):
        """Layers with dlc's initial weights for \`seed\` (those of \`dlc train --seed\`); \`bptt\`: the
        truncated-BPTT window of recurrent layers without their own (None: full BPTT)."""
        super().__init__()
${init.join("\n")}
        self.load_dlc_state(_dlc_initial_weights(seed))

    def forward(self, ${args}):
        return self.forward_with_logits(${args})[0]

    def forward_with_logits(self, ${args}):
        """The output, and the input of the network's final activation (None if it has none):
        cross_entropy after softmax and binary_cross_entropy after sigmoid use it, as dlc does."""
${body.join("\n")}
        return ${ids[network.output!]!}, ${logits}

    def dlc_state(self):
        """Every weight (state included) by dlc's name, in dlc's layout, as a float64 CPU copy."""
        state = {
${stateLines.join("\n")}
        }
        return {name: value.detach().to("cpu", torch.float64).clone() for name, value in state.items()}

    def load_dlc_state(self, state):
        """Copies dlc-named weights in (dlc's layouts); refuses missing weights and wrong shapes."""
        state = _dlc_checked_state(state)
        with torch.no_grad():
${loadLines.length > 0 ? loadLines.join("\n") : "            pass"}
        return self

    @_dlc_instance_or_class
    def load_dlc(self, path):
        """Reads a dlc weights file (.json or .safetensors) into the Net."""
        return self.load_dlc_state(_dlc_support().read_weights(path))

    def save_dlc(self, path, dtype="f32"):
        """Writes the weights as a dlc weights file (atomically): JSON for .json, else safetensors in dtype f32 or f64."""
        _dlc_support().write_weights(path, self.dlc_state(), dtype=dtype)
`;
  return { text, diagnostics };
}
