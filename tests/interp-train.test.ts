import { readFileSync, existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { analyze } from "../src/index.js";
import { arrayDataset } from "../src/interp/array-dataset.js";
import { Model } from "../src/interp/model.js";
import { seededRandom } from "../src/interp/random.js";
import { train } from "../src/interp/train.js";
import type { LossKind } from "../src/ir/types.js";
import { loadSeedCases, seedCasesPath } from "./helpers/seed-cases.js";


function modelOf(text: string, seed = 1): Model {
  const a = analyze(text);
  expect(a.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  return new Model(a.selected!, seededRandom(seed));
}

function flat(v: unknown): number[] {
  return Array.isArray(v) ? v.flatMap(flat) : [v as number];
}

describe("seed homework network (homework_q3): one SGD step at lr 0.7", () => {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON read for its numbers only
  const cases = loadSeedCases<any>();
  const hw = cases.find((c: { id: string }) => c.id === "homework_q3");

  for (const [loss, expectedKey, lossKey] of [
    ["squared", "expectedUpdated_squared", "loss_squared"],
    // The notes' "cross entropy" is −[y log a + (1−y) log(1−a)] on one sigmoid output: binary_cross_entropy.
    ["binary_cross_entropy", "expectedUpdated_cross_entropy", "loss_cross_entropy"],
  ] as const) {
    it(`${loss}: forward values, loss and every updated weight match the float64 reference`, async () => {
      const model = modelOf(hw.dlc.dl);
      const weights = new Map(Object.entries(hw.dlc.weights as Record<string, unknown>).map(([k, v]) => [k, { data: Float64Array.from(flat(v)) }]));
      model.loadWeights(weights);
      const named = model.namedWeights();
      for (const [k, w] of weights) expect(Array.from(named.get(k)!.data)).toEqual(Array.from(w.data));

      const data = arrayDataset({
        size: 1,
        inputs: [{ shape: [3], data: Float64Array.from(hw.dlc.data.x[0]) }],
        targets: { kind: "values", shape: [1], data: Float64Array.from(hw.dlc.data.y[0]) },
      });
      const forward = model.forward(data.batch([0]).inputs, { training: false, random: seededRandom(0) });
      expect(forward.output.data[0]).toBeCloseTo(hw.expected.forward.a8, 12);

      const outcome = await train(model, data, { loss: loss as LossKind, optimizer: { kind: "sgd", lr: 0.7 }, epochs: 1, batch: 1, seed: 1 });
      expect(outcome.status).toBe("done");
      expect(outcome.epochs[0]!.loss).toBeCloseTo(hw.expected.forward[lossKey], 12);
      const after = model.namedWeights();
      for (const [name, value] of Object.entries(hw.dlc[expectedKey] as Record<string, unknown>)) {
        const want = flat(value);
        const got = Array.from(after.get(name)!.data);
        want.forEach((w, i) => expect(got[i]).toBeCloseTo(w, 12));
      }
    });
  }
});

describe("training learns", () => {
  it("XOR with a 2-8-1 network (tanh, sigmoid, binary cross-entropy, adam)", async () => {
    const model = modelOf("input 2\ndense 8 tanh\ndense 1 sigmoid\n", 3);
    const x = Float64Array.from([0, 0, 0, 1, 1, 0, 1, 1]);
    const y = Float64Array.from([0, 1, 1, 0]);
    const data = arrayDataset({ size: 4, inputs: [{ shape: [2], data: x }], targets: { kind: "values", shape: [1], data: y } });
    const outcome = await train(model, data, { loss: "binary_cross_entropy", optimizer: { kind: "adam", lr: 0.05 }, epochs: 500, batch: 4, seed: 3 });
    expect(outcome.status).toBe("done");
    const out = model.forward(data.batch([0, 1, 2, 3]).inputs, { training: false, random: seededRandom(0) }).output.data;
    expect(Array.from(out).map((v) => (v > 0.5 ? 1 : 0))).toEqual([0, 1, 1, 0]);
    expect(outcome.epochs.at(-1)!.loss).toBeLessThan(0.05);
  });

  it("a small synthetic image task: the loss falls by 10x", async () => {
    // 8x8 images: class 0 has a bright vertical bar, class 1 a horizontal bar, at random places, plus noise.
    const n = 64;
    const r = seededRandom(11);
    const x = new Float64Array(n * 64);
    const y = new Int32Array(n);
    for (let s = 0; s < n; s++) {
      const cls = s % 2;
      y[s] = cls;
      const at = 1 + Math.floor(r() * 6);
      for (let i = 0; i < 8; i++) for (let j = 0; j < 8; j++) {
        const on = cls === 0 ? j === at : i === at;
        x[s * 64 + i * 8 + j] = (on ? 1 : 0) + 0.1 * (r() - 0.5);
      }
    }
    const model = modelOf("input 8x8x1\nconv 4 3x3 relu\nmaxpool 2\nflatten\ndense 2 softmax\n", 5);
    const data = arrayDataset({ size: n, inputs: [{ shape: [8, 8, 1], data: x }], targets: { kind: "classes", perSample: 1, data: y } });
    const outcome = await train(model, data, { loss: "cross_entropy", optimizer: { kind: "sgd", lr: 0.1, momentum: 0.9 }, epochs: 30, batch: 16, seed: 5 });
    expect(outcome.status).toBe("done");
    expect(outcome.epochs.at(-1)!.loss).toBeLessThan(outcome.epochs[0]!.loss / 10);
  });

  it("frozen layers are never updated", async () => {
    const model = modelOf("input 3\nfirst: dense 4 relu frozen\ndense 1\n", 2);
    const before = new Float64Array(model.namedWeights().get("first.kernel")!.data);
    const otherBefore = new Float64Array(model.namedWeights().get("dense1.kernel")!.data);
    const data = arrayDataset({ size: 2, inputs: [{ shape: [3], data: Float64Array.from([1, 2, 3, -1, 0, 1]) }], targets: { kind: "values", shape: [1], data: Float64Array.from([1, -1]) } });
    await train(model, data, { loss: "squared", optimizer: { kind: "sgd", lr: 0.1 }, epochs: 3, batch: 2, seed: 1 });
    expect(Array.from(model.namedWeights().get("first.kernel")!.data)).toEqual(Array.from(before));
    expect(Array.from(model.namedWeights().get("dense1.kernel")!.data)).not.toEqual(Array.from(otherBefore));
  });

  it("a loss that turns infinite stops training before the update, naming epoch and batch", async () => {
    const model = modelOf("input 1\ndense 1\n", 2);
    const data = arrayDataset({ size: 2, inputs: [{ shape: [1], data: Float64Array.from([1, 1e200]) }], targets: { kind: "values", shape: [1], data: Float64Array.from([0, 0]) } });
    const before = new Float64Array(model.namedWeights().get("dense1.kernel")!.data);
    const outcome = await train(model, data, { loss: "squared", optimizer: { kind: "sgd", lr: 0.1 }, epochs: 2, batch: 2, seed: 1 });
    expect(outcome.status).toBe("diverged");
    if (outcome.status === "diverged") expect([outcome.epoch, outcome.batch]).toEqual([1, 1]);
    expect(Array.from(model.namedWeights().get("dense1.kernel")!.data)).toEqual(Array.from(before));
  });
});
