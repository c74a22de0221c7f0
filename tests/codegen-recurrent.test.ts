/**
 * Generated code for rnn, lstm, gru and attention against the interpreter (the reference):
 * the same weights and data, then the inference output, the loss, and every weight after one
 * sgd training step (lr 0.1). f64 must agree within 1e-9, f32 within 1e-4, relative
 * (|a−b| ≤ tol·max(1,|a|,|b|)).
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { generateModule } from "../src/codegen/compile.js";
import { analyze } from "../src/index.js";
import type { LossKind } from "../src/ir/types.js";
import type { Shape } from "../src/ir/shape.js";
import { computeLoss, type Targets } from "../src/interp/losses.js";
import type { Model as InterpModel } from "../src/interp/model.js";
import { makeOptimizer } from "../src/interp/optimizers.js";
import { seededRandom } from "../src/interp/random.js";
import { tensor, type Tensor } from "../src/interp/tensor.js";
import { backwardOnly, compiledGrad, compileText, expectClose, flatTargets, interpreterGrads, pair, TOLERANCE, type Compiled, type CompiledModel } from "./helpers/compiled.js";

const PRECISIONS = ["f64", "f32"] as const;

interface Case {
  readonly text: string;
  readonly inputShape?: Shape;
  readonly n?: number;
  /** The model's maxBatch, when above n: a full-size batch runs through it first (stale buffers). */
  readonly maxBatch?: number;
  readonly loss?: LossKind;
  /** Inputs are ids below this (embedding), per network input; otherwise uniform in ±1. */
  readonly ids?: readonly (number | undefined)[];
  /** Targets are class indices below the output width (cross_entropy). */
  readonly classes?: boolean;
  /** Weights (biases and state included) are uniform in ±scale, so both gru biases matter. */
  readonly scale?: number;
  readonly seed?: number;
}

interface Data {
  readonly inputs: Tensor[];
  readonly targets: Targets;
  readonly weights: Map<string, Float64Array>;
}

const sizeOf = (shape: readonly number[]): number => shape.reduce((p, d) => p * d, 1);

function dataFor(c: Compiled, k: Case): Data {
  const random = seededRandom(k.seed ?? 11);
  const n = k.n ?? 3;
  const { checked } = c;
  const inputs = checked.network.inputs.map((id, i) => {
    const shape = checked.facts[id]!.shape!;
    const ids = k.ids?.[i];
    return tensor([n, ...shape], Float64Array.from({ length: n * sizeOf(shape) }, () => (ids ? Math.floor(random() * ids) : random() * 2 - 1)));
  });
  const out = checked.facts[checked.network.output!]!.shape!;
  const width = out[out.length - 1]!;
  const targets: Targets = k.classes
    ? { kind: "classes", indices: Int32Array.from({ length: (n * sizeOf(out)) / width }, () => Math.floor(random() * width)) }
    : { kind: "values", tensor: tensor([n, ...out], Float64Array.from({ length: n * sizeOf(out) }, () => random() * 2 - 1)) };
  const scale = k.scale ?? 0.5;
  const weights = new Map<string, Float64Array>();
  for (const spec of c.mod.WEIGHTS) weights.set(spec.name, Float64Array.from({ length: spec.size }, () => (random() * 2 - 1) * scale));
  return { inputs, targets, weights };
}

/** Both models on the case's weights. */
function models(c: Compiled, k: Case, d: Data): { interp: InterpModel; model: CompiledModel } {
  const { interp, model } = pair(c, { maxBatch: k.maxBatch ?? k.n ?? 3, loss: k.loss ?? "squared", randomSeed: 5 });
  interp.loadWeights(new Map([...d.weights].map(([name, data]) => [name, { data }])));
  for (const [name, data] of d.weights) model.setWeight(name, data);
  if (k.maxBatch !== undefined) {
    const random = seededRandom(99);
    const full = c.checked.network.inputs.map((id) => Float64Array.from({ length: k.maxBatch! * sizeOf(c.checked.facts[id]!.shape!) }, () => random() * 2 - 1));
    model.predict(full, k.maxBatch);
  }
  return { interp, model };
}

/** One interpreter sgd step as interp/train.ts runs it, with the train block's bptt. */
function interpreterStep(c: Compiled, interp: InterpModel, d: Data, loss: LossKind, lr: number): number {
  const ctx = { training: true, random: seededRandom(5), bptt: c.train?.bptt };
  const fused = interp.fusedWith(loss);
  const pass = interp.forward(d.inputs, ctx, fused);
  const r = computeLoss(loss, pass.output, pass.logits, d.targets, fused);
  interp.zeroGrads();
  interp.backward(pass, r.grad, ctx, fused);
  makeOptimizer({ kind: "sgd", lr }).step(interp.trainableSlots());
  return r.loss;
}

/**
 * Compiles the case in both precisions and compares with the interpreter: the inference output,
 * the loss of one trainStep (sgd, lr 0.1), every gradient, and every weight after the step.
 * Returns the f64 model after its step.
 */
async function expectParity(k: Case): Promise<CompiledModel> {
  let result: CompiledModel | undefined;
  for (const precision of PRECISIONS) {
    const tol = TOLERANCE[precision];
    const c = await compileText(k.text, precision, { inputShape: k.inputShape });
    const d = dataFor(c, k);
    const n = k.n ?? 3;
    const loss = k.loss ?? "squared";
    const { interp, model } = models(c, k, d);
    const expected = interp.forward(d.inputs, { training: false, random: seededRandom(0) }).output;
    expectClose(model.predict(d.inputs.map((t) => t.data), n), expected.data, tol, `${precision} inference output`);
    const expectedLoss = interpreterStep(c, interp, d, loss, 0.1);
    expect(Number.isFinite(expectedLoss)).toBe(true);
    const got = model.trainStep(d.inputs.map((t) => t.data), flatTargets(d.targets), n, 0.1);
    expectClose([got], [expectedLoss], tol, `${precision} loss`);
    const grads = backwardOnly(models(c, k, d).model, d.inputs.map((t) => t.data), flatTargets(d.targets), n);
    for (const [name, grad] of interpreterGrads(interp)) expectClose(compiledGrad(c, grads, name), grad, tol, `${precision} gradient of ${name}`);
    for (const [name, t] of interp.namedWeights()) expectClose(model.getWeight(name)!.data, t.data, tol, `${precision} ${name} after the step`);
    if (precision === "f64") result = model;
  }
  return result!;
}

/** A recurrent layer between two dense layers, so that its input needs a gradient too. */
function recurrentNet(layer: string, train = ""): string {
  return `network rec {
  input 5x3
  dense 4
  ${layer}
  dense 2
}
${train}`;
}

describe("compiled rnn, lstm and gru match the interpreter", () => {
  for (const cell of ["rnn", "lstm", "gru"]) {
    for (const sequences of [false, true]) {
      for (const bidirectional of [false, true]) {
        for (const layers of [1, 2]) {
          const options = [sequences ? "sequences" : "", bidirectional ? "bidirectional" : "", layers > 1 ? `layers ${layers}` : ""].filter(Boolean).join(" ");
          // H = 5: the generated loops walk four kernel rows at a time, plus a remainder row.
          it(`${cell} 5 ${options}`, async () => {
            await expectParity({ text: recurrentNet(`${cell} 5 ${options}`) });
          });
        }
      }
    }
  }

  it("a recurrent layer reading the network input directly (no input gradient)", async () => {
    await expectParity({ text: "network r {\n  input 4x2\n  gru 3 sequences bidirectional\n}\n" });
    await expectParity({ text: "network r {\n  input 4x2\n  lstm 3 layers 2\n}\n" });
  });

  it("a single time step, and H a multiple of four", async () => {
    await expectParity({ text: recurrentNet("lstm 4 bidirectional layers 2").replace("5x3", "1x3") });
    await expectParity({ text: recurrentNet("gru 8 sequences bidirectional", "train {\n  bptt 2\n}\n").replace("5x3", "1x3") });
    await expectParity({ text: recurrentNet("rnn 8 sequences layers 2") });
  });
});

describe("wide recurrent layers: the forward pass reads the kernels packed in column strips (G·H ≥ 256)", () => {
  // G·H = 256 (whole strips of 8), 258 (a last strip of 2: one partial vector), 260 (of 4)
  for (const layer of ["lstm 64 bidirectional layers 2", "gru 86 sequences", "rnn 260 sequences"]) {
    it(layer, async () => {
      await expectParity({ text: recurrentNet(layer).replace("5x3", "3x3") });
    }, 60_000);
  }
});

describe("compiled recurrent layers on a batch smaller than maxBatch (buffers are time-major [T, n, ·])", () => {
  const cases: [string, string, string, number, number][] = [
    ["lstm, 2 of 7 rows", "lstm 5 sequences bidirectional layers 2", "", 2, 7],
    ["gru, 5 of 8 rows, bptt 2", "gru 6 bidirectional", "train {\n  bptt 2\n}\n", 5, 8],
    ["rnn, 1 of 4 rows", "rnn 4 sequences layers 2", "", 1, 4],
    ["lstm, 6 of 9 rows, bptt 3, last step only", "lstm 5 bidirectional bptt 3", "", 6, 9],
  ];
  for (const [name, layer, train, n, maxBatch] of cases) {
    it(name, async () => {
      await expectParity({ text: recurrentNet(layer, train), n, maxBatch });
    });
  }
});

describe("compiled truncated BPTT matches the interpreter's definition", () => {
  const cases: [string, string, string][] = [
    ["rnn, train { bptt 2 }", "rnn 6 sequences", "train {\n  bptt 2\n}\n"],
    ["lstm, layer bptt 2, last step only", "lstm 5 bptt 2", ""],
    ["lstm, layer bptt 1", "lstm 5 sequences bptt 1", ""],
    ["gru bidirectional layers 2, layer bptt 3 over train bptt 2", "gru 5 sequences bidirectional layers 2 bptt 3", "train {\n  bptt 2\n}\n"],
    ["lstm bidirectional layers 2, train bptt 2", "lstm 5 sequences bidirectional layers 2", "train {\n  bptt 2\n}\n"],
  ];
  for (const [name, layer, train] of cases) {
    it(name, async () => {
      await expectParity({ text: recurrentNet(layer, train) });
    });
  }

  it("the window changes the weights (the compiled code does not ignore it), and K = T is full BPTT", async () => {
    const kernel = "lstm1.recurrent_kernel";
    const after = async (layer: string): Promise<Float64Array> => (await expectParity({ text: recurrentNet(layer) })).getWeight(kernel)!.data;
    const full = await after("lstm 5 sequences");
    const cut = await after("lstm 5 sequences bptt 1");
    const whole = await after("lstm 5 sequences bptt 5");
    expect(cut.length).toBe(full.length);
    const differs = full.some((v, i) => Math.abs(v - cut[i]!) > 1e-6);
    expect(differs).toBe(true);
    expectClose(whole, full, 1e-12, "bptt 5 over T = 5 against full BPTT");
  });
});

describe("compiled attention matches the interpreter", () => {
  const net = (query: string, score: string, memoryWidth: number, memory = "md"): string => `network att {
  q: input ${query}
  mem: input 5x2
  from q
  qd: dense 3
  from mem
  md: dense ${memoryWidth}
  attention qd ${memory} ${score}
  dense 2
}
`;
  for (const score of ["dot", "bilinear", "mlp"]) {
    for (const [label, query] of [["query [Tq,H]", "4x3"], ["query [H]", "3"]] as const) {
      it(`${score}, ${label}`, async () => {
        await expectParity({ text: net(query, score, score === "dot" ? 3 : 4) });
      });
    }
  }
  it("self-attention: one value as both query and memory", async () => {
    await expectParity({ text: "network s {\n  input 4x3\n  dense 3\n  enc: gru 3 sequences\n  attention enc bilinear\n  dense 2\n}\n" });
    await expectParity({ text: "network s {\n  input 4x3\n  enc: dense 3\n  attention enc enc\n}\n" });
  });
  it("mlp with units, over a memory that is a network input (no memory gradient)", async () => {
    await expectParity({ text: net("4x3", "mlp units 5", 2, "mem") });
    await expectParity({ text: net("3", "bilinear", 2, "mem") });
  });
});

describe("the example networks, compiled, match the interpreter", () => {
  const example = (name: string): string => readFileSync(new URL(`../examples/${name}`, import.meta.url), "utf8");
  /** The file's train block trains with adam; the parity step is plain sgd. */
  const sgd = (text: string): string => {
    const out = text.replace(/optimizer adam lr [0-9.]+/, "optimizer sgd lr 0.1");
    expect(out).not.toBe(text);
    return out;
  };
  it("char_lstm.dl (--input 6)", async () => {
    await expectParity({ text: sgd(example("char_lstm.dl")), inputShape: [6], n: 2, loss: "cross_entropy", ids: [96], classes: true, scale: 0.1 });
  }, 60_000);
  it("gru_tagger.dl (--input 6)", async () => {
    await expectParity({ text: sgd(example("gru_tagger.dl")), inputShape: [6], n: 2, loss: "cross_entropy", ids: [10000], classes: true, scale: 0.1 });
  }, 60_000);
  it("seq2seq_attention.dl (--input 5 for the source)", async () => {
    await expectParity({ text: sgd(example("seq2seq_attention.dl")), inputShape: [5], n: 2, loss: "cross_entropy", ids: [8000, 6000], classes: true, scale: 0.1 });
  }, 60_000);
});

describe("generated recurrent and attention code type-checks", () => {
  it("under tsc --strict --noEmit", async () => {
    const ts = (await import("typescript")).default;
    const texts = [
      recurrentNet("lstm 3 sequences bidirectional layers 2"),
      recurrentNet("gru 3 bidirectional layers 2 bptt 2"),
      recurrentNet("rnn 6 sequences", "train {\n  bptt 2\n}\n"),
      "network a {\n  q: input 4x3\n  m: input 5x2\n  from q\n  attention m mlp units 4\n}\n",
      "network a {\n  q: input 3\n  m: input 5x2\n  from m\n  md: dense 3\n  from q\n  attention md bilinear\n}\n",
      "network a {\n  q: input 4x3\n  m: input 5x3\n  from m\n  md: dense 3\n  from q\n  dense 3\n  attention md\n}\n",
    ];
    const dir = mkdtempSync(join(tmpdir(), "dlc-typecheck-"));
    const files = texts.flatMap((text, i) =>
      PRECISIONS.map((precision) => {
        const a = analyze(text);
        expect(a.hasErrors).toBe(false);
        const { selected: checked, train } = a;
        const file = join(dir, `m${i}_${precision}.ts`);
        writeFileSync(file, generateModule(checked!, { file: "t.dl", precision, train, version: "test" }));
        return file;
      }),
    );
    const program = ts.createProgram(files, { strict: true, noEmit: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, lib: ["lib.es2022.d.ts"], types: [] });
    const problems = ts.getPreEmitDiagnostics(program).map((d) => `${d.file?.fileName ?? ""}: ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`);
    expect(problems).toEqual([]);
  }, 60_000);
});

describe("the lstm cell's elementwise step on WebAssembly SIMD", () => {
  const net = "network n {\n  input 4x3\n  lstm 6 bidirectional\n  dense 2 softmax\n}\n";
  it("f32 with wasm kernels calls the cell kernels; js kernels and f64 keep the row loops", async () => {
    const wasm = (await compileText(net, "f32")).code;
    expect(wasm).toContain("kern.lstmForward_h6(");
    expect(wasm).toContain("kern.lstmBackward_h6(");
    for (const code of [(await compileText(net, "f32", { kernels: "js" })).code, (await compileText(net, "f64")).code]) {
      expect(code).not.toContain("lstmForward_h");
      expect(code).toContain("the cell, row by row");
    }
  });
});
