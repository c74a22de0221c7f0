/**
 * Compiled-vs-interpreter parity helpers for the code generator's tests: compile a .dl text to a
 * temporary .mjs and import it, pair it with an interpreter model holding the same weights, run
 * both, and compare with |a − b| ≤ tol·max(1, |a|, |b|).
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { generateModule } from "../../src/codegen/compile.js";
import { toJavaScript } from "../../src/codegen/format.js";
import { analyze, type CheckedNetwork } from "../../src/index.js";
import { computeLoss, type Targets } from "../../src/interp/losses.js";
import { Model as InterpModel } from "../../src/interp/model.js";
import { makeOptimizer, type Optimizer, type OptimizerState } from "../../src/interp/optimizers.js";
import { seededRandom } from "../../src/interp/random.js";
import type { Tensor } from "../../src/interp/tensor.js";
import type { LossKind, TrainConfig } from "../../src/ir/types.js";
import type { Shape } from "../../src/ir/shape.js";

export type Precision = "f32" | "f64";

/** Relative tolerances of the parity contract: f64 1e-9, f32 1e-4. */
export const TOLERANCE: Readonly<Record<Precision, number>> = { f64: 1e-9, f32: 1e-4 };

/** The generated module's Model, as the tests use it. */
export interface CompiledModel {
  readonly w: Float32Array | Float64Array;
  readonly g: Float32Array | Float64Array;
  readonly kernels: "wasm" | "js";
  loss: LossKind | null;
  optimizer: { kind: "sgd" | "adam" | "adamw"; lr: number; momentum: number; beta1: number; beta2: number; eps: number; weightDecay: number; clip: number };
  forward(inputs: readonly ArrayLike<number>[], n: number, training?: boolean): Float32Array | Float64Array;
  predict(inputs: readonly ArrayLike<number>[], n: number): Float32Array | Float64Array;
  lossAndGrad(targets: ArrayLike<number>, n: number): number;
  backward(n: number): void;
  step(lr?: number): void;
  trainStep(inputs: readonly ArrayLike<number>[], targets: ArrayLike<number>, n: number, lr?: number): number;
  optimizerState(): OptimizerState;
  setOptimizerState(state: OptimizerState): void;
  getWeight(name: string): { shape: readonly number[]; data: Float64Array } | undefined;
  setWeight(name: string, data: ArrayLike<number>): void;
  /** Modules compiled with threads: how many trainStep runs on, and stopping them. */
  readonly threads?: number;
  close?(): Promise<void>;
  /** Modules compiled with threads: resolves once the worker threads run (before that, every shard runs on this thread). */
  ready?(): Promise<void>;
}

export interface CompiledModule {
  readonly Model: new (options?: { maxBatch?: number; seed?: number; loss?: LossKind; kernels?: "wasm" | "js"; threads?: number }) => CompiledModel;
  readonly WEIGHTS: readonly { name: string; offset: number; size: number; kind: "param" | "state"; trainable: boolean }[];
  readonly NETWORK: { readonly output: readonly number[] };
}

export interface Compiled {
  readonly checked: CheckedNetwork;
  readonly train?: TrainConfig;
  /** The generated TypeScript (unformatted). */
  readonly code: string;
  readonly mod: CompiledModule;
}

let tmp: string | undefined;
let counter = 0;

/** A directory for this test process's generated files. */
export function tempDir(): string {
  tmp ??= mkdtempSync(join(tmpdir(), "dlc-compiled-"));
  return tmp;
}

/** .dl text → checked network → generated module, written as .mjs and imported. Throws on errors in the text. */
export async function compileText(text: string, precision: Precision, options: { network?: string; inputShape?: Shape; kernels?: "wasm" | "js"; threads?: number; fma?: boolean } = {}): Promise<Compiled> {
  const a = analyze(text, options);
  if (a.hasErrors || !a.selected) throw new Error(`the test network has errors:\n${a.diagnostics.map((d) => d.message).join("\n")}`);
  const code = generateModule(a.selected, { file: "test.dl", precision, train: a.train, version: "test", kernels: options.kernels, threads: options.threads, fma: options.fma });
  const path = join(tempDir(), `model-${process.pid}-${++counter}.mjs`);
  writeFileSync(path, await toJavaScript(code));
  const mod = (await import(pathToFileURL(path).href)) as CompiledModule;
  return { checked: a.selected, train: a.train, code, mod };
}

export interface PairOptions {
  readonly maxBatch: number;
  /** Seed of the interpreter's initial weights (7 by default). */
  readonly initSeed?: number;
  /** Seed of the compiled model's generator (dropout); 1 by default. */
  readonly randomSeed?: number;
  readonly loss?: LossKind;
  /** Weights (or state) to set by §8 name instead of the seeded ones. */
  readonly weights?: Readonly<Record<string, readonly number[]>>;
}

/**
 * An interpreter model with weights from `initSeed` (or `weights`) and a compiled model given the same weights
 * (state included). The compiled model's dropout generator starts from `randomSeed`: hand the
 * interpreter `seededRandom(randomSeed)` and both draw the same masks.
 */
export function pair(c: Compiled, o: PairOptions): { interp: InterpModel; model: CompiledModel } {
  const interp = new InterpModel(c.checked, seededRandom(o.initSeed ?? 7));
  const known = interp.namedWeights();
  for (const name of Object.keys(o.weights ?? {})) if (!known.has(name)) throw new Error(`the network has no weight ${name}`);
  if (o.weights) interp.loadWeights(new Map(Object.entries(o.weights).map(([k, v]) => [k, { data: Float64Array.from(v) }])));
  const model = new c.mod.Model({ maxBatch: o.maxBatch, seed: o.randomSeed ?? 1, loss: o.loss });
  for (const [name, t] of interp.namedWeights()) model.setWeight(name, t.data);
  return { interp, model };
}

/** Targets as the compiled model takes them: values shaped like the output, or class indices. */
export function flatTargets(t: Targets): number[] {
  return t.kind === "values" ? Array.from(t.tensor.data) : Array.from(t.indices);
}

/**
 * One interpreter training step as the generated trainStep does it: forward (training), the
 * loss (fused with a final softmax/sigmoid where possible), backward, plain SGD. Returns the loss
 * and the output of the training forward pass.
 */
export function interpreterStep(interp: InterpModel, inputs: readonly Tensor[], targets: Targets, loss: LossKind, lr: number, random: () => number): { loss: number; output: Tensor } {
  return interpreterStepWith(interp, inputs, targets, loss, makeOptimizer({ kind: "sgd", lr }), random);
}

/** The same step with a given optimizer, which keeps its state (velocity, moments, t) from step to step. */
export function interpreterStepWith(interp: InterpModel, inputs: readonly Tensor[], targets: Targets, loss: LossKind, optimizer: Optimizer, random: () => number): { loss: number; output: Tensor } {
  const ctx = { training: true, random };
  const fused = interp.fusedWith(loss);
  const pass = interp.forward(inputs, ctx, fused);
  const r = computeLoss(loss, pass.output, pass.logits, targets, fused);
  interp.zeroGrads();
  interp.backward(pass, r.grad, ctx, fused);
  optimizer.step(interp.trainableSlots());
  return { loss: r.loss, output: pass.output };
}

/** Every parameter gradient of the interpreter by its §8 name. */
export function interpreterGrads(interp: InterpModel): Map<string, Float64Array> {
  const out = new Map<string, Float64Array>();
  interp.nodes.forEach((n, i) => {
    for (const [k, t] of Object.entries(interp.grads[i]!)) out.set(`${n.name}.${k}`, t.data);
  });
  return out;
}

/**
 * Every parameter gradient of one batch by forward, lossAndGrad and backward alone. trainStep
 * with plain SGD steps some weights as their gradients are made (the folded step) and leaves
 * them out of `g`, so a gradient check runs this on a second model made like the first.
 */
export function backwardOnly(model: CompiledModel, inputs: readonly ArrayLike<number>[], targets: ArrayLike<number>, n: number): CompiledModel {
  model.forward(inputs, n, true);
  model.lossAndGrad(targets, n);
  model.g.fill(0);
  model.backward(n);
  return model;
}

/** The compiled model's gradient of one weight (a copy of its slice of `g`). */
export function compiledGrad(c: Compiled, model: CompiledModel, name: string): Float64Array {
  const spec = c.mod.WEIGHTS.find((s) => s.name === name);
  if (!spec) throw new Error(`no weight ${name}`);
  return Float64Array.from(model.g.subarray(spec.offset, spec.offset + spec.size));
}

/** The first element where |a − b| > tol·max(1, |a|, |b|), described; undefined when all agree. */
export function mismatch(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): string | undefined {
  if (actual.length !== expected.length) return `${what}: ${actual.length} values, expected ${expected.length}`;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]!;
    const b = expected[i]!;
    if (!(Math.abs(a - b) <= tol * Math.max(1, Math.abs(a), Math.abs(b)))) return `${what}[${i}]: ${a} vs ${b} (tolerance ${tol})`;
  }
  return undefined;
}

/** Throws with the first mismatch (a readable failure in any test runner). */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  const m = mismatch(actual, expected, tol, what);
  if (m) throw new Error(m);
}

export interface ParityCase {
  readonly text: string;
  readonly precision: Precision;
  /** One tensor per network input, batch first. */
  readonly inputs: readonly Tensor[];
  readonly targets: Targets;
  readonly loss: LossKind;
  readonly lr?: number;
  readonly initSeed?: number;
  readonly randomSeed?: number;
  readonly weights?: Readonly<Record<string, readonly number[]>>;
}

export interface ParityReport {
  readonly compiled: Compiled;
  /** Names of the weights compared after the step (state included). */
  readonly weights: readonly string[];
  /** The interpreter's loss of the step (for sanity checks). */
  readonly loss: number;
}

/**
 * The whole parity check on one batch: inference outputs, training-mode outputs (same dropout
 * draws), the loss of one trainStep (SGD, lr 0.1 by default), every parameter gradient (by
 * backward alone, on a second model), and every weight and state after the step. Throws on the
 * first disagreement.
 */
export async function checkParity(p: ParityCase): Promise<ParityReport> {
  const tol = TOLERANCE[p.precision];
  const c = await compileText(p.text, p.precision);
  const n = p.inputs[0]!.shape[0]!;
  const lr = p.lr ?? 0.1;
  const data = p.inputs.map((t) => t.data);
  const setup: PairOptions = { initSeed: p.initSeed, randomSeed: p.randomSeed, maxBatch: n, loss: p.loss, weights: p.weights };

  // Inference.
  {
    const { interp, model } = pair(c, setup);
    const expected = interp.forward(p.inputs, { training: false, random: seededRandom(0) }).output;
    expectClose(model.predict(data, n), expected.data, tol, "inference output");
  }
  // Training-mode forward: the same dropout draws and batch statistics.
  {
    const { interp, model } = pair(c, setup);
    const expected = interp.forward(p.inputs, { training: true, random: seededRandom(p.randomSeed ?? 1) }).output;
    expectClose(model.forward(data, n, true).slice(0, expected.data.length), expected.data, tol, "training output");
  }
  // One training step.
  const { interp, model } = pair(c, setup);
  model.optimizer.kind = "sgd";
  model.optimizer.momentum = 0;
  const step = interpreterStep(interp, p.inputs, p.targets, p.loss, lr, seededRandom(p.randomSeed ?? 1));
  const loss = model.trainStep(data, flatTargets(p.targets), n, lr);
  expectClose([loss], [step.loss], tol, "loss");
  const grads = backwardOnly(pair(c, setup).model, data, flatTargets(p.targets), n);
  for (const [name, grad] of interpreterGrads(interp)) expectClose(compiledGrad(c, grads, name), grad, tol, `gradient of ${name}`);
  const weights: string[] = [];
  for (const [name, t] of interp.namedWeights()) {
    expectClose(model.getWeight(name)!.data, t.data, tol, `${name} after the step`);
    weights.push(name);
  }
  return { compiled: c, weights, loss: step.loss };
}
