// The one training loop (runtime/trainer.ts) on the interpreter: divergence found lazily (at a
// safe point, not after every batch) is still undone at exactly the batch that caused it.
import { describe, expect, it } from "vitest";
import { analyze } from "../src/index.js";
import { arrayDataset } from "../src/interp/array-dataset.js";
import { Model } from "../src/interp/model.js";
import { seededRandom } from "../src/interp/random.js";
import { train } from "../src/interp/train.js";

function linear(k: number, b: number): Model {
  const a = analyze("input 1\ndense 1\n");
  const model = new Model(a.selected!, seededRandom(1));
  model.loadWeights(new Map([["dense1.kernel", { data: Float64Array.of(k) }], ["dense1.bias", { data: Float64Array.of(b) }]]));
  return model;
}
const weightsOf = (m: Model): number[] => ["dense1.kernel", "dense1.bias"].map((n) => m.namedWeights().get(n)!.data[0]!);

describe("divergence found at a safe point is replayed to the batch that caused it", () => {
  // Four identical samples x = 1, y = 0, batch 1, lr 2, from k = 1e38, b = 0 (the order cannot matter):
  // batch 1: a = 1e38 → k = −1e38, b = −2e38 (in range); batch 2: a = −3e38 → k = 5e38: past float32.
  const four = arrayDataset({ size: 4, inputs: [{ shape: [1], data: Float64Array.of(1, 1, 1, 1) }], targets: { kind: "values", shape: [1], data: Float64Array.of(0, 0, 0, 0) } });
  for (const safePointMs of [undefined, 0, 1e9]) {
    it(`safe points ${safePointMs === undefined ? "every 250 ms (the default)" : safePointMs === 0 ? "after every batch" : "only at the epoch's end"}: epoch 1, batch 2, one good batch, its weights kept`, async () => {
      const model = linear(1e38, 0);
      const outcome = await train(model, four, { loss: "squared", optimizer: { kind: "sgd", lr: 2 }, epochs: 3, batch: 1, seed: 1, safePointMs });
      expect(outcome.status).toBe("diverged");
      if (outcome.status !== "diverged") return;
      expect([outcome.epoch, outcome.batch, outcome.goodBatches, outcome.reason, outcome.weight]).toEqual([1, 2, 1, "weight", "dense1.kernel"]);
      expect(outcome.value).toBeCloseTo(5e38, -24);
      expect(weightsOf(model)).toEqual([1e38 - 2 * 1e38, 0 - 2 * 1e38]);
    });
  }
});
