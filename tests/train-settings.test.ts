// The train block's schedule, warmup, weight_decay, clip, patience and `optimizer adamw`: read
// into TrainConfig, bad values refused at the exact statement; one adamw step against a
// hand-computed case in both engines; clipping on a threaded module gives the same weights for
// any thread count.
import { describe, expect, it } from "vitest";
import { analyze } from "../src/index.js";
import { Model as InterpModel } from "../src/interp/model.js";
import { makeOptimizer, optimizerConfigOf } from "../src/interp/optimizers.js";
import { seededRandom } from "../src/interp/random.js";
import { compileText, interpreterStepWith } from "./helpers/compiled.js";

const withTrain = (lines: string): string => `network n {\n  input 2\n  dense 1\n}\ntrain {\n  loss squared\n  ${lines}\n}\n`;

describe("reading the settings", () => {
  it("every setting, as TrainConfig holds it", () => {
    const a = analyze(withTrain("optimizer adamw lr 0.01 beta2 0.99\n  schedule step 3 0.5\n  warmup 100\n  weight_decay 0.05\n  clip 1.5\n  patience 4"));
    expect(a.diagnostics).toEqual([]);
    const { span: _span, ...train } = a.train!;
    expect(train).toEqual({ loss: "squared", optimizer: { kind: "adamw", lr: 0.01, beta2: 0.99 }, schedule: { kind: "step", every: 3, gamma: 0.5 }, warmup: 100, weightDecay: 0.05, clip: 1.5, patience: 4 });
    expect(analyze(withTrain("schedule cosine")).train!.schedule).toEqual({ kind: "cosine" });
  });

  it("optimizerConfigOf: the optimizer line, weight_decay and clip in one config; the command line's values win", () => {
    const train = analyze(withTrain("optimizer adamw lr 0.01\n  weight_decay 0.05\n  clip 2")).train;
    expect(optimizerConfigOf(train)).toEqual({ kind: "adamw", lr: 0.01, weightDecay: 0.05, clip: 2 });
    expect(optimizerConfigOf(train, { lr: 0.5, weightDecay: 0, clip: 9 })).toEqual({ kind: "adamw", lr: 0.5, weightDecay: 0, clip: 9 });
    expect(optimizerConfigOf(analyze(withTrain("batch 4")).train)).toEqual({ kind: "sgd", lr: 0.01 });
    expect(optimizerConfigOf(undefined, { lr: 0.2 })).toEqual({ kind: "sgd", lr: 0.2 });
  });

  // [the setting line, the message, the column it points at (line 7)]
  const BAD: readonly (readonly [string, string, number])[] = [
    ["schedule cosin", "schedule must be 'step E G' or 'cosine', got 'cosin'; did you mean 'cosine'?", 12],
    ["schedule step 0 0.5", "schedule step needs the epochs between steps, a whole number ≥ 1, got '0'", 17],
    ["schedule step 2 0", "schedule step needs the factor gamma, a number > 0, got '0'", 19],
    ["schedule step 2", "schedule step takes the epochs between steps and the factor: 'schedule step 10 0.5', got 'step 2'", 3],
    ["schedule cosine 5", "schedule cosine takes nothing more, got 'cosine 5'", 19],
    ["warmup 0", "warmup needs a whole number ≥ 1 (batches), got '0'", 10],
    ["patience 2.5", "patience needs a whole number ≥ 1 (epochs), got '2.5'", 12],
    ["weight_decay -0.1", "weight_decay needs a number ≥ 0, got '-0.1'", 16],
    ["clip 0", "clip needs a number > 0 (the largest gradient norm), got '0'", 8],
    ["clip 1e309", "clip needs a number > 0 (the largest gradient norm), got '1e309' (too large for float64)", 8],
    ["optimizer adam_w", "optimizer must be sgd, adam or adamw, got 'adam_w'; did you mean 'adamw'?", 13],
    ["optimizer adamw weight_decay 0.1", "weight_decay is a train setting of its own: write it on its own line ('weight_decay 0.01')", 19],
    ["weight_decy 0.1", "unknown train setting 'weight_decy'; did you mean 'weight_decay'? (settings: loss, optimizer, batch, epochs, bptt, seed, schedule, warmup, weight_decay, clip, patience)", 3],
  ];
  it.each(BAD)("%s", (line, message, column) => {
    const a = analyze(withTrain(line));
    expect(a.diagnostics.map((d) => ({ code: d.code, message: d.message, line: d.span.line, column: d.span.column }))).toEqual([{ code: "bad-train", message, line: 7, column }]);
  });
});

describe("one adamw step, by hand", () => {
  // dense 1 on x = [2, 0], y = 0, w = [1, 0.5], b = 0: a = 2, so g = a·x = [4, 0] for the kernel, 2 for the bias.
  // The first Adam step moves each weight by lr·g/(|g| + eps) (m̂ = g, v̂ = g²); adamw first shrinks w by 1 − lr·wd.
  const lr = 0.1;
  const wd = 0.5;
  const shrink = 1 - lr * wd; // 0.95
  const want = [1 * shrink - (lr * 4) / (4 + 1e-8), 0.5 * shrink - 0, 0 * shrink - (lr * 2) / (2 + 1e-8)];
  const text = `network n {\n  input 2\n  dense 1\n}\ntrain {\n  loss squared\n  optimizer adamw lr ${lr}\n  weight_decay ${wd}\n}\n`;

  it("the hand-computed values (a zero gradient still decays its weight)", () => {
    expect(want[0]).toBeCloseTo(0.85, 8);
    expect(want[1]).toBe(0.475);
    expect(want[2]).toBeCloseTo(-0.1, 8);
  });

  it("interpreter", () => {
    const a = analyze(text);
    const interp = new InterpModel(a.selected!, seededRandom(1));
    interp.loadWeights(new Map([["dense1.kernel", { data: Float64Array.from([1, 0.5]) }], ["dense1.bias", { data: Float64Array.from([0]) }]]));
    const optimizer = makeOptimizer({ ...a.train!.optimizer!, lr, weightDecay: a.train!.weightDecay });
    interpreterStepWith(interp, [{ shape: [1, 2], data: Float64Array.from([2, 0]) }], { kind: "values", tensor: { shape: [1, 1], data: Float64Array.from([0]) } }, "squared", optimizer, seededRandom(0));
    const got = [...interp.namedWeights().get("dense1.kernel")!.data, ...interp.namedWeights().get("dense1.bias")!.data];
    got.forEach((x, i) => expect(Math.abs(x - want[i]!)).toBeLessThanOrEqual(1e-15));
  });

  it.each([
    ["f64", "js", 1e-15],
    ["f32", "wasm", 1e-7],
    ["f32", "js", 1e-7],
  ] as const)("compiled %s, %s kernels (the train block's settings)", async (precision, kernels, tol) => {
    const { mod } = await compileText(text, precision);
    const model = new mod.Model({ maxBatch: 1, kernels });
    expect(model.optimizer).toMatchObject({ kind: "adamw", lr, weightDecay: wd, clip: 0 });
    model.setWeight("dense1.kernel", [1, 0.5]);
    model.setWeight("dense1.bias", [0]);
    model.trainStep([[2, 0]], [0], 1);
    const got = [...model.getWeight("dense1.kernel")!.data, ...model.getWeight("dense1.bias")!.data];
    got.forEach((x, i) => expect(Math.abs(x - want[i]!), `weight ${i}: ${x} vs ${want[i]}`).toBeLessThanOrEqual(tol));
  });
});

describe("clip on a threaded module", () => {
  it("the same weights on 1, 2 and 3 threads (3 shards), the norm clipped at some steps and not at others", async () => {
    const text = "network c {\n  input 6\n  dense 5 tanh\n  dense 3\n}\ntrain {\n  loss squared\n  optimizer adam lr 0.05\n  clip 1.5\n}\n";
    const { mod } = await compileText(text, "f32", { threads: 3 });
    const r = seededRandom(9);
    const batches = [7, 5, 7, 3].map((n, i) => ({ n, x: Array.from({ length: 6 * n }, () => 2 * r() - 1), y: Array.from({ length: 3 * n }, () => (i % 2 ? 2 : 0.1) * (2 * r() - 1)) }));
    const runs: number[][] = [];
    let clippedSteps = 0;
    for (const threads of [1, 2, 3]) {
      const model = new mod.Model({ maxBatch: 7, seed: 3, threads });
      await model.ready?.();
      try {
        for (const b of batches) {
          if (threads === 1) {
            // the norm this step clips, from the gradient alone (a second model, same weights)
            const probe = new mod.Model({ maxBatch: 7, seed: 3, threads: 1 });
            probe.w.set(model.w);
            probe.forward([b.x], b.n, true);
            probe.lossAndGrad(b.y, b.n);
            probe.g.fill(0);
            probe.backward(b.n);
            if (Math.hypot(...probe.g) > 1.5) clippedSteps++;
            await probe.close?.();
          }
          model.trainStep([b.x], b.y, b.n);
        }
        expect((model as unknown as { shardThreads: { lastThreads: number } }).shardThreads.lastThreads).toBe(threads);
        runs.push([...model.w]);
      } finally {
        await model.close?.();
      }
    }
    expect(clippedSteps).toBeGreaterThan(0);
    expect(clippedSteps).toBeLessThan(batches.length);
    expect(runs[1]).toEqual(runs[0]);
    expect(runs[2]).toEqual(runs[0]);
  });
});
