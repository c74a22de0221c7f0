// dlc export --to pytorch: the generated model.py, imported by PyTorch (float64), must give the
// interpreter's outputs within 1e-9 relative for every layer kind and option and every example,
// hand dlc's weights back unchanged (dlc_state), and take the interpreter's SGD step (autograd
// against dlc's backward, batchnorm's batch statistics and running-statistics update and
// truncated BPTT included). All Python work runs in one process (tests/helpers/pytorch_check.py).
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { CheckedNetwork } from "../src/check/infer.js";
import { pytorchModel } from "../src/export/pytorch/model.js";
import { pythonIdentifiers, pyString } from "../src/export/pytorch/python-text.js";
import { analyze, type AnalyzeOptions } from "../src/index.js";
import { computeLoss } from "../src/interp/losses.js";
import { Model } from "../src/interp/model.js";
import { seededRandom } from "../src/interp/random.js";
import { randomModel } from "./helpers/random-model.js";
import type { Tensor } from "../src/interp/tensor.js";
import { dataSpecOf } from "../src/io/data-spec.js";
import type { TrainConfig } from "../src/ir/types.js";
import { product } from "../src/ir/shape.js";
import { registry } from "../src/layers/registry.js";
import type { ParamSpec } from "../src/layers/types.js";
import { torchPythonOrSkip } from "./helpers/python-torch.js";

const TOLERANCE = 1e-9;
/** Samples per case (examples: 1, the float64 interpreter is slow on them). */
const BATCH = 3;
const EXAMPLE_BATCH = 1;
const python = torchPythonOrSkip();
const suite = python ? describe : describe.skip;
const work = mkdtempSync(join(tmpdir(), "dlc-pytorch-"));

interface Analysed {
  readonly checked: CheckedNetwork;
  readonly train?: TrainConfig;
}

function analysed(text: string, options: AnalyzeOptions = {}): Analysed {
  const analysis = analyze(text, options);
  const errors = analysis.diagnostics.filter((d) => d.severity === "error").map((d) => d.message);
  expect(errors).toEqual([]);
  return { checked: analysis.selected!, train: analysis.train };
}

function randomInputs(checked: CheckedNetwork, seed: number, wholeBelow?: number, batch = BATCH): { tensors: Tensor[]; json: unknown[] } {
  const random = seededRandom(seed);
  const tensors: Tensor[] = [];
  const json: unknown[] = [];
  for (const input of dataSpecOf(checked).inputs) {
    const shape = [batch, ...input.shape];
    const data = new Float64Array(product(shape));
    const below = input.vocabulary ?? wholeBelow;
    for (let i = 0; i < data.length; i++) data[i] = below === undefined ? random() * 2 - 1 : Math.floor(random() * below);
    tensors.push({ shape, data });
    json.push({ shape, data: Array.from(data), int: input.vocabulary !== undefined });
  }
  return { tensors, json };
}

const tensorJson = (t: Tensor): unknown => ({ shape: t.shape, data: Array.from(t.data) });
const weightsJson = (model: Model): Record<string, unknown> => Object.fromEntries([...model.namedWeights()].map(([k, t]) => [k, tensorJson(t)]));

/** Writes model.py for a case into its own folder; returns its path. */
function writeModel(name: string, a: Analysed): string {
  const result = pytorchModel(a.checked, { file: `${name}.dl`, version: "test", train: a.train });
  expect(result.diagnostics.map((d) => d.message)).toEqual([]);
  const dir = join(work, `case${readdirSync(work).length}`);
  mkdirSync(dir);
  writeFileSync(join(dir, "model.py"), result.text!);
  return join(dir, "model.py");
}

interface CaseResult {
  readonly exception?: string;
  readonly roundtrip?: boolean;
  readonly shape?: number[];
  readonly dtype?: string;
  readonly error?: number;
  readonly dtype32?: string;
  readonly error32?: number;
  readonly worst?: string;
  readonly moved?: number;
  readonly names?: boolean;
  readonly message?: string | null;
}

const manifest: unknown[] = [];
const expectedShapes = new Map<string, number[]>();

/**
 * Weight k's element i from integers only, so that TypeScript and Python make the same float64
 * values without passing them (the examples' weights run to hundreds of megabytes): kernels
 * within ±√(3/fan-in), gamma and variances in [0.5, 1.5], the rest within ±0.2.
 * tests/helpers/pytorch_check.py computes the same.
 */
function formulaWeights(model: Model): void {
  [...model.namedWeights()].forEach(([name, t], k) => {
    const last = name.slice(name.lastIndexOf(".") + 1);
    const fanIn = t.shape.length === 1 ? t.shape[0]! : product(t.shape.slice(0, -1));
    for (let i = 0; i < t.data.length; i++) {
      const v = ((i * 7919 + k * 104729) % 2001) / 1000 - 1;
      t.data[i] = last === "gamma" || last === "moving_variance" ? 1 + v / 2 : /kernel|embeddings|score_vector/.test(last) ? v * Math.sqrt(3 / fanIn) : v * 0.2;
    }
  });
}

/** The same network with every weight initialised to zeros (cheap: no orthogonalisation), for formulaWeights to fill. */
function zeroInitialised(checked: CheckedNetwork): CheckedNetwork {
  const zero = (specs: readonly ParamSpec[]): ParamSpec[] => specs.map((s) => ({ ...s, init: "zeros" }));
  return { ...checked, facts: checked.facts.map((f) => ({ ...f, params: zero(f.params), state: zero(f.state) })) };
}

function forwardCase(name: string, text: string, options: AnalyzeOptions & { wholeInputsBelow?: number; batch?: number; formula?: boolean } = {}): void {
  const a = analysed(text, options);
  const model = options.formula ? new Model(zeroInitialised(a.checked), seededRandom(7)) : randomModel(a.checked, 7);
  if (options.formula) formulaWeights(model);
  const { tensors, json } = randomInputs(a.checked, 11, options.wholeInputsBelow, options.batch);
  const expected = model.forward(tensors, { training: false, random: seededRandom(1) }).output;
  expectedShapes.set(name, expected.shape as number[]);
  manifest.push({ name, model: writeModel(name, a), weights: options.formula ? "formula" : weightsJson(model), inputs: json, expected: tensorJson(expected) });
}

const LR = 0.1;

/** One SGD step of the interpreter on the squared loss (its bptt from the train block). */
function stepCase(name: string, text: string): void {
  const a = analysed(text);
  const model = randomModel(a.checked, 5);
  const before = weightsJson(model);
  const { tensors, json } = randomInputs(a.checked, 13);
  const ctx = { training: true, random: seededRandom(1), bptt: a.train?.bptt };
  const pass = model.forward(tensors, ctx);
  const random = seededRandom(17);
  const targets: Tensor = { shape: pass.output.shape, data: pass.output.data.map(() => random() * 2 - 1) };
  model.zeroGrads();
  const { grad } = computeLoss("squared", pass.output, undefined, { kind: "values", tensor: targets }, false);
  model.backward(pass, grad, ctx, false);
  for (const s of model.trainableSlots()) for (let i = 0; i < s.param.data.length; i++) s.param.data[i]! -= LR * s.grad.data[i]!;
  manifest.push({ name, model: writeModel(name, a), weights: before, inputs: json, step: { targets: tensorJson(targets), lr: LR, expected: weightsJson(model) } });
}

/** dlc's initial weights for a seed, as `dlc train` starts from them. */
function initialCase(name: string, text: string, seed: number): void {
  const a = analysed(text);
  manifest.push({ name, model: writeModel(name, a), seed, initial: weightsJson(new Model(a.checked, seededRandom(seed))) });
}

const net = (body: string): string => `network t {\n${body}\n}\n`;

const KIND_CASES: Record<string, string> = {
  "dense on [F], relu and softmax": net("input 5\ndense 4 relu\ndense 3 softmax"),
  "dense on [T, H, F] (last axis), tanh": net("input 3x4x5\ndense 6 tanh"),
  "dense bias false, sigmoid": net("input 6\ndense 4 sigmoid bias false"),
  "leakyrelu alone and fused, linear": net("input 6\ndense 5\nleakyrelu 0.2\ndense 4 leakyrelu\ndense 3 linear"),
  "softmax on the last axis of [T, F]": net("input 4x7\nsoftmax"),
  "standalone relu, sigmoid, tanh, linear": net("input 8\nrelu\ndense 8\nsigmoid\ndense 8\ntanh\nlinear"),
  "conv valid, stride with pad same (odd), pad P, bias false": net("input 9x8x3\nconv 4 3x3 relu\nconv 5 3x3 stride 2 pad same\nconv 2 2x2 stride 2 pad 1 bias false"),
  "conv 1x1, 5x5 pad same, 2x3 kernel, stride dropping rows": net("input 7x7x2\nconv 3 1x1\nconv 2 5x5 pad same sigmoid\nconv 3 2x3 stride 2"),
  "maxpool, avgpool, minpool, plain": net("input 8x8x2\nmaxpool 2\nconv 2 1x1\navgpool 2\nconv 2 1x1\nminpool 2"),
  "pools with pad (ignored cells), stride and same": net("input 9x9x2\navgpool 3 stride 2 pad 1\nconv 2 1x1\nmaxpool 3 stride 2 pad same\nconv 2 1x1\nminpool 2 pad 1"),
  "pools in ceil mode (partial windows over real cells)": net("input 9x10x2\navgpool 2 ceil\nconv 2 1x1\nmaxpool 3 stride 2 ceil\nconv 2 1x1\nminpool 2 ceil"),
  "avgpool ceil with pad, 2x3 windows": net("input 8x8x3\navgpool 3 stride 2 pad 1 ceil\nmaxpool 2x3 stride 1"),
  "pools padded as wide as the window (empty windows give 0)": net("input 4x4x2\nmaxpool 2 pad 2\nconv 2 1x1\navgpool 2 pad 2 ceil\nconv 2 1x1\nminpool 2 pad 2"),
  "globalavgpool, flatten": net("input 6x5x4\nconv 3 3x3\nglobalavgpool\ndense 2"),
  "flatten keeps channels-last order": net("input 3x4x2\nflatten\ndense 3"),
  "upsample": net("input 3x4x2\nupsample 3\nconv 2 3x3"),
  "dropout is identity in inference": net("input 6\ndropout 0.5\ndense 3"),
  "batchnorm on [F], [T, F] and [H, W, C] (running statistics)": net("x: input 5x5x3\nbatchnorm\nflatten\ndense 4\nb2: batchnorm\nfrom x\nconv 2 1x1\nflatten\nconcat b2"),
  "batchnorm on [T, F]": net("input 4x3\nbatchnorm\ndense 2"),
  "layernorm on [F] and [T, F]": net("input 4x6\nlayernorm\nflatten\ndense 5\nlayernorm"),
  "add and concat of named values, from": net("a: input 6\nb: input 6\nfrom a\nh: dense 6 relu\nadd b\nadd h a b\nconcat h\ndense 3"),
  "residual, parallel, repeat, blocks": "block unit(c) {\n  conv c 3x3 pad 1 relu\n}\nnetwork t {\n  input 6x6x2\n  repeat 2 {\n    residual {\n      unit 2\n    }\n  }\n  parallel {\n    branch { unit 3 }\n    branch { maxpool 3 stride 1 pad 1 }\n  }\n  globalavgpool\n  dense 2 softmax\n}\n",
  "rnn, last step": net("input 5x3\nrnn 4"),
  "lstm, sequences": net("input 6x3\nlstm 4 sequences\ndense 2"),
  "gru, last step (reset after, gate order z, r, h)": net("input 5x3\ngru 4"),
  "bidirectional lstm, last step (backward state at t = 1)": net("input 5x3\nlstm 3 bidirectional"),
  "bidirectional rnn with sequences": net("input 4x3\nrnn 2 sequences bidirectional"),
  "stacked bidirectional gru with sequences": net("input 4x3\ngru 3 sequences bidirectional layers 2"),
  "stacked rnn and lstm, last step; stacked bidirectional gru, last step": net("input 4x2\nrnn 3 sequences layers 2\nlstm 2 sequences layers 3\ngru 2 bidirectional layers 2"),
  "attention, dot scores, query [Tq, H]": net("q: input 4x3\nm: input 5x3\nfrom q\nattention m dot"),
  "attention, dot scores, query [H]": net("q: input 3\nm: input 5x3\nfrom q\nattention m"),
  "attention, bilinear scores, query [H]": net("q: input 3\nm: input 5x2\nfrom m\nmd: dense 3\nfrom q\nattention md bilinear"),
  "attention, bilinear scores, query [Tq, H]": net("q: input 2x3\nm: input 5x2\nfrom q\nattention m bilinear"),
  "attention, mlp scores with units, and without": net("q: input 4x3\nm: input 5x2\nfrom q\na1: attention m mlp units 4\nfrom q\na2: dense 2\nattention m mlp\nconcat a1"),
  "embedding (int64 token ids)": net("input 5\nembedding 10 4\nflatten\ndense 2"),
  "frozen layers": net("input 5\ndense 4 relu frozen\nbatchnorm frozen\ndense 3"),
};

/**
 * The examples at small inputs (vgg16 and alexnet at the smallest they accept: their dense layers
 * still hold 22–23 million weights, which the formula makes on both sides rather than passing).
 */
const EXAMPLES: Record<string, AnalyzeOptions> = {
  "seed.dl": {},
  "lenet5.dl": {},
  "unet.dl": { inputShape: [16, 16, 1] },
  "resnet18.dl": { inputShape: [32, 32, 3] },
  "resnet50.dl": { inputShape: [32, 32, 3] },
  "googlenet.dl": { inputShape: [64, 64, 3] },
  "char_lstm.dl": { inputShape: [16] },
  "gru_tagger.dl": { inputShape: [12] },
  "seq2seq_attention.dl": { inputShape: [8] },
  "vgg16.dl": { inputShape: [32, 32, 3] },
  "alexnet.dl": { inputShape: [63, 63, 3] },
};

const STEP_CASES: Record<string, string> = {
  "conv + batchnorm (batch statistics, running update), pools, frozen dense": net("input 6x6x2\nconv 3 3x3 pad 1 relu\nbatchnorm\nmaxpool 2\nconv 2 2x2 pad same\navgpool 2 ceil\nflatten\nbatchnorm\ndense 3 relu frozen\ndense 2 sigmoid"),
  "lstm bidirectional stacked, sequences": net("input 5x3\nlstm 3 bidirectional sequences layers 2\ndense 2"),
  "gru and rnn, last step": net("input 5x3\ngru 3 sequences\nrnn 2"),
  "truncated BPTT: the train block's window and a layer's own": "network t {\n  input 6x2\n  lstm 3 sequences bidirectional\n  gru 3 sequences layers 2 bptt 3\n  rnn 2\n}\ntrain {\n  loss squared\n  bptt 2\n}\n",
  "attention (mlp, bilinear, dot), layernorm, softmax": net("q: input 3x3\nm: input 4x2\nfrom q\na1: attention m mlp units 3\nfrom q\na2: attention m bilinear\nadd a1\nln: layernorm\nfrom m\nmd: dense 2\nfrom ln\nattention md\ndense 3 softmax"),
  "embedding, dropout 0, leakyrelu": net("input 4\nembedding 6 3\ndropout 0\nlstm 2\ndense 2 leakyrelu 0.1"),
  "upsample, globalavgpool, minpool, residual": "network t {\n  input 4x4x2\n  upsample 2\n  residual {\n    conv 2 3x3 pad same tanh\n  }\n  minpool 3 stride 2 pad 1\n  globalavgpool\n  dense 2\n}\n",
};

/** Every initialiser: he (relu), glorot, orthogonal (recurrent kernels), uniform (embedding), zeros, ones (batchnorm). */
const INITIAL_CASE = net("input 6\nembedding 9 4\nlstm 3 sequences\ngru 20\ndense 5 relu\nbatchnorm\ndense 2 softmax");

let results: Record<string, CaseResult> = {};

const BIN = new URL("../bin/dlc", import.meta.url).pathname;
const dlc = (args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });

/** A flat tensor as nested arrays (dlc's JSON weights and data). */
function nested(data: ArrayLike<number>, shape: readonly number[], offset = 0): unknown {
  if (shape.length === 0) return data[offset];
  const inner = shape.slice(1);
  const width = product(inner);
  return Array.from({ length: shape[0]! }, (_, i) => nested(data, inner, offset + i * width));
}

interface Project {
  readonly dir: string;
  readonly weights: string;
  readonly data: string;
  /** The interpreter's outputs on the data, one nested array per sample. */
  readonly expected: unknown[];
}

/** Exports `text` with the CLI into a new folder, with random weights and data files beside it. */
function exportProject(fileName: string, text: string): Project {
  const base = mkdtempSync(join(work, "project-"));
  const src = join(base, fileName);
  writeFileSync(src, text);
  const dir = join(base, "out");
  const r = dlc(["export", src, "--to", "pytorch", "-o", dir]);
  expect(r.stderr).toBe("");
  expect(r.status).toBe(0);
  const { checked } = analysed(text);
  const model = randomModel(checked, 3);
  const weights = join(base, "w.json");
  writeFileSync(weights, JSON.stringify(Object.fromEntries([...model.namedWeights()].map(([k, t]) => [k, nested(t.data, t.shape)]))));
  const { tensors } = randomInputs(checked, 23);
  const names = dataSpecOf(checked).inputs.map((i) => i.name);
  const x = names.length === 1 ? nested(tensors[0]!.data, tensors[0]!.shape) : Object.fromEntries(names.map((n, i) => [n, nested(tensors[i]!.data, tensors[i]!.shape)]));
  const data = join(base, "data.json");
  writeFileSync(data, JSON.stringify({ x }));
  const out = model.forward(tensors, { training: false, random: seededRandom(1) }).output;
  const expected = (nested(out.data, out.shape) as unknown[]);
  return { dir, weights, data, expected };
}

function commandCase(name: string, project: Project, argv: string[]): void {
  manifest.push({ name, script: join(project.dir, "run.py"), argv });
}

interface CommandResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** max |got − expected| / max |expected| over nested arrays. */
function nestedError(got: unknown, expected: unknown): number {
  const a = [got].flat(Infinity) as number[];
  const b = [expected].flat(Infinity) as number[];
  expect(a.length).toBe(b.length);
  const scale = Math.max(...b.map(Math.abs));
  return Math.max(...a.map((v, i) => Math.abs(v - b[i]!))) / scale;
}

const PROJECT_TEXT = "network two_inputs {\n  x: input 4x4x1\n  ids: input 5\n  from x\n  conv 2 3x3 pad same relu\n  maxpool 2\n  flatten\n  f: dense 4 tanh\n  from ids\n  embedding 9 3\n  lstm 4\n  concat f\n  dense 3 softmax\n}\n";
/** Layer names that are Python keywords, torch.nn.Module methods and the module's own names; a file name that tries to end the header comment. */
const HOSTILE_TEXT = "network t {\n  torch: input 4\n  import: dense 3 relu\n  self: dense 3\n  eval: dense 3\n  Net: dense 3\n  __class__: dense 2\n  v_eval: dense 2 sigmoid\n}\n";
const HOSTILE_FILE = 'evil"""\nimport os\n#.dl';
let projects: Record<string, Project> = {};

/** Runs the torch Python with `args` (asynchronously: the test worker keeps answering vitest). */
function runPython(args: readonly string[], cwd?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(python!, args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

suite("PyTorch export matches the interpreter (PyTorch, float64)", () => {
  beforeAll(async () => {
    // Yield between cases: the interpreter's forward passes are long, and vitest's worker must stay responsive.
    const pause = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
    for (const [name, text] of Object.entries(KIND_CASES)) forwardCase(name, text);
    forwardCase("embedding fed by an input that also feeds dense (float ids)", net("x: input 4\nembedding 7 3\nflatten\nconcat x\ndense 2"), { wholeInputsBelow: 7 });
    for (const [file, options] of Object.entries(EXAMPLES)) {
      await pause();
      forwardCase(file, readFileSync(new URL(`../examples/${file}`, import.meta.url), "utf8"), { ...options, batch: EXAMPLE_BATCH, formula: true });
    }
    for (const [name, text] of Object.entries(STEP_CASES)) stepCase(`step: ${name}`, text);
    initialCase("initial", INITIAL_CASE, 5);
    const refused = analysed(net("input 4\nd: dense 3\ne: dense 2"));
    manifest.push({ name: "refuse", model: writeModel("refuse", refused), refuse: { "d.kernel": { shape: [3, 4], data: new Array(12).fill(0) }, "d.bias": { shape: [3], data: [0, 0, 0] }, "e.bias": { shape: [2], data: [0, 0] } } });
    projects = { main: exportProject("two.dl", PROJECT_TEXT), hostile: exportProject(HOSTILE_FILE, HOSTILE_TEXT) };
    const { main, hostile } = projects;
    commandCase("run.py --json float64", main, ["--weights", main.weights, "--data", main.data, "--json", "--dtype", "float64"]);
    commandCase("run.py text float64", main, ["--weights", main.weights, "--data", main.data, "--dtype", "float64"]);
    commandCase("run.py --json float32", main, ["--weights", main.weights, "--data", main.data, "--json"]);
    commandCase("run.py, missing weights file", main, ["--weights", join(work, "none.json"), "--data", main.data]);
    writeFileSync(join(work, "partial.json"), JSON.stringify({ "f.kernel": [[0]] }));
    commandCase("run.py, weights that do not fit", main, ["--weights", join(work, "partial.json"), "--data", main.data]);
    commandCase("run.py, hostile names", hostile, ["--weights", hostile.weights, "--data", hostile.data, "--json", "--dtype", "float64"]);
    const path = join(work, "manifest.json");
    writeFileSync(path, JSON.stringify(manifest));
    const r = await runPython([new URL("./helpers/pytorch_check.py", import.meta.url).pathname, path]);
    expect(r.stderr).not.toMatch(/Traceback/);
    expect(r.code).toBe(0);
    results = JSON.parse(r.stdout) as Record<string, CaseResult>;
  }, 600_000);

  const forward = (name: string): void => {
    const r = results[name]!;
    expect(r.exception).toBeUndefined();
    if (!EXAMPLES[name]) expect(r.roundtrip).toBe(true);
    expect(r.shape).toEqual(expectedShapes.get(name));
    expect(r.dtype).toBe("torch.float64");
    expect(r.error).toBeLessThan(TOLERANCE);
    if (!EXAMPLES[name]) {
      // The same Net in float32 (torch's default): within float32's precision.
      expect(r.dtype32).toBe("torch.float32");
      expect(r.error32).toBeLessThan(1e-4);
    }
  };

  for (const name of Object.keys(KIND_CASES)) it(name, () => forward(name));
  it("embedding fed by an input that also feeds dense (float ids)", () => forward("embedding fed by an input that also feeds dense (float ids)"));
  for (const file of Object.keys(EXAMPLES)) it(`example ${file}`, () => forward(file));

  it("Net(seed) starts from dlc's initial weights for that seed (every initialiser)", () => {
    const r = results.initial!;
    expect(r.exception).toBeUndefined();
    expect(r.names).toBe(true);
    expect(r.error, `worst: ${r.worst}`).toBeLessThan(1e-12);
  });

  it("load_dlc_state refuses missing weights and wrong shapes, naming each", () => {
    expect(results.refuse!.message).toBe("the weights do not fit the network: 'd.kernel' is [3, 4], the network needs [4, 3]; 'e.kernel' is missing");
  });

  for (const name of Object.keys(STEP_CASES)) {
    it(`one SGD step: ${name}`, () => {
      const r = results[`step: ${name}`]!;
      expect(r.exception).toBeUndefined();
      expect(r.roundtrip).toBe(true);
      expect(r.moved).toBeGreaterThan(1e-4);
      expect(r.error, `worst: ${r.worst}`).toBeLessThan(TOLERANCE);
    });
  }
});

suite("dlc export --to pytorch (CLI) and run.py", () => {
  const command = (name: string): CommandResult => {
    const r = results[name] as unknown as CommandResult & { exception?: string };
    expect(r.exception).toBeUndefined();
    return r;
  };

  it("writes model.py, run.py, train.py and dlc_support.py; run.py --json gives the interpreter's outputs (float64)", () => {
    expect(readdirSync(projects.main!.dir).sort()).toEqual(["dlc_support.py", "model.py", "run.py", "train.py"]);
    const r = command("run.py --json float64");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const outputs = (JSON.parse(r.stdout) as { outputs: unknown[] }).outputs;
    expect(nestedError(outputs, projects.main!.expected)).toBeLessThan(TOLERANCE);
  });

  it("run.py prints dlc run's text: one line per sample, the class after a softmax, numbers as JavaScript writes them", () => {
    const r = command("run.py text float64");
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split("\n");
    const fromDlc = dlc(["run", join(projects.main!.dir, "..", "two.dl"), "--weights", projects.main!.weights, "--data", projects.main!.data]);
    expect(fromDlc.status).toBe(0);
    const dlcLines = fromDlc.stdout.trimEnd().split("\n");
    expect(lines.length).toBe(dlcLines.length);
    const parse = (line: string): { index: string; values: number[]; label: string } => {
      const m = /^(\d+): (\[[^\]]*\])(.*)$/.exec(line)!;
      return { index: m[1]!, values: JSON.parse(m[2]!) as number[], label: m[3]! };
    };
    lines.forEach((line, i) => {
      const [ours, theirs] = [parse(line), parse(dlcLines[i]!)];
      expect(ours.index).toBe(theirs.index);
      expect(ours.label).toBe(theirs.label);
      expect(ours.label).toMatch(/^  → class \d$/);
      expect(nestedError(ours.values, theirs.values)).toBeLessThan(1e-4);
      // Each number is printed as JSON.stringify prints the same double.
      for (const token of line.slice(line.indexOf("[") + 1, line.indexOf("]")).split(",")) expect(token).toBe(JSON.stringify(Number(token)));
    });
  });

  it("run.py in float32 (torch's default) is within float32's precision", () => {
    const r = command("run.py --json float32");
    expect(r.code).toBe(0);
    expect(nestedError((JSON.parse(r.stdout) as { outputs: unknown[] }).outputs, projects.main!.expected)).toBeLessThan(1e-4);
  });

  it("run.py refuses a missing weights file and weights that do not fit: a message, exit 2, no traceback", () => {
    const missing = command("run.py, missing weights file");
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^error: .*none\.json/);
    const misfit = command("run.py, weights that do not fit");
    expect(misfit.code).toBe(2);
    expect(misfit.stderr).toMatch(/f\.kernel/);
    expect(misfit.stderr + missing.stderr).not.toMatch(/Traceback/);
  });

  it("hostile names: keywords and Module methods become safe identifiers, dlc's names stay string literals, the file name cannot end the comment", () => {
    const r = command("run.py, hostile names");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(nestedError((JSON.parse(r.stdout) as { outputs: unknown[] }).outputs, projects.hostile!.expected)).toBeLessThan(TOLERANCE);
    const model = readFileSync(join(projects.hostile!.dir, "model.py"), "utf8");
    expect(model).toContain('"import.kernel": self.v_import.weight.t()');
    expect(model).toContain("def forward(self, v_torch):");
    expect(model.split("\n").filter((l) => /^import os|^#\.dl/.test(l))).toEqual([]);
  });

  it("an output folder in a missing folder, a file in its place, --weights, --to unknown: a message, exit 2, nothing written", () => {
    const src = join(work, "small.dl");
    writeFileSync(src, net("input 3\ndense 2"));
    const missing = dlc(["export", src, "--to", "pytorch", "-o", join(work, "no-such-folder", "out")]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain("does not exist");
    const file = join(work, "a-file");
    writeFileSync(file, "keep");
    const onFile = dlc(["export", src, "--to", "pytorch", "-o", file]);
    expect(onFile.status).toBe(2);
    expect(readFileSync(file, "utf8")).toBe("keep");
    const weights = dlc(["export", src, "--to", "pytorch", "-o", join(work, "w-out"), "--weights", file]);
    expect(weights.status).toBe(2);
    expect(weights.stderr).toContain("--weights is for --to onnx");
    const unknown = dlc(["export", src, "--to", "tensorflow", "-o", join(work, "t-out")]);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/tensorflow/);
    expect(existsSync(join(work, "w-out")) || existsSync(join(work, "t-out"))).toBe(false);
    expect(readdirSync(work).filter((n) => n.endsWith(".tmp"))).toEqual([]);
  });

  it("a new folder appears whole (built beside it, then renamed); a half-built one a killed export left is removed", () => {
    const src = join(work, "fresh.dl");
    writeFileSync(src, net("input 3\ndense 2"));
    const stale = join(work, ".fresh.999999999.abc123.tmp");
    mkdirSync(stale);
    writeFileSync(join(stale, "model.py"), "half");
    const r = dlc(["export", src, "--to", "pytorch", "-o", join(work, "fresh")]);
    expect(r.status).toBe(0);
    expect(existsSync(stale)).toBe(false);
    expect(readdirSync(work).filter((n) => n.startsWith(".fresh."))).toEqual([]);
    expect(readdirSync(join(work, "fresh")).sort()).toEqual(["dlc_support.py", "model.py", "run.py", "train.py"]);
  });

  it("into an existing folder: the project's files are replaced, the user's other files kept", () => {
    const src = join(work, "again.dl");
    writeFileSync(src, net("input 3\ndense 2"));
    const dir = join(work, "existing");
    mkdirSync(dir);
    writeFileSync(join(dir, "model.py"), "old");
    writeFileSync(join(dir, "weights.json"), "mine");
    const r = dlc(["export", src, "--to", "pytorch", "-o", dir]);
    expect(r.status).toBe(0);
    expect(readFileSync(join(dir, "model.py"), "utf8")).toContain("class Net(torch.nn.Module)");
    expect(readFileSync(join(dir, "weights.json"), "utf8")).toBe("mine");
  });
});

describe("names and refusals", () => {
  it("every layer kind has a PyTorch export (input is the forward's argument)", () => {
    const missing = [...registry.values()].filter((d) => d.kind !== "input" && !d.pytorch).map((d) => d.kind);
    expect(missing).toEqual([]);
  });

  it("a kind without an export is refused at its statement, once each, and no text is made", () => {
    const { checked } = analysed(net("input 5x3\nlstm 4 sequences\ndense 2\nlstm 2"));
    const nodes = checked.network.nodes.map((n) => (n.kind === "lstm" ? { ...n, def: { ...n.def, pytorch: undefined } } : n));
    const result = pytorchModel({ ...checked, network: { ...checked.network, nodes } }, { file: "t.dl", version: "test" });
    expect(result.text).toBeUndefined();
    expect(result.diagnostics.map((d) => [d.code, d.span.line, d.span.column, d.message])).toEqual([
      ["pytorch-export", 3, 1, "dlc export cannot export lstm to PyTorch yet"],
      ["pytorch-export", 5, 1, "dlc export cannot export lstm to PyTorch yet"],
    ]);
  });

  it("identifiers are safe and unique: keywords, torch.nn.Module's own attributes, the module's names", () => {
    expect(pythonIdentifiers(["conv1", "eval", "import", "torch", "self", "v_eval", "_x", "Net", "training", "logits", "a", "a"])).toEqual(["conv1", "v_eval", "v_import", "v_torch", "v_self", "v_eval_2", "v__x", "v_Net", "v_training", "v_logits", "a", "a_2"]);
    expect(pyString('a"b\\c\nd\u2028é')).toBe('"a\\"b\\\\c\\x0ad\\u2028\\xe9"');
  });
});
