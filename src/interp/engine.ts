import type { LossKind } from "../ir/types.js";
import type { TrainEngine } from "../codegen/runtime/trainer.js";
import type { Dataset as RuntimeDataset } from "../codegen/runtime/public-types.js";
import { randomOnState } from "../codegen/runtime/random.js";
import { computeLoss } from "./losses.js";
import type { Model } from "./model.js";
import { makeOptimizer, type Optimizer, type OptimizerConfig, type OptimizerState } from "./optimizers.js";
import { weightDiverged } from "./divergence.js";
import type { Dataset } from "./train.js";

/** A capture of the interpreter's training state: every weight (state included), the optimizer, the dropout generator. */
export interface InterpState {
  readonly weights: readonly Float64Array[];
  readonly optimizer: OptimizerState;
  readonly random: number;
}

export interface InterpEngine extends TrainEngine<InterpState> {
  readonly optimizer: Optimizer;
  /** The dropout generator's state. */
  randomState(): number;
  setRandomState(state: number): void;
}

/**
 * The float64 interpreter as the training loop's engine (runtime/trainer.ts): `dlc train
 * --interpret`. Its arithmetic is the interpreter's alone — forward, the loss (fused where the
 * network ends in the loss's activation), backward, the optimizer — and its dropout draws come
 * from the generator seeded with `seed`, so runs are the same as they always were.
 */
export function interpEngine(model: Model, data: Dataset, o: { loss: LossKind; optimizer: OptimizerConfig; seed: number; bptt?: number; maxBatch: number }): InterpEngine {
  const randomState = new Uint32Array(1);
  randomState[0] = o.seed >>> 0;
  const ctx = { training: true, random: randomOnState(randomState, 0), bptt: o.bptt };
  const inference = { training: false, random: randomOnState(new Uint32Array(1), 0) };
  const optimizer = makeOptimizer(o.optimizer);
  const fused = model.fusedWith(o.loss);
  const named = [...model.namedWeights()];
  const slots = model.trainableSlots();
  let outputs: Float64Array | undefined;
  return {
    maxBatch: o.maxBatch,
    optimizer,
    randomState: () => randomState[0]!,
    setRandomState: (state) => void (randomState[0] = state >>> 0),
    trainBatch(order, start, n, lr) {
      const indices: number[] = [];
      for (let i = 0; i < n; i++) indices.push(order[start + i]!);
      const batch = data.batch(indices);
      const pass = model.forward(batch.inputs, ctx, fused);
      outputs = pass.output.data;
      const { loss, grad } = computeLoss(o.loss, pass.output, pass.logits, batch.targets, fused);
      if (!Number.isFinite(loss)) return loss;
      model.zeroGrads();
      model.backward(pass, grad, ctx, fused);
      optimizer.step(slots, lr);
      return loss;
    },
    trainedOutputs: () => outputs,
    brokenWeight() {
      for (const [name, t] of named) {
        const w = t.data;
        for (let i = 0; i < w.length; i++) if (weightDiverged(w[i]!)) return { weight: name, value: w[i]! };
      }
      return undefined;
    },
    capture: () => ({ weights: named.map(([, t]) => t.data.slice()), optimizer: optimizer.state(slots), random: randomState[0]! }),
    restore(state) {
      named.forEach(([, t], i) => t.data.set(state.weights[i]!));
      optimizer.setState(state.optimizer, slots);
      randomState[0] = state.random;
    },
    evaluateBatch(set: RuntimeDataset, start, n) {
      const inputs = model.checked.network.inputs.map((_, k) => {
        const x = set.inputs[k]!;
        const width = x.length / set.size;
        return { shape: [n, ...inputShape(model, k)], data: x.subarray(start * width, (start + n) * width) };
      });
      const pass = model.forward(inputs, inference, fused);
      const t = set.targets;
      let loss = NaN;
      if (t) {
        const per = t.kind === "values" ? pass.output.data.length / n : t.perSample;
        const slice = t.data.subarray(start * per, (start + n) * per);
        const targets = t.kind === "values" ? { kind: "values" as const, tensor: { shape: pass.output.shape, data: slice as Float64Array } } : { kind: "classes" as const, indices: slice as Int32Array };
        loss = computeLoss(o.loss, pass.output, pass.logits, targets, fused).loss;
      }
      return { loss, outputs: pass.output.data };
    },
  };
}

function inputShape(model: Model, k: number): readonly number[] {
  const node = model.checked.network.nodes[model.checked.network.inputs[k]!]!;
  return model.checked.facts[node.id]!.shape!;
}
