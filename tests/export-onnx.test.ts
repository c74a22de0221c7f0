// dlc export --to onnx: ONNX Runtime (WASM, in-process) runs the exported model and must give the
// interpreter's outputs within 1e-4 relative (float32 against float64), for every exportable kind
// and option and the examples that export; kinds without an export are refused at their statement.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import onnxProto from "onnx-proto";
import * as ort from "onnxruntime-web";
import { describe, expect, it } from "vitest";
import type { CheckedNetwork } from "../src/check/infer.js";
import { exportOnnx } from "../src/export/onnx/graph.js";
import { analyze, type AnalyzeOptions } from "../src/index.js";
import { Model } from "../src/interp/model.js";
import { registry } from "../src/layers/registry.js";
import { seededRandom } from "../src/interp/random.js";
import { randomModel } from "./helpers/random-model.js";
import type { Tensor } from "../src/interp/tensor.js";
import { dataSpecOf } from "../src/io/data-spec.js";
import { product } from "../src/ir/shape.js";

ort.env.wasm.numThreads = 1;
const TOLERANCE = 1e-4;
const BATCH = 3;

function checkedOf(text: string, options: AnalyzeOptions = {}): CheckedNetwork {
  const analysis = analyze(text, options);
  const errors = analysis.diagnostics.filter((d) => d.severity === "error").map((d) => d.message);
  expect(errors).toEqual([]);
  return analysis.selected!;
}

/** Float32-representable inputs (token ids for embedding inputs), as dlc and ONNX Runtime both take them. */
function randomInputs(checked: CheckedNetwork, seed: number, wholeBelow?: number): { tensors: Tensor[]; feeds: Record<string, ort.Tensor> } {
  const random = seededRandom(seed);
  const tensors: Tensor[] = [];
  const feeds: Record<string, ort.Tensor> = {};
  for (const input of dataSpecOf(checked).inputs) {
    const shape = [BATCH, ...input.shape];
    const size = product(shape);
    const data = new Float64Array(size);
    const below = input.vocabulary ?? wholeBelow;
    for (let i = 0; i < size; i++) data[i] = below === undefined ? Math.fround(random() * 2 - 1) : Math.floor(random() * below);
    tensors.push({ shape, data });
    feeds[input.name] = input.vocabulary === undefined ? new ort.Tensor("float32", Float32Array.from(data), shape) : new ort.Tensor("int64", BigInt64Array.from(data, (v) => BigInt(v)), shape);
  }
  return { tensors, feeds };
}

/** The largest relative error seen so far (printed with ONNX_REPORT=1). */
let worst = 0;

/** max |onnx − dlc| / max |dlc|, after checking the shapes agree. */
async function relativeError(text: string, options: AnalyzeOptions & { opset?: number; wholeInputsBelow?: number } = {}): Promise<number> {
  const checked = checkedOf(text, options);
  const model = randomModel(checked, 7);
  const result = exportOnnx(checked, model, { opset: options.opset ?? 17, producerVersion: "test" });
  expect(result.diagnostics.map((d) => d.message)).toEqual([]);
  const { tensors, feeds } = randomInputs(checked, 11, options.wholeInputsBelow);
  const expected = model.forward(tensors, { training: false, random: seededRandom(1) }).output;
  const session = await ort.InferenceSession.create(result.bytes!);
  const out = (await session.run(feeds))[session.outputNames[0]!]!;
  expect(out.dims).toEqual(expected.shape);
  const got = out.data as Float32Array;
  let scale = 0;
  let diff = 0;
  for (let i = 0; i < expected.data.length; i++) {
    scale = Math.max(scale, Math.abs(expected.data[i]!));
    diff = Math.max(diff, Math.abs(got[i]! - expected.data[i]!));
  }
  expect(scale).toBeGreaterThan(0);
  worst = Math.max(worst, diff / scale);
  if (process.env.ONNX_REPORT) console.log(`worst relative error so far: ${worst.toExponential(2)}`);
  return diff / scale;
}

const net = (body: string): string => `network t {\n${body}\n}\n`;

const KIND_CASES: Record<string, string> = {
  "dense on [F], relu and softmax": net("input 5\ndense 4 relu\ndense 3 softmax"),
  "dense on [T, H, F] (last axis), tanh": net("input 3x4x5\ndense 6 tanh"),
  "dense bias false, sigmoid": net("input 6\ndense 4 sigmoid bias false"),
  "leakyrelu alone and fused, linear": net("input 6\ndense 5\nleakyrelu 0.2\ndense 4 leakyrelu\ndense 3 linear"),
  "softmax on the last axis of [T, F]": net("input 4x7\nsoftmax"),
  "standalone relu, sigmoid, tanh": net("input 8\nrelu\ndense 8\nsigmoid\ndense 8\ntanh"),
  "conv valid, stride with pad same (odd), pad P, bias false": net("input 9x8x3\nconv 4 3x3 relu\nconv 5 3x3 stride 2 pad same\nconv 2 2x2 stride 2 pad 1 bias false"),
  "conv 1x1 and 5x5 pad same": net("input 7x7x2\nconv 3 1x1\nconv 2 5x5 pad same sigmoid"),
  "maxpool, avgpool, minpool, plain": net("input 8x8x2\nmaxpool 2\nconv 2 1x1\navgpool 2\nconv 2 1x1\nminpool 2"),
  "pools with pad (ignored cells), stride and same": net("input 9x9x2\navgpool 3 stride 2 pad 1\nconv 2 1x1\nmaxpool 3 stride 2 pad same\nconv 2 1x1\nminpool 2 pad 1"),
  "pools in ceil mode (partial windows average over real cells)": net("input 9x10x2\navgpool 2 ceil\nconv 2 1x1\nmaxpool 3 stride 2 ceil\nconv 2 1x1\nminpool 2 ceil"),
  "avgpool ceil with pad": net("input 8x8x3\navgpool 3 stride 2 pad 1 ceil"),
  "globalavgpool, flatten": net("input 6x5x4\nconv 3 3x3\nglobalavgpool\ndense 2"),
  "flatten keeps channels-last order": net("input 3x4x2\nflatten\ndense 3"),
  "upsample": net("input 3x4x2\nupsample 3\nconv 2 3x3"),
  "dropout is identity": net("input 6\ndropout 0.5\ndense 3"),
  "batchnorm on [F] and on [H, W, C] (running statistics)": net("input 5x5x3\nbatchnorm\nflatten\ndense 4\nbatchnorm"),
  "layernorm on [F] and [T, F]": net("input 4x6\nlayernorm\nflatten\ndense 5\nlayernorm"),
  "add and concat of named values, from": net("a: input 6\nb: input 6\nfrom a\nh: dense 6 relu\nadd b\nconcat h\ndense 3"),
  "residual, parallel, repeat, blocks": "block unit(c) {\n  conv c 3x3 pad 1 relu\n}\nnetwork t {\n  input 6x6x2\n  repeat 2 {\n    residual {\n      unit 2\n    }\n  }\n  parallel {\n    branch { unit 3 }\n    branch { maxpool 3 stride 1 pad 1 }\n  }\n  globalavgpool\n  dense 2 softmax\n}\n",
  "rnn, last step": net("input 5x3\nrnn 4"),
  "lstm, sequences (gate order i, f, c, o → i, o, f, c)": net("input 6x3\nlstm 4 sequences\ndense 2"),
  "gru, last step (reset after: linear_before_reset)": net("input 5x3\ngru 4"),
  "bidirectional lstm, last step (backward state at t = 1)": net("input 5x3\nlstm 3 bidirectional"),
  "stacked bidirectional gru with sequences": net("input 4x3\ngru 3 sequences bidirectional layers 2"),
  "stacked rnn and lstm, last step": net("input 4x2\nrnn 3 sequences layers 2\nlstm 2 layers 3"),
  "attention, dot scores, query [Tq, H]": net("q: input 4x3\nm: input 5x3\nfrom q\nattention m dot"),
  "attention, bilinear scores, query [H]": net("q: input 3\nm: input 5x2\nfrom m\nmd: dense 3\nfrom q\nattention md bilinear"),
  "attention, mlp scores with units": net("q: input 4x3\nm: input 5x2\nfrom q\nattention m mlp units 4"),
  "embedding (int64 token ids)": net("input 5\nembedding 10 4\nflatten\ndense 2"),
};

describe("ONNX export matches the interpreter (ONNX Runtime WASM, float32)", () => {
  for (const [name, text] of Object.entries(KIND_CASES)) {
    it(name, async () => {
      expect(await relativeError(text)).toBeLessThan(TOLERANCE);
    });
  }

  it("embedding fed by an input that also feeds dense (float ids, cast)", async () => {
    expect(await relativeError(net("x: input 4\nembedding 7 3\nflatten\nconcat x\ndense 2"), { wholeInputsBelow: 7 })).toBeLessThan(TOLERANCE);
  });

  it("--opset 21 gives the same model semantics", async () => {
    expect(await relativeError(KIND_CASES["layernorm on [F] and [T, F]"]!, { opset: 21 })).toBeLessThan(TOLERANCE);
  });
});

/** Examples that export, at a smaller input where their full size would take the float64 interpreter long. */
const EXAMPLES: Record<string, AnalyzeOptions> = {
  "seed.dl": {},
  "lenet5.dl": {},
  "unet.dl": { inputShape: [16, 16, 1] },
  "vgg16.dl": { inputShape: [32, 32, 3] },
  "alexnet.dl": { inputShape: [67, 67, 3] },
  "resnet18.dl": { inputShape: [32, 32, 3] },
  "resnet50.dl": { inputShape: [32, 32, 3] },
  "googlenet.dl": { inputShape: [64, 64, 3] },
  "char_lstm.dl": {},
  "gru_tagger.dl": {},
  "seq2seq_attention.dl": {},
};
describe("examples export and match the interpreter", () => {
  const examplesDir = new URL("../examples/", import.meta.url);
  for (const [file, options] of Object.entries(EXAMPLES)) {
    it(file, async () => {
      const text = readFileSync(new URL(file, examplesDir), "utf8");
      expect(await relativeError(text, options)).toBeLessThan(TOLERANCE);
    }, 60_000);
  }
});

describe("names", () => {
  it("an input called 'output' keeps its name and the graph output moves aside; names are plain strings", async () => {
    const text = net("output: input 4\ninput_1: dense 3 relu\ndense 2");
    expect(await relativeError(text)).toBeLessThan(TOLERANCE);
    const checked = checkedOf(text);
    const bytes = exportOnnx(checked, new Model(checked, seededRandom(1)), { opset: 17, producerVersion: "test" }).bytes!;
    const graph = onnxProto.onnx.ModelProto.decode(bytes).graph!;
    expect(graph.input!.map((i) => i.name)).toEqual(["output"]);
    expect(graph.output!.map((o) => o.name)).toEqual(["output_"]);
    expect(graph.initializer!.map((t) => t.name).sort()).toEqual(["dense1.bias", "dense1.kernel", "input_1.bias", "input_1.kernel"]);
  });
});

describe("refusals", () => {
  it("every layer kind has an ONNX export (input is the graph's input)", () => {
    const missing = [...registry.values()].filter((d) => d.kind !== "input" && !d.onnx).map((d) => d.kind);
    expect(missing).toEqual([]);
  });

  it("a kind without an export is refused at its statement, once, and nothing is encoded", () => {
    const checked = checkedOf(net("input 5x3\nlstm 4 sequences\ndense 2\nlstm 2"));
    // Take lstm's export away, as for a kind added to the registry before its export.
    const nodes = checked.network.nodes.map((n) => (n.kind === "lstm" ? { ...n, def: { ...n.def, onnx: undefined } } : n));
    const without = { ...checked, network: { ...checked.network, nodes } };
    const result = exportOnnx(without, new Model(checked, seededRandom(1)), { opset: 17, producerVersion: "test" });
    expect(result.bytes).toBeUndefined();
    expect(result.diagnostics.map((d) => [d.code, d.span.line, d.span.column, d.message])).toEqual([
      ["onnx-export", 3, 1, "dlc export cannot export lstm to ONNX yet"],
      ["onnx-export", 5, 1, "dlc export cannot export lstm to ONNX yet"],
    ]);
  });

  it("a pool padded as wide as its window (dlc: 0 for an empty window) is refused, not approximated", () => {
    const checked = checkedOf(net("input 4x4x1\nmaxpool 2 pad 2"));
    const result = exportOnnx(checked, new Model(checked, seededRandom(1)), { opset: 17, producerVersion: "test" });
    expect(result.bytes).toBeUndefined();
    expect(result.diagnostics.map((d) => [d.code, d.span.line, d.message])).toEqual([
      ["onnx-export", 3, expect.stringMatching(/^dlc export cannot export this maxpool to ONNX exactly: .*padding/)],
    ]);
  });
});

describe("dlc export (CLI)", () => {
  const dlc = new URL("../bin/dlc", import.meta.url).pathname;
  const run = (args: string[]) => spawnSync(process.execPath, [dlc, ...args], { encoding: "utf8" });
  const dir = mkdtempSync(join(tmpdir(), "dlc-onnx-"));
  const file = (name: string, text: string): string => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  it("writes a model ONNX Runtime loads, with dlc's input names and [N, …] shapes", async () => {
    const src = file("ok.dl", net("input 4x4x1\nconv 2 3x3\nflatten\ndense 3 softmax"));
    const out = join(dir, "ok.onnx");
    const r = run(["export", src, "--to", "onnx", "-o", out, "--seed", "3"]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const session = await ort.InferenceSession.create(readFileSync(out));
    expect(session.inputNames).toEqual(["input"]);
    const y = (await session.run({ input: new ort.Tensor("float32", new Float32Array(2 * 16), [2, 4, 4, 1]) }))[session.outputNames[0]!]!;
    expect(y.dims).toEqual([2, 3]);
  });

  it("--weights: the same data file gives dlc run's outputs in ONNX Runtime", async () => {
    const src = file("run.dl", net("input 2x2x1\nconv 2 2x2\nflatten\ndense 3 softmax"));
    // Hand-written weights in dlc's layouts: conv kernel [KH, KW, C, F], dense kernel [F, N].
    const weights = file("run.json", JSON.stringify({
      "conv1.kernel": [[[[0.5, -1]], [[0.25, 2]]], [[[-0.75, 0.1]], [[1.5, -0.3]]]],
      "conv1.bias": [0.2, -0.1],
      "dense1.kernel": [[1, -2, 0.5], [0.3, 0.7, -1.1]],
      "dense1.bias": [0.05, -0.2, 0.1],
    }));
    const x = [[[[1], [-2]], [[0.5], [3]]], [[[-1], [0.25]], [[2], [-0.5]]]];
    const data = file("run-data.json", JSON.stringify({ x }));
    const out = join(dir, "run.onnx");
    expect(run(["export", src, "--to", "onnx", "-o", out, "--weights", weights]).status).toBe(0);
    const dlcRun = run(["run", src, "--weights", weights, "--data", data, "--json"]);
    expect(dlcRun.status).toBe(0);
    const expected = (JSON.parse(dlcRun.stdout) as { outputs: number[][] }).outputs.flat();
    const session = await ort.InferenceSession.create(readFileSync(out));
    const y = (await session.run({ input: new ort.Tensor("float32", Float32Array.from(x.flat(3)), [2, 2, 2, 1]) }))[session.outputNames[0]!]!;
    expect(y.dims).toEqual([2, 3]);
    const got = Array.from(y.data as Float32Array);
    got.forEach((v, i) => expect(Math.abs(v - expected[i]!)).toBeLessThan(TOLERANCE * Math.max(...expected.map(Math.abs))));
  });

  it("a layer with no exact export: file:line:col diagnostic, exit 1, nothing written", () => {
    const src = file("pool.dl", net("input 4x4x1\nconv 2 3x3 pad 1\nmaxpool 2 pad 2"));
    const out = join(dir, "pool.onnx");
    const r = run(["export", src, "--to", "onnx", "-o", out]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`${src}:4:1: error: dlc export cannot export this maxpool to ONNX exactly`);
    expect(existsSync(out)).toBe(false);
  });

  it("--to unknown, -o in a missing folder, weights that do not fit: a message, exit 2, the old file kept", () => {
    const src = file("w.dl", net("input 3\ndense 2"));
    const out = file("keep.onnx", "old");
    const unknown = run(["export", src, "--to", "tflite", "-o", out]);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/tflite/);
    const missing = run(["export", src, "--to", "onnx", "-o", join(dir, "no-such-folder", "m.onnx")]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain("does not exist");
    const weights = file("w.json", JSON.stringify({ "dense1.kernel": [[1, 2, 3]], "dense1.bias": [0, 0] }));
    const misfit = run(["export", src, "--to", "onnx", "-o", out, "--weights", weights]);
    expect(misfit.status).toBe(2);
    expect(misfit.stderr).toMatch(/dense1\.kernel/);
    expect(misfit.stderr).not.toMatch(/internal error|\n\s+at /);
    const huge = run(["export", file("huge.dl", net("input 40000\ndense 20000")), "--to", "onnx", "-o", out]);
    expect(huge.status).toBe(2);
    expect(huge.stderr).toContain("one ONNX file holds at most 2 GiB");
    expect(readFileSync(out, "utf8")).toBe("old");
  });
});
