// Optimizer state over several batches, for every optimizer of §6 (sgd, sgd with momentum, adam
// with its beta1/beta2/eps, adamw) with weight_decay and clip: a hand-written reference (plain loops over a linear dense 5→3 layer
// and the squared loss, with §6's update formulas), the interpreter against it, and the compiled
// module against the interpreter, in float64 (tight) and float32 (on the WebAssembly SIMD
// kernels and the JavaScript ones; 18 weights, so the SIMD kernels run both their four-wide loop
// and their scalar tail). Each step's update (w after − w before) is compared too, so a slip in
// the state (momentum dropped, a moment or a bias correction wrong) cannot hide in the weights.
import { describe, expect, it } from "vitest";
import { analyze } from "../src/index.js";
import { arrayDataset } from "../src/interp/array-dataset.js";
import { Model as InterpModel } from "../src/interp/model.js";
import { makeOptimizer, type OptimizerConfig } from "../src/interp/optimizers.js";
import { seededRandom } from "../src/interp/random.js";
import { train } from "../src/interp/train.js";
import { compileText, expectClose, interpreterStepWith, type Compiled, type Precision } from "./helpers/compiled.js";

const F = 5;
const N = 3;

interface Optimizer {
  readonly name: string;
  /** The train block's optimizer line. */
  readonly line: string;
  readonly config: Required<Pick<OptimizerConfig, "kind" | "lr">> & { momentum: number; beta1: number; beta2: number; eps: number; weightDecay: number; clip: number };
}

const OPTIMIZERS: readonly Optimizer[] = [
  { name: "sgd", line: "optimizer sgd lr 0.2", config: { kind: "sgd", lr: 0.2, momentum: 0, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, clip: 0 } },
  { name: "sgd with momentum", line: "optimizer sgd lr 0.1 momentum 0.9", config: { kind: "sgd", lr: 0.1, momentum: 0.9, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, clip: 0 } },
  { name: "adam (defaults)", line: "optimizer adam lr 0.05", config: { kind: "adam", lr: 0.05, momentum: 0, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, clip: 0 } },
  { name: "sgd with momentum and weight_decay", line: "optimizer sgd lr 0.1 momentum 0.9\n  weight_decay 0.3", config: { kind: "sgd", lr: 0.1, momentum: 0.9, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.3, clip: 0 } },
  { name: "sgd with clip (some steps clipped, some not)", line: "optimizer sgd lr 0.2\n  clip 1.2", config: { kind: "sgd", lr: 0.2, momentum: 0, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, clip: 1.2 } },
  { name: "adam with weight_decay (L2)", line: "optimizer adam lr 0.05\n  weight_decay 0.2", config: { kind: "adam", lr: 0.05, momentum: 0, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.2, clip: 0 } },
  { name: "adamw (its default weight_decay 0.01)", line: "optimizer adamw lr 0.05", config: { kind: "adamw", lr: 0.05, momentum: 0, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, clip: 0 } },
  { name: "adam (beta1, beta2, eps)", line: "optimizer adam lr 0.05 beta1 0.8 beta2 0.95 eps 1e-4", config: { kind: "adam", lr: 0.05, momentum: 0, beta1: 0.8, beta2: 0.95, eps: 1e-4, weightDecay: 0, clip: 0 } },
  // last: the compiled modules are built from this one's train block
  { name: "adamw with weight_decay and clip", line: "optimizer adamw lr 0.05 beta1 0.8 beta2 0.95 eps 1e-4\n  weight_decay 0.5\n  clip 1.2", config: { kind: "adamw", lr: 0.05, momentum: 0, beta1: 0.8, beta2: 0.95, eps: 1e-4, weightDecay: 0.5, clip: 1.2 } },
];

const networkText = (o: Optimizer): string => `network lin {\n  input ${F}\n  dense ${N}\n}\ntrain {\n  loss squared\n  ${o.line}\n}\n`;

/** Deterministic values in [-1, 1). */
function values(count: number, seed: number): number[] {
  const r = seededRandom(seed);
  return Array.from({ length: count }, () => 2 * r() - 1);
}

const KERNEL0 = values(F * N, 1); // [F, N], row-major as §8 lays it out
const BIAS0 = values(N, 2);

/** Batches of different sizes (the last one partial, as a dataset's last batch is). */
const BATCHES = [4, 5, 3, 5, 2].map((n, i) => ({ n, x: values(n * F, 10 + i), y: values(n * N, 20 + i) }));

type Batch = (typeof BATCHES)[number];

/** The weights as one list: the kernel, then the bias. */
type Weights = number[];

/**
 * The reference: a = x·K + b; loss = mean over samples of ½Σ(y − a)²; gradients by hand; clip:
 * g ·= clip / (‖g‖ + 1e-6) when that is below 1; then §6's updates — sgd g += wd·w, v = M·v + g,
 * w −= lr·v (v from 0); adam g += wd·w (adamw instead w ·= 1 − lr·wd), m = β1·m + (1−β1)·g,
 * v = β2·v + (1−β2)·g², w −= lr·(m / (1−β1^t)) / (√(v / (1−β2^t)) + eps). Returns the loss and
 * weights after each step, and which steps were clipped.
 */
function reference(o: Optimizer["config"], batches: readonly Batch[]): { losses: number[]; weights: Weights[]; clipped: boolean[] } {
  const w = [...KERNEL0, ...BIAS0];
  const velocity = w.map(() => 0);
  const m1 = w.map(() => 0);
  const m2 = w.map(() => 0);
  const losses: number[] = [];
  const weights: Weights[] = [];
  const clipped: boolean[] = [];
  batches.forEach(({ n, x, y }, step) => {
    const g = w.map(() => 0);
    let loss = 0;
    for (let s = 0; s < n; s++) {
      for (let j = 0; j < N; j++) {
        let a = w[F * N + j]!;
        for (let f = 0; f < F; f++) a += x[s * F + f]! * w[f * N + j]!;
        const e = a - y[s * N + j]!;
        loss += (0.5 * e * e) / n;
        for (let f = 0; f < F; f++) g[f * N + j]! += (e * x[s * F + f]!) / n;
        g[F * N + j]! += e / n;
      }
    }
    const t = step + 1;
    const coef = o.clip / (Math.hypot(...g) + 1e-6);
    clipped.push(o.clip > 0 && coef < 1);
    if (clipped.at(-1)) for (let i = 0; i < g.length; i++) g[i]! *= coef;
    for (let i = 0; i < w.length; i++) {
      const gi = o.kind === "adamw" ? g[i]! : g[i]! + o.weightDecay * w[i]!;
      if (o.kind === "sgd") {
        velocity[i] = o.momentum * velocity[i]! + gi;
        w[i]! -= o.lr * velocity[i]!;
      } else {
        if (o.kind === "adamw") w[i]! *= 1 - o.lr * o.weightDecay;
        m1[i] = o.beta1 * m1[i]! + (1 - o.beta1) * gi;
        m2[i] = o.beta2 * m2[i]! + (1 - o.beta2) * gi * gi;
        w[i]! -= (o.lr * (m1[i]! / (1 - o.beta1 ** t))) / (Math.sqrt(m2[i]! / (1 - o.beta2 ** t)) + o.eps);
      }
    }
    losses.push(loss);
    weights.push([...w]);
  });
  return { losses, weights, clipped };
}

function interpreterFor(o: Optimizer): InterpModel {
  const a = analyze(networkText(o));
  expect(a.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  // The train block is read as the optimizer the test means.
  expect({ ...o.config, ...a.train!.optimizer }).toEqual(o.config);
  const interp = new InterpModel(a.selected!, seededRandom(1));
  interp.loadWeights(new Map([["dense1.kernel", { data: Float64Array.from(KERNEL0) }], ["dense1.bias", { data: Float64Array.from(BIAS0) }]]));
  return interp;
}

function interpreterWeights(interp: InterpModel): Weights {
  const named = interp.namedWeights();
  return [...named.get("dense1.kernel")!.data, ...named.get("dense1.bias")!.data];
}

/** The update of one step (after − before), compared relative to its own size. */
function expectSameUpdate(before: Weights, after: ArrayLike<number>, expectedAfter: Weights, tol: number, what: string): void {
  for (let i = 0; i < before.length; i++) {
    const got = after[i]! - before[i]!;
    const want = expectedAfter[i]! - before[i]!;
    if (!(Math.abs(got - want) <= tol * Math.max(Math.abs(want), 1e-3))) throw new Error(`${what}: update of weight ${i} is ${got}, expected ${want} (tolerance ${tol})`);
  }
}

interface Build {
  readonly precision: Precision;
  readonly kernels: "wasm" | "js";
  /** dlc compile --threads: the batch's shards, summed and stepped slice by slice (stepRange). */
  readonly threads: number;
  readonly tol: number;
}

const BUILDS: readonly Build[] = [
  { precision: "f64", kernels: "js", threads: 1, tol: 1e-10 },
  { precision: "f32", kernels: "wasm", threads: 1, tol: 1e-4 },
  { precision: "f32", kernels: "js", threads: 1, tol: 1e-4 },
  { precision: "f32", kernels: "wasm", threads: 2, tol: 1e-4 },
];

/** One module per precision and thread count (compiling is the slow part), from the last optimizer's train block. */
const modules = new Map<string, Promise<Compiled>>();
function compiled(b: Build): Promise<Compiled> {
  const key = `${b.precision}-${b.threads}`;
  if (!modules.has(key)) modules.set(key, compileText(networkText(OPTIMIZERS.at(-1)!), b.precision, { threads: b.threads > 1 ? b.threads : undefined }));
  return modules.get(key)!;
}

describe("the compiled module reads the train block's optimizer", () => {
  it.each(BUILDS)("$precision, $kernels kernels, $threads shards", async (build) => {
    const { mod } = await compiled(build);
    const model = new mod.Model({ maxBatch: 5, kernels: build.kernels });
    expect(model.optimizer).toEqual(OPTIMIZERS.at(-1)!.config);
    await model.close?.();
  });
});

describe.each(OPTIMIZERS)("$name over five batches", (o) => {
  const ref = reference(o.config, BATCHES);

  it("the reference moves the weights, differently at each step (the test has teeth)", () => {
    const steps = [[...KERNEL0, ...BIAS0], ...ref.weights];
    for (let s = 1; s < steps.length; s++) expect(steps[s]).not.toEqual(steps[s - 1]);
    // with clip, the gradient's norm is above it at some steps and below at others
    if (o.config.clip > 0) expect(new Set(ref.clipped)).toEqual(new Set([true, false]));
    // weight decay changes the path (and decoupled differs from L2)
    if (o.config.weightDecay > 0) {
      expect(reference({ ...o.config, weightDecay: 0 }, BATCHES).weights.at(-1)).not.toEqual(ref.weights.at(-1));
      if (o.config.kind !== "sgd") expect(reference({ ...o.config, kind: o.config.kind === "adam" ? "adamw" : "adam" }, BATCHES).weights.at(-1)).not.toEqual(ref.weights.at(-1));
    }
  });

  it("interpreter: each step's loss and weights match the hand-computed reference (float64)", () => {
    const interp = interpreterFor(o);
    const optimizer = makeOptimizer(o.config);
    BATCHES.forEach((b, step) => {
      const before = interpreterWeights(interp);
      const inputs = [{ shape: [b.n, F], data: Float64Array.from(b.x) }];
      const r = interpreterStepWith(interp, inputs, { kind: "values", tensor: { shape: [b.n, N], data: Float64Array.from(b.y) } }, "squared", optimizer, seededRandom(0));
      expectClose([r.loss], [ref.losses[step]!], 1e-12, `loss of step ${step + 1}`);
      expectClose(interpreterWeights(interp), ref.weights[step]!, 1e-12, `weights after step ${step + 1}`);
      expectSameUpdate(before, interpreterWeights(interp), ref.weights[step]!, 1e-9, `step ${step + 1}`);
    });
  });

  it("interpreter's train(): four full-batch epochs are four steps with the state kept", async () => {
    const all = BATCHES[1]!; // five samples, one batch per epoch, in file order
    const full = reference(o.config, [all, all, all, all]);
    const interp = interpreterFor(o);
    const data = arrayDataset({ size: all.n, inputs: [{ shape: [F], data: Float64Array.from(all.x) }], targets: { kind: "values", shape: [N], data: Float64Array.from(all.y) } });
    const outcome = await train(interp, data, { loss: "squared", optimizer: o.config, epochs: 4, batch: all.n, seed: 1 });
    expect(outcome.status).toBe("done");
    expectClose(outcome.epochs.map((e) => e.loss), full.losses, 1e-12, "epoch losses");
    expectClose(interpreterWeights(interp), full.weights[3]!, 1e-12, "weights after four epochs");
  });

  it.each(BUILDS)("compiled module ($precision, $kernels kernels, $threads shards) steps as the interpreter does", async (build) => {
    const { mod } = await compiled(build);
    const model = new mod.Model({ maxBatch: 5, kernels: build.kernels, threads: build.threads > 1 ? build.threads : undefined });
    expect(model.kernels).toBe(build.kernels);
    // the shards on their threads (clipping's norm is summed across them)
    await model.ready?.();
    model.optimizer = { ...o.config };
    model.setWeight("dense1.kernel", KERNEL0);
    model.setWeight("dense1.bias", BIAS0);
    const interp = interpreterFor(o);
    const optimizer = makeOptimizer(o.config);
    const compiledWeights = (): number[] => [...model.getWeight("dense1.kernel")!.data, ...model.getWeight("dense1.bias")!.data];
    try {
      BATCHES.forEach((b, step) => {
        const before = compiledWeights();
        const loss = model.trainStep([b.x], b.y, b.n);
        const r = interpreterStepWith(interp, [{ shape: [b.n, F], data: Float64Array.from(b.x) }], { kind: "values", tensor: { shape: [b.n, N], data: Float64Array.from(b.y) } }, "squared", optimizer, seededRandom(0));
        expectClose([loss], [r.loss], build.tol, `loss of step ${step + 1}`);
        const want = interpreterWeights(interp);
        expectClose(compiledWeights(), want, build.tol, `weights after step ${step + 1}`);
        // float32 rounds the weights themselves (~6e-8 of 1), so the update is checked to 1e-3 of its size there
        expectSameUpdate(before, compiledWeights(), want, build.precision === "f64" ? 1e-8 : 1e-3, `step ${step + 1}`);
      });
      if (build.threads > 1) expect((model as unknown as { shardThreads: { lastThreads: number } }).shardThreads.lastThreads).toBe(build.threads);
    } finally {
      await model.close?.();
    }
  });
});
