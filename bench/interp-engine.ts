/** The interpreter as a benchmark engine: `train()` of src/interp on the synthetic data set. */
import { arrayDataset } from "../src/interp/array-dataset.js";
import { Model } from "../src/interp/model.js";
import { seededRandom } from "../src/interp/random.js";
import { train, type Dataset, type EpochReport } from "../src/interp/train.js";
import { MemoryPeak, type Trainer } from "./measure.js";
import { LEARNING_RATE, checkedWorkload, type SyntheticData, type Workload } from "./workloads.js";

export function interpDataset(w: Workload, data: SyntheticData): Dataset {
  return arrayDataset({
    size: data.size,
    inputs: [{ shape: [...w.inputShape], data: data.x }],
    targets: { kind: "values", shape: [w.classes], data: data.oneHot },
  });
}

export interface InterpSetup {
  readonly model: Model;
  readonly dataset: Dataset;
  /** Peak memory seen while training (sampled between batches). */
  readonly memory: MemoryPeak;
}

export function interpSetup(w: Workload, data: SyntheticData): InterpSetup {
  return { model: new Model(checkedWorkload(w), seededRandom(1)), dataset: interpDataset(w, data), memory: new MemoryPeak() };
}

/** Trains with the interpreter's own loop (`dlc train --interpret`'s), stopping once `ms` have passed. */
export function interpTrainer(w: Workload, setup: InterpSetup): Trainer {
  let seed = 1;
  return {
    async run(ms) {
      const start = performance.now();
      let samples = 0;
      setup.memory.sample(true);
      await train(setup.model, setup.dataset, {
        loss: w.loss,
        optimizer: { kind: "sgd", lr: LEARNING_RATE },
        epochs: Number.MAX_SAFE_INTEGER,
        batch: w.batch,
        seed: seed++,
        onBatch: () => {
          samples += w.batch;
          setup.memory.sample();
        },
        shouldStop: () => performance.now() - start >= ms,
      });
      setup.memory.sample(true);
      return { samples, seconds: (performance.now() - start) / 1000 };
    },
  };
}

/** Memory after each epoch, measured after a full collection. */
export interface EpochMemory {
  readonly epoch: number;
  readonly heapUsed: number;
  readonly arrayBuffers: number;
  readonly rss: number;
  readonly samplesPerSecond: number;
}

/** Trains `epochs` whole epochs and records memory after each (`gc` run first when given). */
export async function memoryOverEpochs(w: Workload, data: SyntheticData, epochs: number, gc: (() => void) | undefined): Promise<EpochMemory[]> {
  const setup = interpSetup(w, data);
  const out: EpochMemory[] = [];
  await train(setup.model, setup.dataset, {
    loss: w.loss,
    optimizer: { kind: "sgd", lr: LEARNING_RATE },
    epochs,
    batch: w.batch,
    seed: 1,
    onEpoch: (r: EpochReport) => {
      // Twice: typed arrays' backing stores are swept in the background after the first collection.
      gc?.();
      gc?.();
      const m = process.memoryUsage();
      out.push({ epoch: r.epoch, heapUsed: m.heapUsed, arrayBuffers: m.arrayBuffers, rss: m.rss, samplesPerSecond: r.samplesPerSecond });
    },
  });
  return out;
}
