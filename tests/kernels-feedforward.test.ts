// The interpreter's feed-forward kernels (dense, conv, pools, reshapes, dropout, norms,
// activations, embedding, add, concat): finite-difference gradient checks for every option,
// hand-computed values, and the course notes' worked convolutions and poolings from
// tests/fixtures/seed-cases.json, a copy of shared/seed-cases.json (independently recomputed there, corrections noted).
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { analyze } from "../src/index.js";
import { seededRandom } from "../src/interp/random.js";
import { tensor, zeros, type Tensor } from "../src/interp/tensor.js";
import type { ConvArgs } from "../src/layers/conv.js";
import type { Window } from "../src/layers/geometry.js";
import type { PoolArgs, PoolMode } from "../src/layers/pool.js";
import { registry } from "../src/layers/registry.js";
import type { AnyLayerDef, KernelContext, ParamTensors } from "../src/layers/types.js";
import { gradCheck, randomTensor, type GradCheckCase } from "./helpers/gradcheck.js";
import { loadSeedCases, seedCasesPath } from "./helpers/seed-cases.js";

const TOLERANCE = 1e-6;

function def(kind: string): AnyLayerDef {
  const d = registry.get(kind);
  if (!d?.kernel) throw new Error(`${kind} has no kernel`);
  return d;
}

function ctx(training = false, seed = 1): KernelContext {
  return { training, random: seededRandom(seed) };
}

function forward(kind: string, args: unknown, xs: readonly Tensor[], p: ParamTensors = {}, c: KernelContext = ctx()): Tensor {
  return def(kind).kernel!.forward(xs, p, args, c).y;
}

function backward(kind: string, args: unknown, xs: readonly Tensor[], dy: Tensor, p: ParamTensors = {}, g: ParamTensors = {}, c: KernelContext = ctx()): Tensor[] {
  const k = def(kind).kernel!;
  const { y, cache } = k.forward(xs, p, args, c);
  return k.backward(dy, xs, y, cache, p, g, args, c);
}

function expectGradients(c: Omit<GradCheckCase, "def"> & { kind: string }): void {
  const { kind, ...rest } = c;
  const r = gradCheck({ def: def(kind), ...rest });
  expect(r.maxRelativeError, r.worst).toBeLessThan(TOLERANCE);
}

/** An [H, W] image as a [1, H, W, 1] tensor. */
function image(rows: readonly (readonly number[])[]): Tensor {
  return tensor([1, rows.length, rows[0]!.length, 1], rows.flat());
}

/** Row-major 1, 2, 3, … as a [1, H, W, 1] tensor. */
function counting(h: number, w: number, start = 1): Tensor {
  return tensor([1, h, w, 1], Array.from({ length: h * w }, (_, i) => i + start));
}

function expectValues(actual: Tensor, shape: readonly number[], values: readonly number[], digits = 12): void {
  expect(actual.shape).toEqual(shape);
  expect(actual.data.length).toBe(values.length);
  values.forEach((v, i) => expect(actual.data[i], `element ${i}`).toBeCloseTo(v, digits));
}

function windowOf(kh: number, kw: number, stride: number, pad: number | "same", ceil = false): Window {
  return { kh, kw, stride, pad, ceil };
}

// ---------------------------------------------------------------------------------------------

describe("dense", () => {
  it("computes x·kernel + bias on rank 2 and on every row of rank 3 (hand values)", () => {
    const p = { kernel: tensor([2, 3], [1, 2, 3, 4, 5, 6]), bias: tensor([3], [0.5, 0, -1]) };
    const args = { units: 3, bias: true };
    // [1,2]·K = [1+8, 2+10, 3+12]
    expectValues(forward("dense", args, [tensor([1, 2], [1, 2])], p), [1, 3], [9.5, 12, 14]);
    expectValues(forward("dense", args, [tensor([1, 2, 2], [1, 2, 0, 1])], p), [1, 2, 3], [9.5, 12, 14, 4.5, 5, 5]);
    expectValues(forward("dense", { units: 3, bias: false }, [tensor([1, 2], [1, 2])], { kernel: p.kernel }), [1, 3], [9, 12, 15]);
  });

  it.each([
    ["rank 2", [3, 4], 5, true],
    ["rank 3", [2, 3, 4], 3, true],
    ["rank 4", [2, 2, 2, 3], 2, true],
    ["rank 2, bias false", [3, 4], 5, false],
    ["rank 3, bias false", [2, 3, 4], 3, false],
  ] as const)("gradients on %s", (_label, shape, units, bias) => {
    const f = shape[shape.length - 1]!;
    const params: ParamTensors = { kernel: randomTensor([f, units], 2) };
    if (bias) params.bias = randomTensor([units], 3);
    expectGradients({ kind: "dense", args: { units, bias }, inputs: [randomTensor(shape, 1)], params });
  });
});

// ---------------------------------------------------------------------------------------------

describe("conv", () => {
  const convArgs = (filters: number, w: Window, bias = true): ConvArgs => ({ filters, window: w, bias });

  it("pad same puts the extra row and column at the bottom/right (as TensorFlow)", () => {
    // 2x2 kernel of ones over 1..9 with pad same: total padding 1, all of it after.
    const ones = { kernel: tensor([2, 2, 1, 1], [1, 1, 1, 1]), bias: tensor([1], [0]) };
    const y = forward("conv", convArgs(1, windowOf(2, 2, 1, "same")), [counting(3, 3)], ones);
    expectValues(y, [1, 3, 3, 1], [1 + 2 + 4 + 5, 2 + 3 + 5 + 6, 3 + 6, 4 + 5 + 7 + 8, 5 + 6 + 8 + 9, 6 + 9, 7 + 8, 8 + 9, 9]);
    // 3x3 stride 2 on 4x4 (1..16): ceil(4/2) = 2 outputs, total padding (2-1)·2 + 3 − 4 = 1, after.
    const k3 = { kernel: tensor([3, 3, 1, 1], new Array(9).fill(1)), bias: tensor([1], [0]) };
    const y2 = forward("conv", convArgs(1, windowOf(3, 3, 2, "same")), [counting(4, 4)], k3);
    expectValues(y2, [1, 2, 2, 1], [1 + 2 + 3 + 5 + 6 + 7 + 9 + 10 + 11, 3 + 4 + 7 + 8 + 11 + 12, 9 + 10 + 11 + 13 + 14 + 15, 11 + 12 + 15 + 16]);
  });

  it("a fixed pad adds zeros on every side and stride skips positions", () => {
    const k3 = { kernel: tensor([3, 3, 1, 1], new Array(9).fill(1)) };
    // pad 1 stride 2 on 3x3 (1..9): outputs at (-1,-1), (-1,1), (1,-1), (1,1) window corners.
    const y = forward("conv", convArgs(1, windowOf(3, 3, 2, 1), false), [counting(3, 3)], k3);
    expectValues(y, [1, 2, 2, 1], [1 + 2 + 4 + 5, 2 + 3 + 5 + 6, 4 + 5 + 7 + 8, 5 + 6 + 8 + 9]);
  });

  it("reads a non-square Keras kernel [KH, KW, C, F] in the right order", () => {
    // 1x2 kernel [1, 10] over [[1,2,3],[4,5,6]]: each output is left + 10·right.
    const y = forward("conv", convArgs(1, windowOf(1, 2, 1, 0), false), [image([[1, 2, 3], [4, 5, 6]])], { kernel: tensor([1, 2, 1, 1], [1, 10]) });
    expectValues(y, [1, 2, 2, 1], [21, 32, 54, 65]);
    // Two input channels, two filters: kernel[0][0][c][f] = 1 + c + 2f, so output f = Σ_c x_c·(1 + c + 2f) + bias_f.
    const x = tensor([1, 1, 1, 2], [3, 5]);
    const y2 = forward("conv", convArgs(2, windowOf(1, 1, 1, 0)), [x], { kernel: tensor([1, 1, 2, 2], [1, 3, 2, 4]), bias: tensor([2], [0.25, -1]) });
    expectValues(y2, [1, 1, 1, 2], [3 * 1 + 5 * 2 + 0.25, 3 * 3 + 5 * 4 - 1]);
  });

  const geometries: [string, number, number, number | "same"][] = [];
  for (const size of [5, 6]) for (const stride of [1, 2]) for (const pad of [0, 1, "same"] as const) geometries.push([`${size}x${size}, stride ${stride}, pad ${pad}`, size, stride, pad]);

  it.each(geometries)("gradients: 3x3 kernel on %s, 2 channels → 3 filters", (_label, size, stride, pad) => {
    const args = convArgs(3, windowOf(3, 3, stride, pad));
    expectGradients({ kind: "conv", args, inputs: [randomTensor([2, size, size, 2], 11)], params: { kernel: randomTensor([3, 3, 2, 3], 12), bias: randomTensor([3], 13) } });
  });

  it.each([
    ["bias false", 3, 3, 1, 1 as number | "same", 5, 6, 2, 2, false],
    ["non-square 2x3 kernel, pad same, stride 2", 2, 3, 2, "same" as const, 5, 6, 3, 2, true],
    ["non-square 3x1 kernel, pad 1", 3, 1, 1, 1, 4, 5, 2, 3, true],
    ["even 2x2 kernel, pad same on an odd size", 2, 2, 1, "same" as const, 5, 5, 1, 2, true],
    ["even 4x4 kernel, pad same, stride 2 on an even size", 4, 4, 2, "same" as const, 6, 6, 2, 2, true],
    ["several channels, 1x1 kernel", 1, 1, 1, 0, 3, 3, 4, 5, true],
    ["kernel as large as the input", 4, 4, 1, 0, 4, 4, 2, 2, true],
  ] as const)("gradients: %s", (_label, kh, kw, stride, pad, h, w, c, f, bias) => {
    const params: ParamTensors = { kernel: randomTensor([kh, kw, c, f], 22) };
    if (bias) params.bias = randomTensor([f], 23);
    expectGradients({ kind: "conv", args: convArgs(f, windowOf(kh, kw, stride, pad), bias), inputs: [randomTensor([2, h, w, c], 21)], params });
  });
});

// ---------------------------------------------------------------------------------------------

describe("pools", () => {
  const poolArgs = (mode: PoolMode, w: Window): PoolArgs => ({ mode, window: w });

  it("avgpool averages only the real cells under padding (hand values)", () => {
    // [[1,2],[3,4]], 2x2 windows stride 1 pad 1: every window holds 1, 2 or 4 real cells.
    const y = forward("avgpool", poolArgs("avg", windowOf(2, 2, 1, 1)), [image([[1, 2], [3, 4]])]);
    expectValues(y, [1, 3, 3, 1], [1, 1.5, 2, 2, 2.5, 3, 3, 3.5, 4]);
    // Max and min ignore padding too (a zero pad would win for all-negative or all-positive inputs).
    const neg = image([[-1, -2], [-3, -4]]);
    expectValues(forward("maxpool", poolArgs("max", windowOf(2, 2, 1, 1)), [neg]), [1, 3, 3, 1], [-1, -1, -2, -1, -1, -2, -3, -3, -4]);
    expectValues(forward("minpool", poolArgs("min", windowOf(2, 2, 1, 1)), [image([[1, 2], [3, 4]])]), [1, 3, 3, 1], [1, 1, 2, 1, 1, 2, 3, 3, 4]);
  });

  it("pad same pads at the bottom/right and counts only real cells", () => {
    // 2x2 stride 1 on 1..9: total padding 1, after.
    expectValues(forward("maxpool", poolArgs("max", windowOf(2, 2, 1, "same")), [counting(3, 3)]), [1, 3, 3, 1], [5, 6, 6, 8, 9, 9, 8, 9, 9]);
    expectValues(forward("avgpool", poolArgs("avg", windowOf(2, 2, 1, "same")), [counting(3, 3)]), [1, 3, 3, 1], [3, 4, 4.5, 6, 7, 7.5, 7.5, 8.5, 9]);
  });

  it("ceil windows that run past the end see only the real cells (hand values)", () => {
    // 5x5 of 0..24, 2x2 stride 2 ceil: 3x3 outputs, the last row/column of windows is partial.
    const x = counting(5, 5, 0);
    const w = windowOf(2, 2, 2, 0, true);
    expectValues(forward("maxpool", poolArgs("max", w), [x]), [1, 3, 3, 1], [6, 8, 9, 16, 18, 19, 21, 23, 24]);
    expectValues(forward("minpool", poolArgs("min", w), [x]), [1, 3, 3, 1], [0, 2, 4, 10, 12, 14, 20, 22, 24]);
    expectValues(forward("avgpool", poolArgs("avg", w), [x]), [1, 3, 3, 1], [3, 5, 6.5, 13, 15, 16.5, 20.5, 22.5, 24]);
    // Without ceil the last row and column are dropped.
    expectValues(forward("avgpool", poolArgs("avg", windowOf(2, 2, 2, 0)), [x]), [1, 2, 2, 1], [3, 5, 13, 15]);
  });

  it("max and min send the gradient to the first arg-max/arg-min of a tie", () => {
    const x = image([
      [1, 1, 0, 0],
      [1, 1, 0, 0],
    ]);
    const dy = tensor([1, 1, 2, 1], [5, 7]);
    expectValues(backward("maxpool", poolArgs("max", windowOf(2, 2, 2, 0)), [x], dy)[0]!, [1, 2, 4, 1], [5, 0, 7, 0, 0, 0, 0, 0]);
    expectValues(backward("minpool", poolArgs("min", windowOf(2, 2, 2, 0)), [x], dy)[0]!, [1, 2, 4, 1], [5, 0, 7, 0, 0, 0, 0, 0]);
    // Average spreads dy over the real cells only: a window of 2 real cells gives each dy/2.
    const dyAvg = tensor([1, 1, 3, 1], [4, 6, 8]);
    const dx = backward("avgpool", poolArgs("avg", windowOf(1, 2, 2, 0, true)), [image([[1, 2, 3, 4, 5]])], dyAvg)[0]!;
    expectValues(dx, [1, 1, 5, 1], [2, 2, 3, 3, 8]);
  });

  it("pools each channel and each sample separately", () => {
    const x = tensor([2, 2, 2, 2], [1, 8, 2, 7, 3, 6, 4, 5, 10, -1, 20, -2, 30, -3, 40, -4]);
    expectValues(forward("maxpool", poolArgs("max", windowOf(2, 2, 2, 0)), [x]), [2, 1, 1, 2], [4, 8, 40, -1]);
    expectValues(forward("avgpool", poolArgs("avg", windowOf(2, 2, 2, 0)), [x]), [2, 1, 1, 2], [2.5, 6.5, 25, -2.5]);
  });

  const cases: [string, PoolMode, number | "same", boolean, number][] = [];
  for (const mode of ["max", "avg", "min"] as const)
    for (const pad of [0, 1, "same"] as const) for (const ceil of [false, true]) for (const stride of [1, 2, 3]) cases.push([`${mode}pool 3 stride ${stride} pad ${pad}${ceil ? " ceil" : ""}`, mode, pad, ceil, stride]);

  it.each(cases)("gradients: %s on 2x7x6x2", (_label, mode, pad, ceil, stride) => {
    const args = poolArgs(mode, windowOf(3, 3, stride, pad, ceil));
    expectGradients({ kind: `${mode}pool`, args, inputs: [randomTensor([2, 7, 6, 2], 31)], params: {} });
  });

  it.each(["max", "avg", "min"] as const)("gradients: %spool with a non-square 2x3 window", (mode) => {
    expectGradients({ kind: `${mode}pool`, args: poolArgs(mode, windowOf(2, 3, 2, 1, true)), inputs: [randomTensor([2, 5, 6, 3], 32)], params: {} });
  });
});

// ---------------------------------------------------------------------------------------------

describe("globalavgpool, flatten, upsample", () => {
  it("globalavgpool takes each channel's mean", () => {
    const x = tensor([2, 2, 1, 2], [1, 10, 3, 30, -1, 0, -5, 4]);
    expectValues(forward("globalavgpool", {}, [x]), [2, 2], [2, 20, -3, 2]);
    expectGradients({ kind: "globalavgpool", args: {}, inputs: [randomTensor([2, 3, 4, 3], 41)], params: {} });
  });

  it("flatten keeps the row-major order and the batch axis", () => {
    const x = randomTensor([2, 3, 2, 2], 42);
    const y = forward("flatten", {}, [x]);
    expect(y.shape).toEqual([2, 12]);
    expect(Array.from(y.data)).toEqual(Array.from(x.data));
    expect(y.data).not.toBe(x.data);
    expectGradients({ kind: "flatten", args: {}, inputs: [x], params: {} });
  });

  it("upsample repeats each pixel K×K (nearest neighbour)", () => {
    const y = forward("upsample", { factor: 2 }, [image([[1, 2], [3, 4]])]);
    expectValues(y, [1, 4, 4, 1], [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]);
    expectGradients({ kind: "upsample", args: { factor: 2 }, inputs: [randomTensor([2, 2, 3, 2], 43)], params: {} });
    expectGradients({ kind: "upsample", args: { factor: 3 }, inputs: [randomTensor([2, 2, 2, 1], 44)], params: {} });
  });
});

// ---------------------------------------------------------------------------------------------

describe("dropout", () => {
  it("is the identity in inference", () => {
    const x = randomTensor([3, 4], 51);
    const y = forward("dropout", { rate: 0.5 }, [x], {}, ctx(false));
    expect(Array.from(y.data)).toEqual(Array.from(x.data));
    expectGradients({ kind: "dropout", args: { rate: 0.5 }, inputs: [x], params: {}, training: false });
  });

  it("in training keeps an element when the seeded draw u ≥ P and scales it by 1/(1−P)", () => {
    const rate = 0.3;
    const x = tensor([4, 50], Array.from({ length: 200 }, (_, i) => i + 1));
    const y = forward("dropout", { rate }, [x], {}, ctx(true, 99));
    const draws = seededRandom(99);
    let dropped = 0;
    for (let i = 0; i < x.data.length; i++) {
      const kept = draws() >= rate;
      if (!kept) dropped++;
      expect(y.data[i]).toBeCloseTo(kept ? x.data[i]! / (1 - rate) : 0, 12);
    }
    // 200 draws at P = 0.3: about 60 dropped; far outside 30…90 would mean a broken mask.
    expect(dropped).toBeGreaterThan(30);
    expect(dropped).toBeLessThan(90);
    // The same seed gives the same mask; another seed another one.
    expect(Array.from(forward("dropout", { rate }, [x], {}, ctx(true, 99)).data)).toEqual(Array.from(y.data));
    expect(Array.from(forward("dropout", { rate }, [x], {}, ctx(true, 100)).data)).not.toEqual(Array.from(y.data));
  });

  it("backward uses the forward pass's mask", () => {
    expectGradients({ kind: "dropout", args: { rate: 0.4 }, inputs: [randomTensor([3, 2, 5], 52)], params: {}, training: true, seed: 5 });
    expectGradients({ kind: "dropout", args: { rate: 0 }, inputs: [randomTensor([2, 5], 53)], params: {}, training: true });
  });
});

// ---------------------------------------------------------------------------------------------

describe("batchnorm", () => {
  const stateNames = ["moving_mean", "moving_variance"];
  const bnParams = (c: number, seed: number): ParamTensors => ({
    gamma: randomTensor([c], seed, 2),
    beta: randomTensor([c], seed + 1),
    moving_mean: randomTensor([c], seed + 2),
    moving_variance: tensor([c], Array.from({ length: c }, (_, i) => 0.5 + i)),
  });

  it("inference equals (x − mean)/√(var + 1e-3)·γ + β with the moving statistics", () => {
    const p = {
      gamma: tensor([2], [2, -1]),
      beta: tensor([2], [0.5, 3]),
      moving_mean: tensor([2], [1, -2]),
      moving_variance: tensor([2], [4, 0.25]),
    };
    const x = tensor([2, 2], [3, 0, -1, -2]);
    const y = forward("batchnorm", {}, [x], p, ctx(false));
    expectValues(y, [2, 2], [((3 - 1) / Math.sqrt(4.001)) * 2 + 0.5, ((0 + 2) / Math.sqrt(0.251)) * -1 + 3, ((-1 - 1) / Math.sqrt(4.001)) * 2 + 0.5, 3]);
    // Inference leaves the running statistics alone.
    expect(Array.from(p.moving_mean.data)).toEqual([1, -2]);
    expect(Array.from(p.moving_variance.data)).toEqual([4, 0.25]);
  });

  it("training normalises with the batch mean and biased variance and updates the running statistics", () => {
    const p = { gamma: tensor([1], [1]), beta: tensor([1], [0]), moving_mean: tensor([1], [0]), moving_variance: tensor([1], [1]) };
    const x = tensor([4, 1], [1, 2, 3, 4]); // mean 2.5, biased variance 1.25 (unbiased would be 5/3)
    const y = forward("batchnorm", {}, [x], p, ctx(true));
    const s = Math.sqrt(1.25 + 1e-3);
    expectValues(y, [4, 1], [-1.5 / s, -0.5 / s, 0.5 / s, 1.5 / s]);
    expect(p.moving_mean.data[0]).toBeCloseTo(0.99 * 0 + 0.01 * 2.5, 14);
    expect(p.moving_variance.data[0]).toBeCloseTo(0.99 * 1 + 0.01 * 1.25, 14);
  });

  it("normalises the last axis over every other axis, batch included", () => {
    // [2, 1, 2, 2]: channel 0 holds 1, 3, 5, 7 (mean 4, variance 5); channel 1 is constant 2.
    const p = { gamma: tensor([2], [1, 1]), beta: tensor([2], [0, 0]), moving_mean: tensor([2], [0, 0]), moving_variance: tensor([2], [1, 1]) };
    const y = forward("batchnorm", {}, [tensor([2, 1, 2, 2], [1, 2, 3, 2, 5, 2, 7, 2])], p, ctx(true));
    const s = Math.sqrt(5 + 1e-3);
    expectValues(y, [2, 1, 2, 2], [-3 / s, 0, -1 / s, 0, 1 / s, 0, 3 / s, 0]);
    expect(Array.from(p.moving_mean.data).map((v) => +v.toFixed(12))).toEqual([0.04, 0.02]);
    expect(p.moving_variance.data[0]).toBeCloseTo(0.99 + 0.05, 14);
    expect(p.moving_variance.data[1]).toBeCloseTo(0.99, 14);
  });

  it.each([
    ["[B, C] in training", [4, 3], true],
    ["[B, T, C] in training", [2, 3, 2], true],
    ["[B, H, W, C] in training", [2, 2, 3, 2], true],
    ["[B, C] in inference", [4, 3], false],
    ["[B, H, W, C] in inference", [2, 2, 2, 3], false],
  ] as const)("gradients on %s", (_label, shape, training) => {
    const c = shape[shape.length - 1]!;
    expectGradients({ kind: "batchnorm", args: {}, inputs: [randomTensor(shape, 61)], params: bnParams(c, 62), state: stateNames, training });
  });
});

describe("layernorm", () => {
  it("normalises each row on its own (eps 1e-3), then scales and shifts", () => {
    const p = { gamma: tensor([4], [1, 1, 2, 1]), beta: tensor([4], [0, 0, 0, 1]) };
    const y = forward("layernorm", {}, [tensor([2, 4], [1, 2, 3, 4, 10, 10, 10, 10])], p);
    const s = Math.sqrt(1.25 + 1e-3);
    expectValues(y, [2, 4], [-1.5 / s, -0.5 / s, 1 / s, 1.5 / s + 1, 0, 0, 0, 1]);
  });

  it.each([
    ["[B, F]", [3, 5]],
    ["[B, T, F]", [2, 3, 4]],
    ["[B, H, W, C]", [2, 2, 2, 3]],
  ] as const)("gradients on %s", (_label, shape) => {
    const f = shape[shape.length - 1]!;
    expectGradients({ kind: "layernorm", args: {}, inputs: [randomTensor(shape, 71)], params: { gamma: randomTensor([f], 72, 2), beta: randomTensor([f], 73) } });
  });
});

// ---------------------------------------------------------------------------------------------

describe("activations", () => {
  it("compute the published values", () => {
    const x = tensor([1, 4], [-2, -0.5, 0, 3]);
    expectValues(forward("relu", {}, [x]), [1, 4], [0, 0, 0, 3]);
    expectValues(forward("linear", {}, [x]), [1, 4], [-2, -0.5, 0, 3]);
    expectValues(forward("leakyrelu", { alpha: 0.2 }, [x]), [1, 4], [-0.4, -0.1, 0, 3]);
    expectValues(forward("leakyrelu", {}, [x]), [1, 4], [-0.02, -0.005, 0, 3]);
    // sigmoid(−2) = 0.11920292202211755, sigmoid(3) = 0.9525741268224334; tanh(−0.5) = −0.46211715726000974.
    expectValues(forward("sigmoid", {}, [x]), [1, 4], [0.11920292202211755, 0.3775406687981454, 0.5, 0.9525741268224334], 14);
    expectValues(forward("tanh", {}, [x]), [1, 4], [-0.9640275800758169, -0.46211715726000974, 0, 0.9950547536867305], 14);
    // softmax([1, 2, 3]) = [0.09003057317038046, 0.24472847105479767, 0.6652409557748219].
    expectValues(forward("softmax", {}, [tensor([2, 3], [1, 2, 3, 0, 0, 0])]), [2, 3], [0.09003057317038046, 0.24472847105479767, 0.6652409557748219, 1 / 3, 1 / 3, 1 / 3], 14);
  });

  it("stay finite for large inputs", () => {
    const y = forward("softmax", {}, [tensor([1, 3], [1000, 1000, -1000])]);
    expectValues(y, [1, 3], [0.5, 0.5, 0]);
    const s = forward("sigmoid", {}, [tensor([1, 2], [-1000, 1000])]);
    expectValues(s, [1, 2], [0, 1]);
  });

  it("relu and leakyrelu take the slope of the left side at exactly 0", () => {
    const x = tensor([1, 1], [0]);
    const dy = tensor([1, 1], [3]);
    expect(backward("relu", {}, [x], dy)[0]!.data[0]).toBe(0);
    expect(backward("leakyrelu", { alpha: 0.1 }, [x], dy)[0]!.data[0]).toBeCloseTo(0.3, 14);
  });

  it.each([
    ["relu", {}, [3, 4]],
    ["sigmoid", {}, [3, 4]],
    ["tanh", {}, [3, 4]],
    ["linear", {}, [3, 4]],
    ["leakyrelu", { alpha: 0.01 }, [3, 4]],
    ["leakyrelu", { alpha: 0.3 }, [2, 3, 4]],
    ["leakyrelu", {}, [3, 4]],
    ["softmax", {}, [3, 5]],
    ["softmax", {}, [2, 3, 4]],
    ["relu", {}, [2, 2, 2, 3]],
  ] as const)("gradients: %s %o on %o", (kind, args, shape) => {
    expectGradients({ kind, args, inputs: [randomTensor(shape, 81, 2)], params: {} });
  });
});

// ---------------------------------------------------------------------------------------------

describe("embedding", () => {
  const table = tensor([4, 2], [0, 1, 10, 11, 20, 21, 30, 31]);

  it("looks up the rows of the [V, D] table", () => {
    const y = forward("embedding", { vocabulary: 4, dimension: 2 }, [tensor([2, 3], [3, 0, 1, 1, 1, 2])], { embeddings: table });
    expectValues(y, [2, 3, 2], [30, 31, 0, 1, 10, 11, 10, 11, 10, 11, 20, 21]);
  });

  it("adds dy into the rows that were read (repeated ids accumulate) and gives ids a zero gradient", () => {
    const x = tensor([2, 2], [1, 3, 1, 1]);
    const g = { embeddings: zeros([4, 2]) };
    const dy = tensor([2, 2, 2], [1, 2, 3, 4, 5, 6, 7, 8]);
    const [dx] = backward("embedding", { vocabulary: 4, dimension: 2 }, [x], dy, { embeddings: table }, g);
    expect(Array.from(g.embeddings.data)).toEqual([0, 0, 1 + 5 + 7, 2 + 6 + 8, 0, 0, 3, 4]);
    expect(Array.from(dx!.data)).toEqual([0, 0, 0, 0]);
    expectGradients({ kind: "embedding", args: { vocabulary: 5, dimension: 3 }, inputs: [tensor([2, 4], [0, 4, 2, 2, 1, 4, 0, 3])], params: { embeddings: randomTensor([5, 3], 91) }, skipInputs: [0] });
  });

  it.each([
    [5, "token id 5 at sample 1, position 2"],
    [-1, "token id -1 at sample 1, position 2"],
    [1.5, "token id 1.5 at sample 1, position 2"],
  ])("an id %s outside [0, V) or not whole throws, naming the id and its position", (bad, message) => {
    const x = tensor([2, 3], [0, 1, 2, 3, 4, bad]);
    expect(() => forward("embedding", { vocabulary: 5, dimension: 2 }, [x], { embeddings: randomTensor([5, 2], 92) })).toThrowError(message);
  });
});

// ---------------------------------------------------------------------------------------------

describe("add and concat", () => {
  it("add sums any number of inputs", () => {
    const y = forward("add", {}, [tensor([1, 2], [1, 2]), tensor([1, 2], [10, 20]), tensor([1, 2], [100, 200])]);
    expectValues(y, [1, 2], [111, 222]);
    expectGradients({ kind: "add", args: {}, inputs: [randomTensor([2, 3, 2], 101), randomTensor([2, 3, 2], 102), randomTensor([2, 3, 2], 103)], params: {} });
  });

  it("concat joins any number of inputs on the last axis", () => {
    const y = forward("concat", {}, [tensor([2, 1], [1, 2]), tensor([2, 2], [10, 11, 20, 21]), tensor([2, 1], [100, 200])]);
    expectValues(y, [2, 4], [1, 10, 11, 100, 2, 20, 21, 200]);
    expectGradients({ kind: "concat", args: {}, inputs: [randomTensor([2, 3, 2], 104), randomTensor([2, 3, 1], 105), randomTensor([2, 3, 3], 106)], params: {} });
    expectGradients({ kind: "concat", args: {}, inputs: [randomTensor([2, 2, 2, 1], 107), randomTensor([2, 2, 2, 3], 108), randomTensor([2, 2, 2, 2], 109)], params: {} });
  });
});

// ---------------------------------------------------------------------------------------------
// The course notes' worked numbers. Arguments come from analysing each case's `.dl` text, so the
// statements' own resolution is exercised too; weights and data are the cases' Keras layouts.

interface SeedDlc {
  readonly dl: string;
  readonly weights: Record<string, unknown>;
  readonly data: { readonly x: unknown };
  readonly expectedOutputs: unknown;
}

interface SeedCase {
  readonly id: string;
  readonly inputs?: unknown;
  readonly expected?: unknown;
  readonly dlc?: SeedDlc;
}

const seedCases = loadSeedCases<SeedCase>();

function seed(id: string): SeedCase {
  const c = seedCases.find((s) => s.id === id);
  if (!c) throw new Error(`seed case ${id} is missing`);
  return c;
}

/** A nested JSON array as a tensor. */
function nested(value: unknown): Tensor {
  const shape: number[] = [];
  for (let v = value; Array.isArray(v); v = v[0]) shape.push(v.length);
  return tensor(shape, (value as unknown[]).flat(Infinity as 1) as number[]);
}

/** The network's layer nodes (not input), in order, with their resolved arguments. */
function layersOf(dl: string): { kind: string; name: string; args: unknown }[] {
  const analysis = analyze(dl);
  expect(analysis.hasErrors).toBe(false);
  return analysis.selected!.network.nodes.filter((n) => n.kind !== "input").map((n) => ({ kind: n.kind, name: n.name, args: n.args }));
}

function expectClose(actual: Tensor, expected: Tensor): void {
  expect(actual.shape).toEqual(expected.shape);
  expected.data.forEach((v, i) => expect(actual.data[i], `element ${i}`).toBeCloseTo(v, 12));
}

describe("seed cases: convolutions and poolings from the course notes", () => {
  // conv_6x6_filter1: the notes print filter 1 with a typo (a +1 at the middle-right); the case's
  // weights hold the corrected diagonal filter, which reproduces the printed 4x4 exactly.
  // conv_6x6_filter2: the notes print no result; the expected map is the case's own derivation.
  // conv_grey_5x5: the notes print 1.4 at the bottom-right; the right value is 1.9
  // (0.6 + 0.3 + 1 from the window [[0,0.6,1],[0,0,0.3],[1,1,1]]), and that is what we assert.
  it.each(["conv_6x6_filter1", "conv_6x6_filter2", "conv_6x6_two_filters", "conv_grey_5x5"])("%s", (id) => {
    const { dlc } = seed(id);
    const [layer] = layersOf(dlc!.dl);
    expect(layer!.kind).toBe("conv");
    const p: ParamTensors = { kernel: nested(dlc!.weights[`${layer!.name}.kernel`]), bias: nested(dlc!.weights[`${layer!.name}.bias`]) };
    const y = forward("conv", layer!.args, [nested(dlc!.data.x)], p);
    expectClose(y, nested(dlc!.expectedOutputs));
  });

  it("conv_grey_5x5: the bottom-right value is 1.9, not the 1.4 printed in the notes", () => {
    const { dlc } = seed("conv_grey_5x5");
    const [layer] = layersOf(dlc!.dl);
    const y = forward("conv", layer!.args, [nested(dlc!.data.x)], { kernel: nested(dlc!.weights["conv1.kernel"]), bias: nested(dlc!.weights["conv1.bias"]) });
    expect(y.data[8]).toBeCloseTo(1.9, 12);
  });

  it("conv_rgb_first_pixel: a 3-channel conv with pad 1 and bias 1 gives −25 at the top-left (308 − 498 + 164 + 1)", () => {
    const c = seed("conv_rgb_first_pixel");
    const inputs = c.inputs as { windows: Record<string, number[][]>; kernels: Record<string, number[][]>; bias: number };
    const expected = c.expected as { perChannel: number[]; output: number };
    const channels = ["R", "G", "B"];
    // The window's top row and left column are the zero padding: the image's corner is rows/columns 1–2.
    const x = zeros([1, 2, 2, 3]);
    const kernel = zeros([3, 3, 3, 1]);
    channels.forEach((ch, c3) => {
      const w = inputs.windows[ch]!;
      expect(w[0]).toEqual([0, 0, 0]);
      expect(w.map((row) => row[0])).toEqual([0, 0, 0]);
      for (let r = 0; r < 2; r++) for (let s = 0; s < 2; s++) x.data[(r * 2 + s) * 3 + c3] = w[r + 1]![s + 1]!;
      for (let u = 0; u < 3; u++) for (let v = 0; v < 3; v++) kernel.data[(u * 3 + v) * 3 + c3] = inputs.kernels[ch]![u]![v]!;
    });
    const [layer] = layersOf("network rgb {\n  input 2x2x3\n  conv 1 3x3 pad 1\n}\n");
    const y = forward("conv", layer!.args, [x], { kernel, bias: tensor([1], [inputs.bias]) });
    expect(y.shape).toEqual([1, 2, 2, 1]);
    expect(y.data[0]).toBeCloseTo(expected.output, 10);
    expect(expected.output).toBe(-25);
    // Each channel alone (the others zeroed, no bias) gives the notes' per-channel sums.
    channels.forEach((_ch, c3) => {
      const only = zeros([1, 2, 2, 3]);
      for (let i = c3; i < 12; i += 3) only.data[i] = x.data[i]!;
      expect(forward("conv", layer!.args, [only], { kernel, bias: tensor([1], [0]) }).data[0]).toBeCloseTo(expected.perChannel[c3]!, 10);
    });
  });

  it("maxpool_5x5_k3_s1", () => {
    const { dlc } = seed("maxpool_5x5_k3_s1");
    const [layer] = layersOf(dlc!.dl);
    expect(layer!.kind).toBe("maxpool");
    expectClose(forward("maxpool", layer!.args, [nested(dlc!.data.x)]), nested(dlc!.expectedOutputs));
  });

  // pool_2x2_table: the notes' table is garbled (five printed rows); the case uses the reading
  // that reproduces the printed max and min. The notes' third result [[0,1],[2,1]] is not the
  // average: the averages are [[0,1],[2.75,1.5]] (the printed bottom row is their floors), and
  // that is what we assert. The `parallel` network is run directly: its three pools, then concat.
  it("pool_2x2_table: max, min and average of the parallel branches, concatenated", () => {
    const { dlc } = seed("pool_2x2_table");
    const layers = layersOf(dlc!.dl);
    expect(layers.map((l) => l.kind)).toEqual(["maxpool", "minpool", "avgpool", "concat"]);
    const x = nested(dlc!.data.x);
    const branches = layers.slice(0, 3).map((l) => forward(l.kind, l.args, [x]));
    const y = forward("concat", layers[3]!.args, branches);
    expectClose(y, nested(dlc!.expectedOutputs));
    expectValues(branches[2]!, [1, 2, 2, 1], [0, 1, 2.75, 1.5]);
  });
});
