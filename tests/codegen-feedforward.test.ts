/**
 * Generated code for the feed-forward layer kinds against the interpreter (the reference, whose
 * kernels are gradient-checked in kernels-feedforward.test.ts): each network is compiled in f64
 * and f32, loaded from a temporary .mjs, given the interpreter's weights, and compared on a batch
 * of 2–3 samples — inference outputs, training outputs, the loss of one trainStep (SGD, lr 0.1),
 * every parameter gradient, and every weight and state after the step (f64 within 1e-9, f32
 * within 1e-4, relative to max(1, |a|, |b|)).
 *
 * Dropout is tested in training with matching generators: the interpreter's context draws from
 * seededRandom(S) and the compiled Model is built with seed S, so both draw the same mask (one
 * draw per element, row-major); a structural check of the mask's values and rate is added.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import type { Targets } from "../src/interp/losses.js";
import { seededRandom } from "../src/interp/random.js";
import { tensor, type Tensor } from "../src/interp/tensor.js";
import type { LossKind } from "../src/ir/types.js";
import { checkParity, compileText, pair, tempDir, type Precision } from "./helpers/compiled.js";
import { randomTensor } from "./helpers/gradcheck.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const precisions: readonly Precision[] = ["f64", "f32"];

interface Case {
  readonly name: string;
  readonly text: string;
  /** Input shapes without the batch; network inputs in order. */
  readonly inputs: readonly (readonly number[])[];
  readonly batch?: number;
  readonly loss?: LossKind;
  /** Class targets (cross_entropy) instead of values. */
  readonly classes?: number;
  /** Replaces an input's random values (e.g. token ids). */
  readonly inputData?: (k: number, shape: readonly number[]) => Tensor | undefined;
  readonly weights?: Readonly<Record<string, readonly number[]>>;
}

function targetsFor(c: Case, outShape: readonly number[], n: number): Targets {
  if (c.classes) {
    const r = seededRandom(99);
    return { kind: "classes", indices: Int32Array.from({ length: n }, () => Math.floor(r() * c.classes!)) };
  }
  return { kind: "values", tensor: randomTensor([n, ...outShape], 98) };
}

async function parity(c: Case, precision: Precision) {
  const n = c.batch ?? 3;
  const inputs = c.inputs.map((shape, k) => c.inputData?.(k, [n, ...shape]) ?? randomTensor([n, ...shape], 11 + k));
  const compiled = await compileText(c.text, precision);
  const outShape = compiled.mod.NETWORK.output;
  return checkParity({ text: c.text, precision, inputs, targets: targetsFor(c, outShape, n), loss: c.loss ?? "squared", weights: c.weights });
}

function cases(group: string, list: readonly Case[]): void {
  describe(group, () => {
    for (const c of list) {
      for (const precision of precisions) {
        it(`${c.name} (${precision})`, async () => {
          const report = await parity(c, precision);
          expect(report.weights.length).toBeGreaterThan(0);
          expect(Number.isFinite(report.loss)).toBe(true);
        });
      }
    }
  });
}

cases("conv", [
  { name: "3x3 valid, relu", text: "input 7x6x2\nconv 3 3x3 relu\nflatten\ndense 2\n", inputs: [[7, 6, 2]] },
  { name: "stride 2, pad 1, non-square 3x2 kernel", text: "input 7x6x2\nconv 3 3x2 stride 2 pad 1 tanh\nflatten\ndense 2\n", inputs: [[7, 6, 2]] },
  { name: "pad same, stride 2, even kernel (extra row/column at bottom/right)", text: "input 7x6x3\nconv 2 4x3 stride 2 pad same\nflatten\ndense 2\n", inputs: [[7, 6, 3]] },
  { name: "pad same, stride 1, 2x2 kernel", text: "input 5x4x1\nconv 3 2x2 pad same relu\nflatten\ndense 2\n", inputs: [[5, 4, 1]] },
  { name: "bias false, conv after conv (dx through the second)", text: "input 6x6x2\nconv 4 3x3 pad 1 relu\nconv 2 2x2 stride 2 bias false sigmoid\nflatten\ndense 2\n", inputs: [[6, 6, 2]] },
  { name: "padding wider than stride and kernel 1x1", text: "input 4x5x2\nconv 2 1x1 pad 2\nconv 2 3x3 stride 3 pad 1\nflatten\ndense 2\n", inputs: [[4, 5, 2]] },
  { name: "19 and 24 filters (register blocks of 8, with and without a rest)", text: "input 5x5x2\nconv 19 3x3 pad 1 relu\nconv 24 2x2 stride 2\nflatten\ndense 2\n", inputs: [[5, 5, 2]] },
  { name: "batch of 2", text: "input 5x5x1\nconv 2 3x3 stride 2 pad same relu\nflatten\ndense 3 softmax\n", inputs: [[5, 5, 1]], batch: 2, loss: "cross_entropy", classes: 3 },
  // src/layers/conv-emit.ts: im2col chunks of at most 2^18 elements; col kept for the whole batch when a sample's is ≤ 2^15.
  {
    name: "1x1 convs as plain matmuls (with and without dx), a rebuilt col in 2 chunks split mid-sample",
    text: "input 40x40x3\nconv 8 1x1 relu\nconv 5 1x1\nconv 4 3x3 pad 1 tanh\nconv 2 1x1 stride 2\nflatten\ndense 2\n",
    inputs: [[40, 40, 3]],
  },
  // Padding wider than the kernel: the last windows lie wholly in the right padding (hi < 0 before clamping).
  { name: "a rebuilt col with windows wholly in the padding", text: "input 200x200x2\nconv 2 2x2 stride 3 pad 5 relu\nflatten\ndense 2\n", inputs: [[200, 200, 2]] },
  { name: "a kept col in 2 chunks (batch of 10)", text: "input 16x16x3\nconv 14 1x1\nconv 2 3x3 pad 1 relu\nflatten\ndense 2\n", inputs: [[16, 16, 3]], batch: 10 },
]);

// src/codegen/wasm/matmul.ts, stageB: N a multiple of 64 and at least STAGE_FROM_ROWS rows stage B's strips in scratch.
cases("products that stage the kernel's column strips", [
  { name: "dense 128 and 64 on a batch of 20, 600 features (K past a chunk of 512)", text: "input 600\ndense 128 relu\ndense 64 tanh\ndense 3\n", inputs: [[600]], batch: 20 },
  { name: "conv 64 over 60 channels (K = 540: two chunks), 25 cells a sample, then conv 64 with dx", text: "input 7x7x60\nconv 64 3x3 relu\nconv 64 2x2 stride 2\nflatten\ndense 2\n", inputs: [[7, 7, 60]] },
]);

cases("pools", [
  { name: "maxpool 2", text: "input 6x6x2\nconv 3 3x3 pad 1 tanh\nmaxpool 2\nflatten\ndense 2\n", inputs: [[6, 6, 2]] },
  { name: "maxpool 3 stride 2 pad 1 (padded cells ignored)", text: "input 7x6x2\nconv 2 3x3 pad 1\nmaxpool 3 stride 2 pad 1\nflatten\ndense 2\n", inputs: [[7, 6, 2]] },
  { name: "maxpool 2 ceil on odd sizes", text: "input 7x5x2\nconv 2 1x1\nmaxpool 2 ceil\nflatten\ndense 2\n", inputs: [[7, 5, 2]] },
  { name: "minpool 3 stride 2 pad 1 ceil", text: "input 8x7x2\nconv 2 1x1\nminpool 3 stride 2 pad 1 ceil\nflatten\ndense 2\n", inputs: [[8, 7, 2]] },
  { name: "minpool 2x3 pad same", text: "input 5x7x2\nconv 2 1x1 tanh\nminpool 2x3 pad same\nflatten\ndense 2\n", inputs: [[5, 7, 2]] },
  { name: "avgpool 2 stride 2", text: "input 6x6x2\nconv 3 3x3 pad 1 tanh\navgpool 2 stride 2\nflatten\ndense 2\n", inputs: [[6, 6, 2]] },
  { name: "avgpool 3 stride 1 (overlapping windows, each written out cell by cell)", text: "input 6x5x3\nconv 2 1x1\navgpool 3 stride 1\nflatten\ndense 2\n", inputs: [[6, 5, 3]] },
  { name: "avgpool 5 stride 1 (25 cells: the window loops)", text: "input 7x6x2\nconv 2 1x1\navgpool 5 stride 1\nflatten\ndense 2\n", inputs: [[7, 6, 2]] },
  { name: "avgpool 3 stride 2 pad 1 (pad cells not counted)", text: "input 7x7x2\nconv 2 1x1\navgpool 3 stride 2 pad 1\nflatten\ndense 2\n", inputs: [[7, 7, 2]] },
  { name: "avgpool 3 stride 2 ceil (partial windows)", text: "input 8x6x2\nconv 2 1x1\navgpool 3 stride 2 ceil\nflatten\ndense 2\n", inputs: [[8, 6, 2]] },
  { name: "padding at least as wide as the window (empty windows give 0)", text: "input 5x5x1\nconv 2 1x1\nmaxpool 2 stride 2 pad 2\nflatten\ndense 2\n", inputs: [[5, 5, 1]] },
  { name: "avgpool with empty windows", text: "input 5x5x1\nconv 2 1x1\navgpool 2 stride 2 pad 2\nflatten\ndense 2\n", inputs: [[5, 5, 1]] },
]);

/**
 * Ties: channel 0 of the input holds only 0 and 1 and the 1x1 conv (kernel [1, 0]) passes it
 * through, so most pooling windows have several equal extremes. Channel 1 is random and reaches
 * the kernel's gradient at the cell the gradient was routed to: a model routing to any other
 * tied cell than the interpreter's (the first in row-major order) gets another kernel gradient.
 */
function tiedInput(_k: number, shape: readonly number[]): Tensor {
  const t = randomTensor(shape, 5);
  const r = seededRandom(6);
  for (let i = 0; i < t.data.length; i += 2) t.data[i] = r() < 0.5 ? 0 : 1;
  return t;
}
const tieWeights = { "conv1.kernel": [1, 0], "conv1.bias": [0] };
cases("pool ties go to the first extreme cell", [
  { name: "maxpool", text: "input 6x6x2\nconv 1 1x1\nmaxpool 3 stride 2 pad 1\nflatten\ndense 2\n", inputs: [[6, 6, 2]], inputData: tiedInput, weights: tieWeights },
  { name: "minpool (no window clipped: each written out cell by cell)", text: "input 6x6x2\nconv 1 1x1\nminpool 2\nflatten\ndense 2\n", inputs: [[6, 6, 2]], inputData: tiedInput, weights: tieWeights },
  { name: "maxpool 3 stride 1 (overlapping windows written out cell by cell)", text: "input 6x6x2\nconv 1 1x1\nmaxpool 3 stride 1\nflatten\ndense 2\n", inputs: [[6, 6, 2]], inputData: tiedInput, weights: tieWeights },
]);

describe("pool ties: the routing matters to the kernel gradient", () => {
  it("the tie case is not vacuous: windows do tie, with different channel-1 values", () => {
    const x = tiedInput(0, [3, 6, 6, 2]);
    let tiedWindows = 0;
    for (let b = 0; b < 3; b++) {
      for (let i = 0; i < 3; i++) {
        for (let j = 0; j < 3; j++) {
          const cells = [0, 1].flatMap((u) => [0, 1].map((v) => (((b * 6 + 2 * i + u) * 6 + 2 * j + v) * 2)));
          const max = Math.max(...cells.map((c) => x.data[c]!));
          const tied = cells.filter((c) => x.data[c] === max);
          if (tied.length > 1 && new Set(tied.map((c) => x.data[c + 1])).size > 1) tiedWindows++;
        }
      }
    }
    expect(tiedWindows).toBeGreaterThan(5);
  });
});

cases("reshaping layers", [
  { name: "globalavgpool", text: "input 4x5x3\nconv 4 3x3 relu\nglobalavgpool\ndense 2\n", inputs: [[4, 5, 3]] },
  { name: "flatten of a rank-2 value", text: "input 3x4\ndense 3 tanh\nflatten\ndense 2\n", inputs: [[3, 4]] },
  { name: "upsample 2 between convs", text: "input 3x2x2\nconv 2 2x2 pad same tanh\nupsample 2\nconv 1 3x3\nflatten\ndense 2\n", inputs: [[3, 2, 2]] },
  { name: "upsample 3", text: "input 2x3x1\nconv 2 1x1\nupsample 3\nflatten\ndense 2\n", inputs: [[2, 3, 1]] },
]);

cases("dropout (same seed, same mask)", [
  { name: "dropout 0.4 between dense layers", text: "input 10\ndense 8 relu\ndropout 0.4\ndense 3 softmax\n", inputs: [[10]], loss: "cross_entropy", classes: 3 },
  { name: "two dropouts draw in node order", text: "input 6x6x1\nconv 3 3x3 relu\ndropout 0.3\nflatten\ndense 5 tanh\ndropout 0.5\ndense 2\n", inputs: [[6, 6, 1]] },
  { name: "dropout 0 is the identity", text: "input 5\ndense 4 tanh\ndropout 0\ndense 2\n", inputs: [[5]] },
]);

describe("dropout's mask", () => {
  for (const precision of precisions) {
    it(`keeps an element when u ≥ P, scaled by 1/(1−P), drawn from the seed (${precision})`, async () => {
      const c = await compileText("input 1000\ndropout 0.3\n", precision);
      const n = 2;
      const x = Array.from({ length: n * 1000 }, (_, i) => 1 + (i % 7));
      const model = new c.mod.Model({ maxBatch: n, seed: 42 });
      const y = model.forward([x], n, true).slice();
      // Independently: mulberry32 from seed 42, one draw per element in row-major order.
      const u = seededRandom(42);
      let dropped = 0;
      for (let i = 0; i < y.length; i++) {
        const keep = u() >= 0.3;
        expect(y[i]).toBeCloseTo(keep ? x[i]! / 0.7 : 0, 5);
        if (!keep) dropped++;
      }
      expect(dropped / y.length).toBeGreaterThan(0.26);
      expect(dropped / y.length).toBeLessThan(0.34);
      // The next call draws new values; inference is the identity.
      const again = model.forward([x], n, true).slice();
      expect(Array.from(again)).not.toEqual(Array.from(y));
      expect(Array.from(model.predict([x], n))).toEqual(x);
    });
  }

  it("another seed gives another mask (the seeded parity test is not vacuous)", async () => {
    const c = await compileText("input 50\ndropout 0.5\n", "f64");
    const x = Array.from({ length: 50 }, () => 1);
    const a = new c.mod.Model({ maxBatch: 1, seed: 1 }).forward([x], 1, true).slice();
    const b = new c.mod.Model({ maxBatch: 1, seed: 2 }).forward([x], 1, true).slice();
    expect(Array.from(a)).not.toEqual(Array.from(b));
  });
});

const runningStats = (c: number) => ({
  "batchnorm1.moving_mean": Array.from({ length: c }, (_, i) => 0.1 * i - 0.2),
  "batchnorm1.moving_variance": Array.from({ length: c }, (_, i) => 0.5 + 0.3 * i),
});
cases("normalisation", [
  { name: "batchnorm after dense (rank 1)", text: "input 6\ndense 4\nbatchnorm\nrelu\ndense 2\n", inputs: [[6]], weights: runningStats(4) },
  { name: "batchnorm over [H,W,C] after conv", text: "input 5x4x2\nconv 3 3x3 pad 1\nbatchnorm\ntanh\nflatten\ndense 2\n", inputs: [[5, 4, 2]], weights: runningStats(3) },
  { name: "batchnorm on a rank-2 value, batch of 2", text: "input 3x4\ndense 5\nbatchnorm\ndense 2\n", inputs: [[3, 4]], batch: 2, weights: runningStats(5) },
  { name: "frozen batchnorm runs on its running statistics", text: "input 6\ndense 4\nbatchnorm frozen\ndense 2\n", inputs: [[6]], weights: runningStats(4) },
  { name: "layernorm after dense", text: "input 6\ndense 5\nlayernorm\ndense 2\n", inputs: [[6]] },
  { name: "layernorm on rows of a rank-2 value", text: "input 3x5\ndense 4 tanh\nlayernorm\nflatten\ndense 2\n", inputs: [[3, 5]] },
]);

describe("batchnorm's moving statistics", () => {
  for (const precision of precisions) {
    it(`move by 0.01·(batch − running) in a training step and not in inference (${precision})`, async () => {
      const c = await compileText("input 4\nbatchnorm\ndense 1\n", precision);
      const x = [1, 2, 3, 4, 3, 0, -1, 2, 5, 2, 2, 0];
      const { model } = pair(c, { maxBatch: 3, loss: "squared" });
      model.setWeight("batchnorm1.moving_mean", [0, 1, 0, 1]);
      model.setWeight("batchnorm1.moving_variance", [1, 1, 2, 2]);
      model.predict([x], 3);
      expect(Array.from(model.getWeight("batchnorm1.moving_mean")!.data)).toEqual([0, 1, 0, 1]);
      model.trainStep([x], [0, 0, 0], 3, 0.1);
      // Batch statistics by hand: columns (1,3,5), (2,0,2), (3,-1,2), (4,2,0).
      const mean = [3, 4 / 3, 4 / 3, 2];
      const variance = [8 / 3, 8 / 9, 26 / 9, 8 / 3];
      const expectedMean = [0, 1, 0, 1].map((r, i) => 0.99 * r + 0.01 * mean[i]!);
      const expectedVariance = [1, 1, 2, 2].map((r, i) => 0.99 * r + 0.01 * variance[i]!);
      const tol = precision === "f64" ? 12 : 6;
      Array.from(model.getWeight("batchnorm1.moving_mean")!.data).forEach((v, i) => expect(v).toBeCloseTo(expectedMean[i]!, tol));
      Array.from(model.getWeight("batchnorm1.moving_variance")!.data).forEach((v, i) => expect(v).toBeCloseTo(expectedVariance[i]!, tol));
    });
  }

  it("a frozen batchnorm leaves them alone in training", async () => {
    const c = await compileText("input 4\nbatchnorm frozen\ndense 1\n", "f64");
    const { model } = pair(c, { maxBatch: 2, loss: "squared" });
    model.setWeight("batchnorm1.moving_mean", [0.5, 1, 0, 1]);
    model.trainStep([[1, 2, 3, 4, 3, 0, -1, 2]], [0, 0], 2, 0.1);
    expect(Array.from(model.getWeight("batchnorm1.moving_mean")!.data)).toEqual([0.5, 1, 0, 1]);
    expect(Array.from(model.getWeight("batchnorm1.gamma")!.data)).toEqual([1, 1, 1, 1]);
  });
});

/** Token ids 0 … V−1 (whole numbers stored as floats). */
const ids = (vocabulary: number) => (_k: number, shape: readonly number[]) => {
  const r = seededRandom(21);
  return tensor(shape, Array.from({ length: shape.reduce((p, d) => p * d, 1) }, () => Math.floor(r() * vocabulary)));
};
cases("embedding", [
  { name: "embedding, flatten, dense", text: "input 6\nembedding 10 4\nflatten\ndense 3 softmax\n", inputs: [[6]], inputData: ids(10), loss: "cross_entropy", classes: 3 },
  { name: "embedding, layernorm (repeated ids accumulate their rows)", text: "input 8\nembedding 3 5\nlayernorm\nflatten\ndense 2\n", inputs: [[8]], inputData: ids(3) },
]);

describe("embedding ids", () => {
  it("an id outside the vocabulary or not whole fails loudly, naming where it is", async () => {
    const c = await compileText("input 3\nembedding 4 2\nflatten\n", "f64");
    const model = new c.mod.Model({ maxBatch: 2 });
    expect(() => model.predict([[0, 1, 2, 3, 1, 0]], 2)).not.toThrow();
    expect(() => model.predict([[0, 1, 2, 3, 4, 0]], 2)).toThrow(/token id 4 at sample 1, position 1 .*outside the vocabulary 0…3/);
    expect(() => model.predict([[0, 1.5, 2]], 1)).toThrow(/token id 1.5 .*not a whole number/);
  });
});

cases("add and concat", [
  {
    name: "add of three, add with a network input, concat of three with two network inputs",
    text: "network g {\n  a: input 4\n  b: input 3\n  from a\n  h1: dense 3 tanh\n  from b\n  h2: dense 3 sigmoid\n  h3: dense 3\n  s: add h1 h2 h3\n  t: add s b\n  concat t a b\n  dense 2\n}\n",
    inputs: [[4], [3]],
  },
  {
    name: "residual add and parallel concat on the channel axis",
    text: "input 6x6x2\nconv 3 3x3 pad 1 relu\nresidual { conv 3 3x3 pad same tanh }\nparallel { branch { conv 2 1x1 } branch { conv 3 3x3 pad same } branch { maxpool 3 stride 1 pad 1 } }\nflatten\ndense 2\n",
    inputs: [[6, 6, 2]],
  },
  {
    name: "the same value added to itself",
    text: "network g {\n  input 4\n  h: dense 3 tanh\n  add h h\n  dense 2\n}\n",
    inputs: [[4]],
  },
]);

const kitchenSink = `network everything {
  img: input 6x6x2
  ids: input 5
  from img
  conv 19 3x3 pad same relu
  batchnorm
  maxpool 2 ceil
  upsample 2
  minpool 3 stride 2 pad 1
  avgpool 2 pad 1
  dropout 0.25
  conv 2 1x1
  pooled: globalavgpool
  from ids
  embedding 7 3
  layernorm
  flatten
  e: dense 2
  add pooled e
  concat e
  dense 2 softmax
}
`;
const kitchenIds = ids(7);
/**
 * The fused softmax cross-entropy takes −log of the softmax the forward pass left, except for a
 * target on an output whose probability is too small for that (1e-30 and below; in f32 these
 * round to 0): that row's loss comes from the stable log-softmax of its logits. Sample s has
 * input e_s and the kernel 300·I, so class s leads by 300 and the others get e^−300.
 */
const oneHotRows = (_k: number, shape: readonly number[]): Tensor => {
  const t = tensor(shape, new Float64Array(shape.reduce((a, b) => a * b, 1)));
  for (let s = 0; s < shape[0]!; s++) t.data[s * shape[1]! + (s % 3)] = 1;
  return t;
};
const leadBy300 = { "dense1.kernel": [300, 0, 0, 0, 300, 0, 0, 0, 300, 0, 0, 0], "dense1.bias": [0, 0, 0] };
cases("fused softmax cross-entropy on vanishing probabilities", [
  { name: "class targets", text: "input 4\ndense 3 softmax\n", inputs: [[4]], inputData: oneHotRows, weights: leadBy300, loss: "cross_entropy", classes: 3 },
  { name: "soft targets on every output", text: "input 4\ndense 3 softmax\n", inputs: [[4]], inputData: oneHotRows, weights: leadBy300, loss: "cross_entropy" },
]);

cases("every feed-forward kind in one graph", [
  { name: "two inputs, all kinds", text: kitchenSink, inputs: [[6, 6, 2], [5]], inputData: (k, shape) => (k === 1 ? kitchenIds(k, shape) : undefined), loss: "cross_entropy", classes: 2 },
]);

describe("LeNet-5 (examples/lenet5.dl) end to end", () => {
  const text = readFileSync(join(root, "examples", "lenet5.dl"), "utf8");
  for (const precision of precisions) {
    it(`outputs, loss, gradients and weights after one step agree (${precision})`, async () => {
      const report = await parity({ name: "lenet5", text, inputs: [[28, 28, 1]], loss: "cross_entropy", classes: 10 }, precision);
      expect(report.weights).toContain("conv1.kernel");
      expect(report.weights).toContain("dense3.bias");
      expect(report.loss).toBeGreaterThan(1);
      expect(report.loss).toBeLessThan(4);
    }, 30_000);
  }
});

describe("generated code type-checks", () => {
  it("under strict with the TypeScript compiler API", async () => {
    const ts = (await import("typescript")).default;
    for (const precision of precisions) {
      const c = await compileText(kitchenSink, precision);
      const file = join(tempDir(), `everything-${precision}.ts`);
      writeFileSync(file, c.code);
      const program = ts.createProgram([file], {
        strict: true,
        noEmit: true,
        target: ts.ScriptTarget.ES2022,
        module: ts.ModuleKind.ES2022,
        lib: ["lib.es2022.d.ts"],
        types: [],
      });
      const messages = ts.getPreEmitDiagnostics(program).map((d) => {
        const where = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start) : undefined;
        return `${where ? `${where.line + 1}:${where.character + 1} ` : ""}${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`;
      });
      expect(messages).toEqual([]);
    }
  }, 60_000);
});
