import type { CheckedNetwork } from "../check/infer.js";
import { finalActivation } from "../ir/activation.js";
import type { IrNode, LossKind } from "../ir/types.js";
import { registry } from "../layers/registry.js";
import type { KernelContext, ParamTensors } from "../layers/types.js";
import { initParam } from "./init.js";
import { addInto, zeros, type Tensor } from "./tensor.js";


interface NodeRun {
  /** The kernel's output, before a fused activation. */
  z: Tensor;
  /** The node's output (after its fused activation, if any). */
  y: Tensor;
  xs: Tensor[];
  cache: unknown;
  activationCache: unknown;
}

export interface ForwardPass {
  readonly output: Tensor;
  /** The input of the final softmax/sigmoid, for losses fused with it. */
  readonly logits?: Tensor;
  readonly runs: readonly (NodeRun | undefined)[];
}

/**
 * A network with its parameters, run by the reference kernels of each registry entry:
 * forward over the nodes in order, backward in reverse, gradients accumulating per node.
 */
export class Model {
  /** Parameters and state of each node, by node id; empty for kinds without parameters. */
  readonly params: ParamTensors[];
  readonly grads: ParamTensors[];

  constructor(readonly checked: CheckedNetwork, random: () => number) {
    const { network, facts } = checked;
    this.params = network.nodes.map((n) => {
      const f = facts[n.id]!;
      const p: ParamTensors = {};
      for (const spec of [...f.params, ...f.state]) p[spec.name] = initParam(spec, random);
      return p;
    });
    this.grads = network.nodes.map((n) => {
      const g: ParamTensors = {};
      for (const spec of facts[n.id]!.params) g[spec.name] = zeros(spec.shape);
      return g;
    });
  }

  get nodes(): readonly IrNode[] {
    return this.checked.network.nodes;
  }

  get outputNode(): IrNode {
    return this.nodes[this.checked.network.output!]!;
  }

  /** Every weight by its file name `<layer>.<param>` (§8), state included. */
  namedWeights(): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    this.nodes.forEach((n, i) => {
      for (const [k, t] of Object.entries(this.params[i]!)) out.set(`${n.name}.${k}`, t);
    });
    return out;
  }

  /** Copies weights in (names and shapes already checked by the reader). */
  loadWeights(weights: ReadonlyMap<string, { readonly data: Float64Array }>): void {
    this.nodes.forEach((n, i) => {
      for (const [k, t] of Object.entries(this.params[i]!)) {
        const w = weights.get(`${n.name}.${k}`);
        if (w) t.data.set(w.data);
      }
    });
  }

  zeroGrads(): void {
    for (const g of this.grads) for (const t of Object.values(g)) t.data.fill(0);
  }

  /** `inputs` follow the network's input statements in order, batch first. */
  forward(inputs: readonly Tensor[], ctx: KernelContext, keepLogits = false): ForwardPass {
    const { network } = this.checked;
    const runs: (NodeRun | undefined)[] = new Array(network.nodes.length);
    let logits: Tensor | undefined;
    for (const node of network.nodes) {
      if (node.kind === "input") {
        const x = inputs[network.inputs.indexOf(node.id)]!;
        runs[node.id] = { z: x, y: x, xs: [], cache: undefined, activationCache: undefined };
        continue;
      }
      const xs = node.inputs.map((i) => runs[i]!.y);
      const kernel = node.def.kernel!;
      // A frozen batchnorm runs on its running statistics and leaves them alone, as Keras does.
      const nodeCtx = node.frozen && node.kind === "batchnorm" && ctx.training ? { ...ctx, training: false } : ctx;
      const { y: z, cache } = kernel.forward(xs, this.params[node.id]!, node.args, nodeCtx);
      let y = z;
      let activationCache: unknown;
      if (node.activation) {
        const act = registry.get(node.activation.kind)!;
        const r = act.kernel!.forward([z], {}, { alpha: node.activation.alpha }, ctx);
        y = r.y;
        activationCache = r.cache;
      }
      runs[node.id] = { z, y, xs, cache, activationCache };
      if (keepLogits && node.id === network.output) logits = node.activation ? z : node.def.isActivation ? xs[0] : undefined;
    }
    return { output: runs[network.output!]!.y, logits, runs };
  }

  /**
   * Backpropagates dL/d(output) — or, with `fromLogits`, dL/d(input of the final softmax/sigmoid),
   * skipping that activation — into `grads` (which accumulate; call zeroGrads first).
   */
  backward(pass: ForwardPass, grad: Tensor, ctx: KernelContext, fromLogits: boolean): void {
    const { network } = this.checked;
    const dys: (Tensor | undefined)[] = new Array(network.nodes.length);
    // A kernel may hand back its own dy as dx (add, flatten): copy before accumulating into it.
    const owned = new Set<Float64Array>();
    const out = this.outputNode;
    if (fromLogits && out.def.isActivation) dys[out.inputs[0]!] = grad;
    else dys[out.id] = grad;
    for (let id = network.nodes.length - 1; id >= 0; id--) {
      const node = network.nodes[id]!;
      const dy = dys[id];
      const run = pass.runs[id];
      if (!dy || !run || node.kind === "input") continue;
      if (fromLogits && node.id === out.id && out.def.isActivation) continue;
      let dz = dy;
      if (node.activation && !(fromLogits && node.id === out.id)) {
        const act = registry.get(node.activation.kind)!;
        dz = act.kernel!.backward(dy, [run.z], run.y, run.activationCache, {}, {}, { alpha: node.activation.alpha }, ctx)[0]!;
      }
      const nodeCtx = node.frozen && node.kind === "batchnorm" && ctx.training ? { ...ctx, training: false } : ctx;
      const dxs = node.def.kernel!.backward(dz, run.xs, run.z, run.cache, this.params[id]!, this.grads[id]!, node.args, nodeCtx);
      node.inputs.forEach((producer, i) => {
        const dx = dxs[i];
        if (!dx) return;
        const existing = dys[producer];
        if (existing) addInto(existing, dx);
        else if (owned.has(dx.data) || dx.data === dy.data) {
          const copy = { shape: dx.shape, data: new Float64Array(dx.data) };
          owned.add(copy.data);
          dys[producer] = copy;
        } else {
          owned.add(dx.data);
          dys[producer] = dx;
        }
      });
    }
  }

  /** Whether a loss can use the fused, stable gradient: the network ends in the matching activation. */
  fusedWith(loss: LossKind): boolean {
    const last = finalActivation(this.outputNode);
    return (loss === "cross_entropy" && last === "softmax") || (loss === "binary_cross_entropy" && last === "sigmoid");
  }

  /** The learnable tensors the optimizer updates: frozen layers are left out. */
  trainableSlots(): { key: string; param: Tensor; grad: Tensor }[] {
    const slots: { key: string; param: Tensor; grad: Tensor }[] = [];
    this.nodes.forEach((n, i) => {
      if (n.frozen) return;
      for (const [k, g] of Object.entries(this.grads[i]!)) slots.push({ key: `${n.name}.${k}`, param: this.params[i]![k]!, grad: g });
    });
    return slots;
  }
}
