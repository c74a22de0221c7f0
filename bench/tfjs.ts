/**
 * TensorFlow.js as a benchmark engine: the layers API (`tf.sequential`, `trainOnBatch`) with
 * the CPU backend and the WASM backend. Loaded lazily: without the packages the bench still
 * runs and marks these columns unavailable.
 */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { timeSteps, type Trainer } from "./measure.js";
import { LEARNING_RATE, type SyntheticData, type Workload } from "./workloads.js";

export type TfBackend = "cpu" | "wasm";

// The little of TensorFlow.js the bench uses, typed here so that the bench compiles without it.
interface TfTensor {
  dispose(): void;
}
interface TfLayer {
  readonly _layer?: never;
}
interface TfModel {
  add(layer: TfLayer): void;
  compile(config: { optimizer: unknown; loss: string }): void;
  trainOnBatch(x: TfTensor, y: TfTensor): Promise<number | number[]>;
  dispose(): void;
}
type LayerFactory = (config: Record<string, unknown>) => TfLayer;
interface Tf {
  readonly version: { readonly "tfjs-core": string };
  setBackend(name: string): Promise<boolean>;
  ready(): Promise<void>;
  getBackend(): string;
  sequential(): TfModel;
  tensor(values: Float32Array, shape: number[]): TfTensor;
  memory(): { numTensors: number };
  env(): { getAsync(flag: string): Promise<unknown> };
  train: { sgd(lr: number): unknown };
  layers: Record<"dense" | "conv2d" | "averagePooling2d" | "flatten" | "lstm", LayerFactory>;
}
interface TfWasm {
  setWasmPaths(prefix: string): void;
  getThreadsCount?(): number;
}

export interface TfLoaded {
  readonly tf: Tf;
  readonly version: string;
  /** Why the WASM backend is missing, when it is. */
  readonly wasmProblem?: string;
  /** SIMD and threads of the WASM backend, as it reports them. */
  readonly wasmInfo?: string;
}

let loading: Promise<TfLoaded | { problem: string }> | undefined;

/** Imports TensorFlow.js and its WASM backend once (the `.wasm` files from node_modules, nothing fetched). */
export function loadTf(): Promise<TfLoaded | { problem: string }> {
  loading ??= load();
  return loading;
}

async function load(): Promise<TfLoaded | { problem: string }> {
  // TensorFlow.js greets Node users with advice to install tfjs-node; keep the bench's output clean.
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (!String(args[0]).includes("tfjs-node")) warn(...args);
  };
  try {
    const tfName = "@tensorflow/tfjs";
    let tf: Tf;
    try {
      tf = (await import(tfName)) as Tf;
    } catch (e) {
      return { problem: `@tensorflow/tfjs is not installed (${firstLine(e)})` };
    }
    await tf.setBackend("cpu");
    await tf.ready();
    tf.tensor(new Float32Array(1), [1]).dispose(); // the greeting comes with the cpu backend's first tensor
    let wasmProblem: string | undefined;
    let wasmInfo: string | undefined;
    try {
      const wasmName = "@tensorflow/tfjs-backend-wasm";
      const wasm = (await import(wasmName)) as TfWasm;
      const packageJson = createRequire(import.meta.url).resolve(`${wasmName}/package.json`);
      wasm.setWasmPaths(join(dirname(packageJson), "dist") + "/");
      if (!(await tf.setBackend("wasm"))) throw new Error("the wasm backend did not initialise");
      await tf.ready();
      const simd = await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT");
      const threads = await tf.env().getAsync("WASM_HAS_MULTITHREAD_SUPPORT");
      wasmInfo = `SIMD ${simd ? "on" : "off"}, multithreading ${threads ? `on (${wasm.getThreadsCount?.() ?? "?"} threads)` : "off"}`;
      await tf.setBackend("cpu");
    } catch (e) {
      wasmProblem = `@tensorflow/tfjs-backend-wasm unavailable (${firstLine(e)})`;
    }
    return { tf, version: tf.version["tfjs-core"], wasmProblem, wasmInfo };
  } finally {
    console.warn = warn;
  }
}

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split("\n")[0]!;
}

/** The workload's layers in the layers API, with dlc's choices spelled out (sigmoid gates in the LSTM). */
function buildModel(tf: Tf, w: Workload): TfModel {
  const m = tf.sequential();
  const L = tf.layers;
  switch (w.layers) {
    case "mlp":
      m.add(L.dense({ inputShape: [784], units: 128, activation: "relu" }));
      m.add(L.dense({ units: 10, activation: "softmax" }));
      break;
    case "lenet5":
      m.add(L.conv2d({ inputShape: [28, 28, 1], filters: 6, kernelSize: 5, padding: "same", activation: "tanh" }));
      m.add(L.averagePooling2d({ poolSize: 2, strides: 2 }));
      m.add(L.conv2d({ filters: 16, kernelSize: 5, padding: "valid", activation: "tanh" }));
      m.add(L.averagePooling2d({ poolSize: 2, strides: 2 }));
      m.add(L.flatten({}));
      m.add(L.dense({ units: 120, activation: "tanh" }));
      m.add(L.dense({ units: 84, activation: "tanh" }));
      m.add(L.dense({ units: 10, activation: "softmax" }));
      break;
    case "lstm":
      // TensorFlow.js defaults the gates to hardSigmoid; dlc (like current Keras and PyTorch) uses sigmoid.
      // Its default orthogonal recurrent initialiser takes ~25 s on the cpu backend (a QR in JS):
      // Glorot instead, which changes the starting weights only, not the work per step.
      m.add(L.lstm({ inputShape: [50, 32], units: 128, recurrentActivation: "sigmoid", recurrentInitializer: "glorotUniform" }));
      m.add(L.dense({ units: 10, activation: "softmax" }));
      break;
    case "seed":
      m.add(L.dense({ inputShape: [3], units: 2, activation: "relu" }));
      m.add(L.dense({ units: 2, activation: "sigmoid" }));
      m.add(L.dense({ units: 1, activation: "sigmoid" }));
      break;
  }
  m.compile({ optimizer: tf.train.sgd(LEARNING_RATE), loss: w.loss === "squared" ? "meanSquaredError" : "categoricalCrossentropy" });
  return m;
}

/**
 * A TensorFlow.js trainer on `backend`: one `trainOnBatch` per batch (`w.batch`), on tensors made
 * once beforehand. Throws what TensorFlow.js throws (e.g. a kernel the backend lacks) on the
 * first batch, so the table can say so.
 */
export async function tfTrainer(t: TfLoaded, backend: TfBackend, w: Workload, data: SyntheticData): Promise<Trainer> {
  const { tf } = t;
  if (!(await tf.setBackend(backend))) throw new Error(`backend ${backend} did not initialise`);
  await tf.ready();
  const inWidth = data.x.length / data.size;
  const batches = Math.floor(data.size / w.batch);
  const xs: TfTensor[] = [];
  const ys: TfTensor[] = [];
  const x = Float32Array.from(data.x);
  const y = Float32Array.from(data.oneHot);
  for (let b = 0; b < batches; b++) {
    xs.push(tf.tensor(x.slice(b * w.batch * inWidth, (b + 1) * w.batch * inWidth), [w.batch, ...w.inputShape]));
    ys.push(tf.tensor(y.slice(b * w.batch * w.classes, (b + 1) * w.batch * w.classes), [w.batch, w.classes]));
  }
  const model = buildModel(tf, w);
  const dispose = (): void => {
    model.dispose();
    for (const t of [...xs, ...ys]) t.dispose();
  };
  let b = 0;
  const step = async (): Promise<void> => {
    await model.trainOnBatch(xs[b]!, ys[b]!);
    b = (b + 1) % batches;
  };
  try {
    await step();
  } catch (e) {
    dispose();
    throw e;
  }
  return { run: (ms) => timeSteps(step, w.batch, ms), dispose };
}
