import { readFileSync, existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { analyze } from "../src/index.js";
import { arrayDataset } from "../src/interp/array-dataset.js";
import { EXPLOSION_FACTOR, FLOAT32_MAX, lossDivergence, weightDiverged } from "../src/interp/divergence.js";
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

describe("divergence: the rule of divergence.ts", () => {
  it("the thresholds: a loss past 10⁴ · max(1, L0), a weight past float32's largest finite value", () => {
    // Float32's largest finite value is (2 − 2⁻²³)·2¹²⁷; the next double above it is past it.
    const f32max = (2 - 2 ** -23) * 2 ** 127;
    expect(FLOAT32_MAX).toBe(f32max);
    expect(new Float32Array([f32max])[0]).toBe(f32max);
    expect(weightDiverged(f32max)).toBe(false);
    expect(weightDiverged(-f32max)).toBe(false);
    expect(weightDiverged(f32max * (1 + 2 ** -52))).toBe(true);
    for (const w of [NaN, Infinity, -Infinity, -1e39]) expect(weightDiverged(w)).toBe(true);
    expect(EXPLOSION_FACTOR).toBe(1e4);
    expect(lossDivergence(1e300, undefined)).toBeUndefined();
    expect(lossDivergence(Infinity, undefined)).toBe("non-finite");
    expect(lossDivergence(NaN, 2)).toBe("non-finite");
    expect(lossDivergence(2e4, 2)).toBeUndefined();
    expect(lossDivergence(2e4 + 1e-11, 2)).toBe("exploded");
    // Below a first loss of 1, the limit is 10⁴ itself.
    expect(lossDivergence(1e4, 0.5)).toBeUndefined();
    expect(lossDivergence(10001, 0.5)).toBe("exploded");
  });

  // input 1 → dense 1, x = 1, y = 0, squared loss ½a²: with a = k + b, one SGD step makes
  // k, b each lose lr·a, so a becomes a(1 − 2·lr) and the loss grows (1 − 2·lr)² times.
  const linear = (k: number, b: number): Model => {
    const model = modelOf("input 1\ndense 1\n");
    model.loadWeights(new Map([["dense1.kernel", { data: Float64Array.of(k) }], ["dense1.bias", { data: Float64Array.of(b) }]]));
    return model;
  };
  const one = arrayDataset({ size: 1, inputs: [{ shape: [1], data: Float64Array.of(1) }], targets: { kind: "values", shape: [1], data: Float64Array.of(0) } });
  const weightsOf = (m: Model): number[] => ["dense1.kernel", "dense1.bias"].map((n) => m.namedWeights().get(n)!.data[0]!);

  it("a loss past 10⁴ · max(1, L0) stops training on the last good weights; L0 is the first batch's", async () => {
    // lr 60: L0 = ½, then ½·119² = 7080.5 (more than 10⁴ · L0, not more than 10⁴), then ½·119⁴ ≈ 1.0e8.
    const model = linear(1, 0);
    const outcome = await train(model, one, { loss: "squared", optimizer: { kind: "sgd", lr: 60 }, epochs: 10, batch: 1, seed: 1 });
    expect(outcome.status).toBe("diverged");
    if (outcome.status !== "diverged") return;
    expect([outcome.epoch, outcome.batch, outcome.goodBatches]).toEqual([3, 1, 2]);
    expect(outcome.firstLoss).toBe(0.5);
    expect(outcome.loss).toBeCloseTo(0.5 * 119 ** 4, 0);
    expect(outcome.epochs.map((e) => e.loss)).toEqual([0.5, 0.5 * 119 ** 2]);
    // After two good steps (a = 1, then −119): k = 1 − 60·1 − 60·(−119) = 7081, b = 0 − 60 + 7140 = 7080.
    expect(weightsOf(model)).toEqual([7081, 7080]);
  });

  it("an update that takes a weight past float32's range is undone; the batches before it count as good", async () => {
    // k = 1e38, b = 0, lr 2: a = 1e38 → k = −1e38, b = −2e38 (in range); a = −3e38 → k = 5e38: past it.
    const model = linear(1e38, 0);
    const outcome = await train(model, one, { loss: "squared", optimizer: { kind: "sgd", lr: 2 }, epochs: 5, batch: 1, seed: 1 });
    expect(outcome.status).toBe("diverged");
    if (outcome.status !== "diverged") return;
    expect([outcome.epoch, outcome.batch, outcome.goodBatches, outcome.weight]).toEqual([2, 1, 1, "dense1.kernel"]);
    expect(outcome.value).toBeCloseTo(5e38, -24);
    expect(outcome.firstLoss).toBeUndefined();
    expect(weightsOf(model)).toEqual([1e38 - 2 * 1e38, 0 - 2 * 1e38]);
  });
});
