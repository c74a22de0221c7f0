/**
 * The networks the training benchmarks train (as .dl text), their synthetic data, and their
 * FLOP counts. Every engine (interpreter, compiled module, TensorFlow.js) trains the same
 * layers on the same samples, batch 32 (one LSTM workload at batch 16), plain SGD, cross-entropy on a softmax output.
 */
import { analyze, summarize, type CheckedNetwork } from "../src/index.js";
import { seededRandom } from "../src/interp/random.js";

export const BATCH = 32;
export const LEARNING_RATE = 0.01;

export type WorkloadName = "seed" | "mlp" | "lenet5" | "lstm" | "lstm16";

/** The layer stacks the other engines (TF.js, PyTorch) know how to build. */
export type LayersName = "seed" | "mlp" | "lenet5" | "lstm";

export interface Workload {
  readonly name: WorkloadName;
  /** Which layer stack this is: workloads that differ only in batch size share one. */
  readonly layers: LayersName;
  /** How the tables name it. */
  readonly label: string;
  /** Samples per training step. */
  readonly batch: number;
  readonly text: string;
  /** Per-sample input shape (without the batch). */
  readonly inputShape: readonly number[];
  /** Output width (classes for the softmax networks). */
  readonly classes: number;
  readonly loss: "cross_entropy" | "squared";
}

const TRAIN = (loss: string, batch = BATCH): string => `\ntrain {\n  loss ${loss}\n  optimizer sgd lr ${LEARNING_RATE}\n  batch ${batch}\n  epochs 1\n}\n`;
const LSTM_LAYERS = `network lstm {\n  input 50x32\n  lstm 128\n  dense 10 softmax\n}\n`;

export const WORKLOADS: Readonly<Record<WorkloadName, Workload>> = {
  // The course notes' homework network (examples/seed.dl): 3-2-2-1, squared error.
  seed: {
    name: "seed",
    layers: "seed",
    batch: BATCH,
    label: "seed 3-2-2-1",
    text: `network seed {\n  input 3\n  dense 2 relu\n  dense 2 sigmoid\n  dense 1 sigmoid\n}\n${TRAIN("squared")}`,
    inputShape: [3],
    classes: 1,
    loss: "squared",
  },
  mlp: {
    name: "mlp",
    layers: "mlp",
    batch: BATCH,
    label: "MLP 784-128-10",
    text: `network mlp {\n  input 784\n  dense 128 relu\n  dense 10 softmax\n}\n${TRAIN("cross_entropy")}`,
    inputShape: [784],
    classes: 10,
    loss: "cross_entropy",
  },
  // examples/lenet5.dl's layers (tanh, average pooling), with plain SGD.
  lenet5: {
    name: "lenet5",
    layers: "lenet5",
    batch: BATCH,
    label: "LeNet-5 28x28x1",
    text:
      "network lenet5 {\n  input 28x28x1\n  conv 6 5x5 pad 2 tanh\n  avgpool 2 stride 2\n  conv 16 5x5 tanh\n  avgpool 2 stride 2\n" +
      `  flatten\n  dense 120 tanh\n  dense 84 tanh\n  dense 10 softmax\n}\n${TRAIN("cross_entropy")}`,
    inputShape: [28, 28, 1],
    classes: 10,
    loss: "cross_entropy",
  },
  lstm: {
    name: "lstm",
    layers: "lstm",
    label: "LSTM T50 32→128, dense 10",
    batch: BATCH,
    text: `${LSTM_LAYERS}${TRAIN("cross_entropy")}`,
    inputShape: [50, 32],
    classes: 10,
    loss: "cross_entropy",
  },
  // The same LSTM at batch 16: the fast-path issue's PyTorch comparison for the LSTM is at this batch.
  lstm16: {
    name: "lstm16",
    layers: "lstm",
    label: "LSTM T50 32→128, dense 10, batch 16",
    batch: 16,
    text: `${LSTM_LAYERS}${TRAIN("cross_entropy", 16)}`,
    inputShape: [50, 32],
    classes: 10,
    loss: "cross_entropy",
  },
};

export function checkedWorkload(w: Workload): CheckedNetwork {
  const a = analyze(w.text);
  if (a.hasErrors || !a.selected) throw new Error(`${w.label}: ${a.diagnostics.map((d) => d.message).join("; ")}`);
  return a.selected;
}

/** Multiply-accumulates of one forward pass for one sample (LANGUAGE.md §7's count). */
export function macsPerSample(w: Workload): number {
  return summarize(checkedWorkload(w)).macs;
}

/**
 * FLOPs of one training step per sample: forward 2·MACs, backward about 2× the forward (one
 * product for the input gradient, one for the weight gradient), so 6·MACs in all. Activations,
 * pooling, the loss and the optimizer are not counted; neither is the input gradient of the
 * first layer, which no engine needs but the formula includes.
 */
export function trainFlopsPerSample(w: Workload): number {
  return 6 * macsPerSample(w);
}

export interface SyntheticData {
  readonly size: number;
  /** size × input values, uniform in [−1, 1). */
  readonly x: Float64Array;
  /** size class indices (0 for the one-output seed network). */
  readonly labels: Int32Array;
  /** size × classes: one-hot rows, or for one output the target value (0 or 1). */
  readonly oneHot: Float64Array;
}

/** Deterministic random samples and labels: the same for every engine. */
export function syntheticData(w: Workload, size: number, seed = 42): SyntheticData {
  const random = seededRandom(seed);
  const width = w.inputShape.reduce((a, b) => a * b, 1);
  const x = new Float64Array(size * width);
  for (let i = 0; i < x.length; i++) x[i] = 2 * random() - 1;
  const labels = new Int32Array(size);
  const oneHot = new Float64Array(size * w.classes);
  for (let s = 0; s < size; s++) {
    if (w.classes === 1) {
      oneHot[s] = random() < 0.5 ? 0 : 1;
    } else {
      labels[s] = Math.floor(random() * w.classes);
      oneHot[s * w.classes + labels[s]!] = 1;
    }
  }
  return { size, x, labels, oneHot };
}
