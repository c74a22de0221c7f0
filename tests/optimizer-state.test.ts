// Optimizer state export/import (checkpoints): in both engines the same shape (kind, step, and
// per trainable weight by §8 name: sgd's velocity, Adam's m and v), and continuing from an
// exported state is the same as never stopping — bit-identical — for sgd with momentum and adam,
// in the interpreter and the compiled module (float64, float32 on WebAssembly and JS kernels,
// two shards). A state of another optimizer, or of other weights or sizes, is refused by name.
import { describe, expect, it } from "vitest";
import { analyze } from "../src/index.js";
import { Model as InterpModel } from "../src/interp/model.js";
import { makeOptimizer, type OptimizerConfig, type OptimizerState } from "../src/interp/optimizers.js";
import { seededRandom } from "../src/interp/random.js";
import { compileText, interpreterStepWith, type Compiled, type CompiledModel, type Precision } from "./helpers/compiled.js";

// A frozen first layer: its weights have no optimizer state.
const TEXT = "network s {\n  input 4\n  dense 3 frozen\n  dense 2\n}\ntrain { loss squared }\n";
const TRAINED = ["dense2.bias", "dense2.kernel"];

function values(count: number, seed: number): number[] {
  const r = seededRandom(seed);
  return Array.from({ length: count }, () => 2 * r() - 1);
}
const BATCHES = [3, 4, 2, 4, 3].map((n, i) => ({ n, x: values(4 * n, 30 + i), y: values(2 * n, 40 + i) }));

const CONFIGS: readonly OptimizerConfig[] = [
  { kind: "sgd", lr: 0.1, momentum: 0.9 },
  { kind: "adam", lr: 0.05 },
];

function interpreter(): InterpModel {
  const a = analyze(TEXT);
  return new InterpModel(a.selected!, seededRandom(3));
}

function interpStep(interp: InterpModel, optimizer: ReturnType<typeof makeOptimizer>, b: (typeof BATCHES)[number]): void {
  interpreterStepWith(interp, [{ shape: [b.n, 4], data: Float64Array.from(b.x) }], { kind: "values", tensor: { shape: [b.n, 2], data: Float64Array.from(b.y) } }, "squared", optimizer, seededRandom(0));
}

function weightsOf(interp: InterpModel): number[] {
  return [...interp.namedWeights().values()].flatMap((t) => [...t.data]);
}

describe.each(CONFIGS)("$kind: the interpreter's state", (config) => {
  it("has the documented shape and continues bit-identically", () => {
    const straight = interpreter();
    const o1 = makeOptimizer(config);
    for (const b of BATCHES) interpStep(straight, o1, b);

    const first = interpreter();
    const o2 = makeOptimizer(config);
    for (const b of BATCHES.slice(0, 3)) interpStep(first, o2, b);
    const state = o2.state(first.trainableSlots());
    expect(state.kind).toBe(config.kind);
    expect(state.step).toBe(3);
    expect(Object.keys(state.slots).sort()).toEqual(config.kind === "sgd" ? ["velocity"] : ["m", "v"]);
    for (const buffers of Object.values(state.slots)) {
      expect(Object.keys(buffers).sort()).toEqual(TRAINED);
      expect(buffers["dense2.kernel"]!.length).toBe(6);
      expect([...buffers["dense2.kernel"]!].some((x) => x !== 0)).toBe(true);
    }
    // A fresh model and optimizer given the weights and the state, as a resumed run would be.
    const resumed = interpreter();
    resumed.loadWeights(new Map([...first.namedWeights()].map(([k, t]) => [k, { data: Float64Array.from(t.data) }])));
    const o3 = makeOptimizer(config);
    o3.setState(state, resumed.trainableSlots());
    for (const b of BATCHES.slice(3)) interpStep(resumed, o3, b);
    expect(weightsOf(resumed)).toEqual(weightsOf(straight));
    expect(o3.state(resumed.trainableSlots())).toEqual(o1.state(straight.trainableSlots()));
  });
});

describe("the interpreter refuses a state it cannot continue", () => {
  const interp = interpreter();
  const slots = interp.trainableSlots();
  const adamState = makeOptimizer({ kind: "adam", lr: 0.1 }).state(slots);
  const refuse = (state: OptimizerState, kind: OptimizerConfig["kind"] = "adam"): string => {
    try {
      makeOptimizer({ kind, lr: 0.1 }).setState(state, slots);
    } catch (e) {
      return (e as Error).message;
    }
    return "accepted";
  };
  it("another optimizer", () => {
    expect(refuse(adamState, "sgd")).toBe("the optimizer state is adam's, but this run trains with sgd");
    expect(refuse(adamState, "adamw")).toBe("the optimizer state is adam's, but this run trains with adamw");
  });
  it("other weights or sizes", () => {
    const { "dense2.bias": _bias, ...rest } = adamState.slots.m!;
    expect(refuse({ ...adamState, slots: { ...adamState.slots, m: rest } })).toBe("the optimizer state's 'm' lacks the weight 'dense2.bias'");
    expect(refuse({ ...adamState, slots: { ...adamState.slots, m: { ...adamState.slots.m, "dense1.kernel": new Float64Array(12) } } })).toBe("the optimizer state's 'm' holds a weight 'dense1.kernel' that the network does not train");
    expect(refuse({ ...adamState, slots: { ...adamState.slots, v: { ...adamState.slots.v, "dense2.bias": new Float64Array(3) } } })).toBe("the optimizer state's 'v' of 'dense2.bias' has 3 values; the network's weight has 2");
    expect(refuse({ ...adamState, step: 1.5 })).toBe("the optimizer state's step must be a whole number ≥ 0, got 1.5");
    expect(refuse(adamState)).toBe("accepted");
  });
});

interface Build {
  readonly precision: Precision;
  readonly kernels: "wasm" | "js";
  readonly threads: number;
}
const BUILDS: readonly Build[] = [
  { precision: "f64", kernels: "js", threads: 1 },
  { precision: "f32", kernels: "wasm", threads: 1 },
  { precision: "f32", kernels: "js", threads: 1 },
  { precision: "f32", kernels: "wasm", threads: 2 },
];
const modules = new Map<string, Promise<Compiled>>();
function compiled(b: Build): Promise<Compiled> {
  const key = `${b.precision}-${b.threads}`;
  if (!modules.has(key)) modules.set(key, compileText(TEXT, b.precision, { threads: b.threads > 1 ? b.threads : undefined }));
  return modules.get(key)!;
}

describe.each(BUILDS)("compiled ($precision, $kernels kernels, $threads shards)", (build) => {
  it.each(CONFIGS)("$kind: the state matches the interpreter's and resuming is bit-identical", async (config) => {
    const { mod } = await compiled(build);
    const make = (): CompiledModel => {
      const model = new mod.Model({ maxBatch: 4, kernels: build.kernels, seed: 5, threads: build.threads > 1 ? build.threads : undefined });
      model.optimizer = { ...model.optimizer, ...config };
      return model;
    };
    const straight = make();
    const first = make();
    const resumed = make();
    for (const m of [straight, first, resumed]) await m.ready?.();
    const interp = interpreter();
    for (const [name, t] of interp.namedWeights()) for (const m of [straight, first]) m.setWeight(name, t.data);
    const o = makeOptimizer(config);
    try {
      for (const b of BATCHES) straight.trainStep([b.x], b.y, b.n);
      for (const b of BATCHES.slice(0, 3)) {
        first.trainStep([b.x], b.y, b.n);
        interpStep(interp, o, b);
      }
      const state = first.optimizerState();
      const reference = o.state(interp.trainableSlots());
      expect(state.kind).toBe(reference.kind);
      expect(state.step).toBe(reference.step);
      const tol = build.precision === "f64" ? 1e-12 : 1e-4;
      for (const [slot, buffers] of Object.entries(reference.slots)) {
        expect(Object.keys(state.slots[slot]!).sort()).toEqual(Object.keys(buffers).sort());
        for (const [name, data] of Object.entries(buffers)) {
          const got = state.slots[slot]![name]!;
          for (let i = 0; i < data.length; i++) expect(Math.abs(got[i]! - data[i]!)).toBeLessThanOrEqual(tol * Math.max(1e-3, Math.abs(data[i]!)));
        }
      }
      for (const spec of mod.WEIGHTS) resumed.setWeight(spec.name, first.getWeight(spec.name)!.data);
      resumed.setOptimizerState(state);
      for (const b of BATCHES.slice(3)) resumed.trainStep([b.x], b.y, b.n);
      expect([...resumed.w]).toEqual([...straight.w]);
      expect(resumed.optimizerState()).toEqual(straight.optimizerState());
      const other = config.kind === "sgd" ? "adam" : "sgd";
      expect(() => make().setOptimizerState({ ...state, kind: other })).toThrow(`the optimizer state is ${other}'s, but this run trains with ${config.kind}`);
    } finally {
      for (const m of [straight, first, resumed]) await m.close?.();
    }
  });
});
