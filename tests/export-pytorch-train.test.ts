// dlc export --to pytorch: DIR/train.py trains as `dlc train --interpret` does. In float64, one
// epoch (shuffled, several batches, a short last one) from the same weights on the same data ends
// within 1e-9 of the interpreter's weights, for every layer kind and option and the examples at
// small inputs; 2 processes under torchrun end within 1e-9 of 1 process (an MLP and a batchnorm
// CNN, batches that do not divide evenly); the weights it saves load into `dlc run` and into a
// compiled module with PyTorch's outputs; the train block's optimizer settings (weight_decay, adamw,
// clip, schedules, warmup) match over several epochs, and on 2 processes; dlc_support's data readers agree with dlc's and refuse
// what dlc refuses. All Python work runs in one process (tests/helpers/pytorch_jobs.py), beside
// one torchrun of 2 processes that runs the three distributed trainings.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { runExport } from "../src/cli/export.js";
import { runTrain } from "../src/cli/train.js";
import { analyze } from "../src/index.js";
import { Model } from "../src/interp/model.js";
import { seededRandom } from "../src/interp/random.js";
import type { Shape } from "../src/ir/shape.js";
import type { LossKind } from "../src/ir/types.js";
import { dataSpecOf, loadData, readWeightsFile, writeWeights } from "../src/io/index.js";
import { compileText } from "./helpers/compiled.js";
import { dlc, ROOT } from "./helpers/dlc-cli.js";
import { findTorchPython } from "./helpers/python-torch.js";

const TOLERANCE = 1e-9;
const python = findTorchPython();
const JOBS_SCRIPT = join(ROOT, "tests", "helpers", "pytorch_jobs.py");
const tmp = mkdtempSync(join(tmpdir(), "dlc-pt-train-"));

// ---- the networks ----------------------------------------------------------------------------

const net = (body: string): string => `network t {\n${body}\n}\n`;
const train = (loss: LossKind, optimizer: string, extra = ""): string => `\ntrain {\n  loss ${loss}\n  optimizer ${optimizer}\n${extra}}\n`;
const SGD = "sgd lr 0.1 momentum 0.9";
const ADAM = "adam lr 0.01";

interface Case {
  readonly text: string;
  readonly input?: Shape;
  readonly samples?: number;
  readonly batch?: number;
}

/** Every layer kind and option, each with a loss and an optimizer (both optimizers, all three losses, fused or not). */
const KIND_CASES: Record<string, Case> = {
  "dense relu → softmax, cross_entropy fused, sgd momentum": { text: net("input 5\ndense 4 relu\ndense 3 softmax") + train("cross_entropy", SGD) },
  "dense on [T, H, F], tanh, squared, adam": { text: net("input 3x4x5\ndense 6 tanh") + train("squared", ADAM) },
  "bias false, sigmoid, binary_cross_entropy fused": { text: net("input 6\ndense 4 sigmoid bias false\ndense 2 sigmoid") + train("binary_cross_entropy", ADAM) },
  "leakyrelu alone and fused, linear": { text: net("input 6\ndense 5\nleakyrelu 0.2\ndense 4 leakyrelu\ndense 3 linear") + train("squared", SGD) },
  "softmax over [T, V], a class index per position": { text: net("input 4x7\ndense 5 softmax") + train("cross_entropy", ADAM) },
  "standalone relu, sigmoid, tanh, softmax (fused)": { text: net("input 8\nrelu\ndense 8\nsigmoid\ndense 8\ntanh\ndense 3\nsoftmax") + train("cross_entropy", SGD) },
  "cross_entropy after sigmoid (not fused)": { text: net("input 5\ndense 3 sigmoid") + train("cross_entropy", SGD) },
  "binary_cross_entropy after softmax (not fused)": { text: net("input 5\ndense 3 softmax") + train("binary_cross_entropy", ADAM) },
  "conv valid, stride with pad same, pad P, bias false": { text: net("input 9x8x3\nconv 4 3x3 relu\nconv 5 3x3 stride 2 pad same\nconv 2 2x2 stride 2 pad 1 bias false") + train("squared", SGD) },
  "conv 1x1 and 5x5 pad same": { text: net("input 7x7x2\nconv 3 1x1\nconv 2 5x5 pad same sigmoid") + train("binary_cross_entropy", ADAM) },
  "maxpool, avgpool, minpool": { text: net("input 8x8x2\nmaxpool 2\nconv 2 1x1\navgpool 2\nconv 2 1x1\nminpool 2") + train("squared", ADAM) },
  "pools with pad, stride and same": { text: net("input 9x9x2\navgpool 3 stride 2 pad 1\nconv 2 1x1\nmaxpool 3 stride 2 pad same\nconv 2 1x1\nminpool 2 pad 1") + train("squared", SGD) },
  "pools in ceil mode, avgpool ceil with pad": { text: net("input 9x10x2\navgpool 2 ceil\nconv 2 1x1\nmaxpool 3 stride 2 ceil\nconv 2 1x1\nminpool 2 ceil\navgpool 3 stride 2 pad 1 ceil") + train("squared", ADAM) },
  "globalavgpool, flatten": { text: net("input 6x5x4\nconv 3 3x3\nglobalavgpool\ndense 2 softmax") + train("cross_entropy", SGD) },
  "flatten keeps channels-last order": { text: net("input 3x4x2\nflatten\ndense 3") + train("squared", SGD) },
  "upsample": { text: net("input 3x4x2\nupsample 3\nconv 2 3x3") + train("squared", ADAM) },
  "dropout 0 (masks differ between engines: rate 0 here)": { text: net("input 6\ndropout 0\ndense 3") + train("squared", SGD) },
  // SGD: some gradients here are zero in exact arithmetic (a bias before a batchnorm), and Adam
  // would scale each engine's rounding noise in them (~1e-17) up to steps of lr.
  "batchnorm on [H, W, C] and [F]: batch statistics, running updates": { text: net("input 5x5x3\nbatchnorm\nflatten\ndense 4\nbatchnorm") + train("squared", SGD) },
  "frozen batchnorm and frozen dense": { text: net("input 4x4x2\nbatchnorm frozen\nflatten\ndense 4 relu frozen\ndense 3 softmax") + train("cross_entropy", SGD) },
  "layernorm on [F] and [T, F]": { text: net("input 4x6\nlayernorm\nflatten\ndense 5\nlayernorm") + train("squared", ADAM) },
  "add and concat of named values, from": { text: net("a: input 6\nb: input 6\nfrom a\nh: dense 6 relu\nadd b\nconcat h\ndense 3") + train("squared", SGD) },
  "residual, parallel, repeat, blocks": {
    text: "block unit(c) {\n  conv c 3x3 pad 1 relu\n}\nnetwork t {\n  input 6x6x2\n  repeat 2 {\n    residual {\n      unit 2\n    }\n  }\n  parallel {\n    branch { unit 3 }\n    branch { maxpool 3 stride 1 pad 1 }\n  }\n  globalavgpool\n  dense 2 softmax\n}\n" + train("cross_entropy", SGD),
  },
  "rnn, last step": { text: net("input 5x3\nrnn 4") + train("squared", ADAM) },
  "lstm with sequences": { text: net("input 6x3\nlstm 4 sequences\ndense 2") + train("squared", SGD) },
  "gru, last step": { text: net("input 5x3\ngru 4") + train("squared", ADAM) },
  "bidirectional lstm, last step": { text: net("input 5x3\nlstm 3 bidirectional") + train("squared", SGD) },
  "stacked bidirectional gru with sequences": { text: net("input 4x3\ngru 3 sequences bidirectional layers 2") + train("squared", ADAM) },
  "stacked rnn and lstm, last step": { text: net("input 4x2\nrnn 3 sequences layers 2\nlstm 2 layers 3") + train("squared", SGD) },
  "truncated BPTT: a layer's bptt and the train block's": { text: net("input 6x3\nlstm 4 sequences bptt 3\ngru 3 sequences\ndense 2") + train("squared", SGD, "  bptt 2\n") },
  "attention, dot scores": { text: net("q: input 4x3\nm: input 5x3\nfrom q\nqd: dense 3\nattention m dot") + train("squared", ADAM) },
  "attention, bilinear scores, query [H]": { text: net("q: input 3\nm: input 5x2\nfrom m\nmd: dense 3\nfrom q\nattention md bilinear") + train("squared", SGD) },
  "attention, mlp scores with units": { text: net("q: input 4x3\nm: input 5x2\nfrom q\nattention m mlp units 4") + train("squared", ADAM) },
  "embedding (int64 token ids)": { text: net("input 5\nembedding 10 4\nflatten\ndense 3 softmax") + train("cross_entropy", ADAM) },
};

/**
 * The train block's optimizer settings, each over a few epochs (3 batches each: 5 samples, batch 2)
 * so that per-epoch schedules matter; `base` is the same block without the setting, which dlc
 * must train differently (so that an engine ignoring the setting cannot pass).
 */
const SMALL = net("input 4\ndense 3 tanh\ndense 2");
const OPTIMIZER_CASES: Record<string, { readonly optimizer: string; readonly setting: string; readonly epochs: number; readonly baseOptimizer?: string }> = {
  "sgd momentum + weight_decay": { optimizer: SGD, setting: "  weight_decay 0.1\n", epochs: 2 },
  "adam + weight_decay (L2 in the gradient)": { optimizer: ADAM, setting: "  weight_decay 0.1\n", epochs: 2 },
  "adamw at its default weight_decay 0.01": { optimizer: "adamw lr 0.01", baseOptimizer: ADAM, setting: "", epochs: 2 },
  "adamw + weight_decay 0.3": { optimizer: "adamw lr 0.01", setting: "  weight_decay 0.3\n", epochs: 2 },
  "clip that clips (sgd momentum)": { optimizer: SGD, setting: "  clip 0.05\n", epochs: 2 },
  "schedule step 1 0.5": { optimizer: SGD, setting: "  schedule step 1 0.5\n", epochs: 3 },
  "schedule cosine (adam)": { optimizer: ADAM, setting: "  schedule cosine\n", epochs: 3 },
  "warmup 4 (across the epoch boundary)": { optimizer: SGD, setting: "  warmup 4\n", epochs: 2 },
  "adamw + clip + step + warmup + patience (no validation: every epoch)": { optimizer: "adamw lr 0.02", setting: "  weight_decay 0.05\n  clip 0.1\n  schedule step 2 0.3\n  warmup 3\n  patience 1\n", epochs: 3 },
};

/**
 * The examples at small inputs; their dropout set to 0 (PyTorch's masks are not dlc's). The image
 * classifiers run at the smallest input they accept (resnet18 16x16, googlenet, vgg16 32x32,
 * alexnet 63x63) on one batch of 2 samples (the batchnorms at 1x1 need 2 values per channel) or,
 * for vgg16 and alexnet, 1 sample: their dense layers hold 22–23 million weights whatever the
 * input. Measured on 2 busy cores, the five add 37 s to this file (54 → 91 s; resnet50 7 s,
 * vgg16 and alexnet most of the rest); alone, vgg16's epoch takes 12 s in dlc's interpreter and
 * 9 s in train.py (import, 300 MB of float64 weights read and written), alexnet's 7 s and 6 s. They start from weight files, not from
 * Net(seed): model.py's seeded initialisation takes 7 s for alexnet's 22 million draws alone.
 * resnet50 runs at 40x40, not smaller: at 16x16 and 32x32 its last batchnorms see 2 values per
 * channel, the step's gradients explode (conv1's kernel moves by 2e4 at 32x32) and the engines'
 * float64 rounding differs by 8e-7 relative there (their losses agree within 1e-11); at 40x40
 * (2x2 at the end) they agree within 1e-11.
 */
const EXAMPLES: Record<string, Omit<Case, "text">> = {
  "seed.dl": {},
  "lenet5.dl": {},
  "unet.dl": { input: [16, 16, 1], samples: 3 },
  "char_lstm.dl": { input: [12], samples: 3 },
  "gru_tagger.dl": { input: [10], samples: 3 },
  "seq2seq_attention.dl": { input: [6], samples: 3 },
  "resnet18.dl": { input: [16, 16, 3], samples: 2, batch: 2 },
  "resnet50.dl": { input: [40, 40, 3], samples: 2, batch: 2 },
  "googlenet.dl": { input: [32, 32, 3], samples: 2, batch: 2 },
  "vgg16.dl": { input: [32, 32, 3], samples: 1, batch: 1 },
  "alexnet.dl": { input: [63, 63, 3], samples: 1, batch: 1 },
};

// ---- data and weights for a case -------------------------------------------------------------

function nest(flat: readonly number[], shape: Shape): unknown {
  if (shape.length === 0) return flat[0];
  const inner = shape.slice(1).reduce((a, b) => a * b, 1);
  return Array.from({ length: shape[0]! }, (_, i) => nest(flat.slice(i * inner, (i + 1) * inner), shape.slice(1)));
}

const sizeOf = (shape: Shape): number => shape.reduce((a, b) => a * b, 1);

interface Prepared {
  readonly dir: string;
  readonly file: string;
  readonly project: string;
  readonly data: string;
  readonly init: string;
  readonly batch: number;
}

function checkedOf(text: string, input?: Shape) {
  const analysis = analyze(text, { inputShape: input });
  if (analysis.hasErrors || !analysis.selected) throw new Error(`test network has errors: ${analysis.diagnostics.map((d) => d.message).join("; ")}`);
  return { checked: analysis.selected, loss: analysis.train?.loss };
}

/** Writes the .dl file, exports it, and writes random data (targets to suit the loss) and random starting weights. */
function prepare(name: string, c: Case, seed: number): Prepared {
  const dir = join(tmp, name.replace(/[^a-z0-9]+/gi, "-"));
  mkdirSync(dir, { recursive: true });
  const file = join(dir, "net.dl");
  writeFileSync(file, c.text);
  const project = join(dir, "project");
  quietly(() => expect(runExport(file, { to: "pytorch", output: project, input: c.input } as Parameters<typeof runExport>[1])).toBe(0));
  const { checked, loss } = checkedOf(c.text, c.input);
  const spec = dataSpecOf(checked, { loss });
  const random = seededRandom(seed);
  const samples = c.samples ?? 5;
  const xs = spec.inputs.map((input) => Array.from({ length: samples }, () => nest(Array.from({ length: sizeOf(input.shape) }, () => (input.vocabulary === undefined ? random() * 2 - 1 : Math.floor(random() * input.vocabulary))), input.shape)));
  const out = spec.output!;
  const classes = out[out.length - 1]!;
  const ys = Array.from({ length: samples }, () => {
    if (loss === "cross_entropy") return nest(Array.from({ length: sizeOf(out.slice(0, -1)) }, () => Math.floor(random() * classes)), out.slice(0, -1));
    return nest(Array.from({ length: sizeOf(out) }, () => (loss === "binary_cross_entropy" ? (random() < 0.5 ? 0 : 1) : random() * 2 - 1)), out);
  });
  const x = spec.inputs.length === 1 ? xs[0] : Object.fromEntries(spec.inputs.map((input, i) => [input.name, xs[i]]));
  const data = join(dir, "data.json");
  writeFileSync(data, JSON.stringify({ x, y: ys }));
  // Random biases, norm statistics and scales too, so that a swapped or dropped one shows.
  const model = new Model(checked, seededRandom(seed + 1));
  const more = seededRandom(seed + 2);
  for (const p of model.params) {
    for (const [param, t] of Object.entries(p)) {
      if (param === "kernel" || param === "embeddings" || param === "recurrent_kernel") continue;
      for (let i = 0; i < t.data.length; i++) t.data[i] = param === "gamma" || param === "moving_variance" ? 0.5 + more() : (more() - 0.5) * 0.4;
    }
  }
  const init = join(dir, "init.safetensors");
  writeWeights(init, model.namedWeights(), { dtype: "f64" });
  return { dir, file, project, data, init, batch: c.batch ?? 2 };
}

/** Runs `f` with stdout captured (the command line's functions print their results); returns what it printed. */
function quietly(f: () => void): string {
  let printed = "";
  const spy = vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    printed += typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8");
    return true;
  });
  const errSpy = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
  try {
    f();
  } finally {
    spy.mockRestore();
    errSpy.mockRestore();
  }
  return printed;
}

async function quietlyAsync(f: () => Promise<number>): Promise<{ code: number; printed: string }> {
  let printed = "";
  const spy = vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    printed += typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8");
    return true;
  });
  const errSpy = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
  try {
    return { code: await f(), printed };
  } finally {
    spy.mockRestore();
    errSpy.mockRestore();
  }
}

/** dlc train --interpret for one epoch (or `epochs`) from the case's weights; its saved weights and epoch losses. */
async function dlcTrain(p: Prepared, c: Case, epochs = 1, batch = p.batch, text?: string): Promise<{ weights: Map<string, Float64Array>; losses: number[] }> {
  if (text !== undefined) writeFileSync(p.file, text);
  const save = join(p.dir, `dlc-${epochs}-${batch}${text === undefined ? "" : "-base"}.safetensors`);
  const { code, printed } = await quietlyAsync(() => runTrain(p.file, { data: p.data, weights: p.init, save, dtype: "f64", interpret: true, epochs, batch, json: true, input: c.input }));
  expect(code).toBe(0);
  return { weights: weightsOf(save), losses: epochLosses(printed) };
}

function weightsOf(path: string): Map<string, Float64Array> {
  return new Map([...readWeightsFile(path)].map(([name, t]) => [name, Float64Array.from(t.data)]));
}

function epochLosses(printed: string): number[] {
  return printed
    .split("\n")
    .map((l) => l.replace(/^\[default\d+\]:/, "").trim())
    .filter((l) => l.startsWith('{"epoch"') || l.startsWith('{"epoch":'))
    .map((l) => (JSON.parse(l) as { loss: number }).loss);
}

/** The largest |a − b| / max(1, |a|, |b|) over every weight; both must hold the same names and sizes. */
function worstDifference(a: Map<string, Float64Array>, b: Map<string, Float64Array>): number {
  expect([...b.keys()].sort()).toEqual([...a.keys()].sort());
  let worst = 0;
  for (const [name, x] of a) {
    const y = b.get(name)!;
    expect(y.length, name).toBe(x.length);
    for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i]! - y[i]!) / Math.max(1, Math.abs(x[i]!), Math.abs(y[i]!)));
  }
  return worst;
}

function moved(a: Map<string, Float64Array>, b: Map<string, Float64Array>): boolean {
  return [...a].some(([name, x]) => x.some((v, i) => v !== b.get(name)![i]));
}

function trainArgs(p: Prepared, save: string, extra: readonly string[] = []): string[] {
  return ["--data", p.data, "--weights", p.init, "--save", save, "--save-dtype", "f64", "--epochs", "1", "--batch", String(p.batch), "--dtype", "float64", "--json", ...extra];
}

// ---- Python ----------------------------------------------------------------------------------

interface JobResult {
  readonly rc: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly error?: string;
  readonly size?: number;
  readonly x?: { shape: number[]; dtype: string; data: number[] }[];
  readonly y?: { shape: number[]; dtype: string; data: number[] } | null;
  readonly output?: { shape: number[]; data: number[] };
}

type Job = { kind: "train"; dir: string; argv: string[] } | { kind: "read"; dir: string; path: string; labels?: string; need_targets: boolean } | { kind: "forward"; dir: string; weights: string; data: string };

function spawnText(command: string, args: readonly string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: { ...process.env, OMP_NUM_THREADS: "1", ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (s: string) => (stdout += s));
    child.stderr.setEncoding("utf8").on("data", (s: string) => (stderr += s));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** The jobs in one Python process, or (`torchrun`) in one torchrun of 2 processes on loopback. */
async function runJobs(jobs: readonly Job[], torchrun = false): Promise<JobResult[]> {
  const path = join(tmp, `jobs-${torchrun ? "torchrun" : "one"}.json`);
  writeFileSync(path, JSON.stringify(jobs));
  // `--redirects 1 --tee 1`: torch 1.13's torchrun fails on Python 3.11 with its default
  // `--redirects 0` (its Std enum lost NONE there); every torch takes these.
  const launch = torchrun ? ["-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr", "127.0.0.1", "--master_port", String(await freePort()), "--redirects", "1", "--tee", "1"] : [];
  const r = await spawnText(python!, [...launch, JOBS_SCRIPT, path]);
  const line = r.stdout.split("\n").find((l) => l.includes("RESULTS "));
  if (r.code !== 0 || !line) throw new Error(`pytorch_jobs.py${torchrun ? " under torchrun" : ""} failed (exit ${r.code}):\n${r.stderr.slice(-4000)}`);
  return JSON.parse(line.slice(line.indexOf("RESULTS ") + "RESULTS ".length)) as JobResult[];
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

// ---- the suite -------------------------------------------------------------------------------

const describeTorch = python || process.env.CI ? describe : describe.skip;

describeTorch("exported train.py (PyTorch, float64) against dlc train --interpret", () => {
  const kinds = new Map<string, { p: Prepared; dlc: { weights: Map<string, Float64Array>; losses: number[] }; job: number }>();
  const optimizers = new Map<string, { p: Prepared; dlc: { weights: Map<string, Float64Array>; losses: number[] }; base: Map<string, Float64Array>; job: number }>();
  const examples = new Map<string, { p: Prepared; dlc: { weights: Map<string, Float64Array>; losses: number[] }; job: number }>();
  const jobs: Job[] = [];
  let results: JobResult[] = [];
  let twoResults: JobResult[] = [];

  // The two-process runs, 7 samples: an MLP at batch 4 (4 + 3: shards 2/2, 2/1) and a batchnorm CNN at
  // batch 3 (3 + 3 + 1: shards 2/1 and, in the last batch, 1/0: a process with no samples).
  const MLP: Case = { text: net("input 6\ndense 8 relu\ndense 3 softmax") + train("cross_entropy", SGD), samples: 7, batch: 4 };
  // No conv bias before the batchnorm: its gradient is zero in exact arithmetic, and Adam scales rounding noise there up to steps of lr.
  // adamw, clip, a step schedule and warmup on 2 processes: clipping must see the global gradient's norm (after DDP's all-reduce).
  const CLIPPED: Case = { text: net("input 6\ndense 8 relu\ndense 3 softmax") + train("cross_entropy", "adamw lr 0.05", "  clip 0.05\n  schedule step 1 0.5\n  warmup 2\n"), samples: 7, batch: 4 };
  const CNN: Case = { text: net("input 6x6x2\nconv 4 3x3 pad 1 bias false\nbatchnorm\nrelu\nmaxpool 2\nflatten\ndense 3 softmax") + train("cross_entropy", ADAM), samples: 7, batch: 3 };
  const multi: Record<string, { c: Case; p?: Prepared; one?: number; forward?: number; two?: number; dlc?: { weights: Map<string, Float64Array>; losses: number[] } }> = {
    mlp: { c: MLP },
    cnn: { c: CNN },
    "mlp, adamw, clip, schedule, warmup": { c: CLIPPED },
  };
  /** The MLP saves JSON, the CNN float64 safetensors. */
  const name2 = (m: { c: Case }): string => (m.c === MLP ? "two.json" : "two.safetensors");
  const divergence: { p?: Prepared; job?: number } = {};
  const readers: { name: string; job: number; expected: unknown }[] = [];
  const mistakes: { job: number; says: RegExp }[] = [];

  beforeAll(async () => {
    if (!python) throw new Error("no Python with torch (tried $DLC_PYTHON, python3, /usr/bin/python3): CI must run the PyTorch export tests; install python3-torch");
    let seed = 100;
    for (const [name, c] of Object.entries(KIND_CASES)) {
      const p = prepare(`kind-${name}`, c, seed++);
      kinds.set(name, { p, dlc: await dlcTrain(p, c), job: jobs.push({ kind: "train", dir: p.project, argv: trainArgs(p, join(p.dir, "py.safetensors")) }) - 1 });
    }
    for (const [name, o] of Object.entries(OPTIMIZER_CASES)) {
      const c: Case = { text: SMALL + train("squared", o.optimizer, o.setting) };
      const p = prepare(`optimizer-${name}`, c, seed++);
      const base = await dlcTrain({ ...p, file: join(p.dir, "base.dl") }, { text: "" }, o.epochs, p.batch, SMALL + train("squared", o.baseOptimizer ?? o.optimizer));
      const argv = [...trainArgs(p, join(p.dir, "py.safetensors")), "--epochs", String(o.epochs)];
      optimizers.set(name, { p, dlc: await dlcTrain(p, c, o.epochs), base: base.weights, job: jobs.push({ kind: "train", dir: p.project, argv }) - 1 });
    }
    for (const [file, options] of Object.entries(EXAMPLES)) {
      const text = readFileSync(join(ROOT, "examples", file), "utf8").replace(/dropout [0-9.]+/g, "dropout 0");
      const c = { ...options, text };
      const p = prepare(`example-${file}`, c, seed++);
      examples.set(file, { p, dlc: await dlcTrain(p, c), job: jobs.push({ kind: "train", dir: p.project, argv: trainArgs(p, join(p.dir, "py.safetensors")) }) - 1 });
    }
    for (const [name, m] of Object.entries(multi)) {
      const p = (m.p = prepare(`multi-${name}`, m.c, seed++));
      const args = ["--data", p.data, "--weights", p.init, "--epochs", "2", "--batch", String(p.batch), "--dtype", "float64", "--json"];
      m.dlc = await dlcTrain(p, m.c, 2);
      m.one = jobs.push({ kind: "train", dir: p.project, argv: [...args, "--save", join(p.dir, "one.json")] }) - 1;
      if (m.c !== CLIPPED) m.forward = jobs.push({ kind: "forward", dir: p.project, weights: join(p.dir, "one.json"), data: p.data }) - 1;
    }
    const d = (divergence.p = prepare("diverges", { text: net("input 3\ndense 2") + train("squared", "sgd lr 1e300") }, seed++));
    writeFileSync(join(d.dir, "keep.json"), "old\n");
    divergence.job = jobs.push({ kind: "train", dir: d.project, argv: ["--data", d.data, "--weights", d.init, "--save", join(d.dir, "keep.json"), "--dtype", "float64"] }) - 1;
    prepareReaders(jobs, readers);
    const first = kinds.values().next().value!.p;
    const other = [...kinds.values()][1]!.p;
    const mistake = (argv: string[]): number => jobs.push({ kind: "train", dir: first.project, argv }) - 1;
    mistakes.push(
      { job: mistake(["--data", first.data, "--save", join(first.dir, "out.txt")]), says: /^error: cannot tell the format of the weights file .*out\.txt \(extension \.txt\): name it \.json or \.safetensors$/ },
      { job: mistake(["--data", join(first.dir, "absent.json")]), says: /^error: cannot read the data file .*absent\.json: no such file or directory$/ },
      { job: mistake(["--data", first.data, "--weights", other.init]), says: /^error: .*init\.safetensors does not fit the network \(\d+ problems\):\n  - 'dense1\.kernel' has shape/ },
      { job: mistake(["--data", first.data, "--save", join(first.dir, "w.json"), "--save-dtype", "f64"]), says: /^error: --save-dtype chooses the number type of a \.safetensors save; .*w\.json is JSON/ },
      { job: mistake(["--data", first.data, "--epochs", "0"]), says: /argument --epochs: 0 must be at least 1/ },
    );

    // The two-process trainings in one torchrun (one process group), beside the one-process jobs.
    const distributed: Job[] = Object.values(multi).map((m, i) => {
      const p = m.p!;
      m.two = i;
      const argv = ["--data", p.data, "--weights", p.init, "--epochs", "2", "--batch", String(p.batch), "--dtype", "float64", "--json", "--save", join(p.dir, name2(m))];
      return { kind: "train", dir: p.project, argv: name2(m).endsWith(".safetensors") ? [...argv, "--save-dtype", "f64"] : argv };
    });
    [results, twoResults] = await Promise.all([runJobs(jobs), runJobs(distributed, true)]);
  }, 900_000);

  describe("one epoch from the same weights ends within 1e-9 of the interpreter", () => {
    for (const name of Object.keys(KIND_CASES)) {
      it(name, () => {
        const { p, dlc: ref, job } = kinds.get(name)!;
        const r = results[job]!;
        expect(r.rc, r.stderr).toBe(0);
        const got = weightsOf(join(p.dir, "py.safetensors"));
        expect(worstDifference(ref.weights, got)).toBeLessThan(TOLERANCE);
        const init = weightsOf(p.init);
        expect(moved(init, got)).toBe(true);
        const losses = epochLosses(r.stdout);
        expect(losses).toHaveLength(1);
        expect(Math.abs(losses[0]! - ref.losses[0]!)).toBeLessThan(TOLERANCE * Math.max(1, Math.abs(ref.losses[0]!)));
      });
    }
  });

  describe("the train block's optimizer settings, over several epochs, end within 1e-9 of the interpreter", () => {
    for (const name of Object.keys(OPTIMIZER_CASES)) {
      it(name, () => {
        const { p, dlc: ref, base, job } = optimizers.get(name)!;
        const r = results[job]!;
        expect(r.rc, r.stderr).toBe(0);
        // The setting changes what dlc trains (else this case proves nothing).
        expect(moved(base, ref.weights)).toBe(true);
        const got = weightsOf(join(p.dir, "py.safetensors"));
        expect(worstDifference(ref.weights, got)).toBeLessThan(TOLERANCE);
        const losses = epochLosses(r.stdout);
        expect(losses).toHaveLength(OPTIMIZER_CASES[name]!.epochs);
        losses.forEach((l, i) => expect(Math.abs(l - ref.losses[i]!)).toBeLessThan(TOLERANCE * Math.max(1, Math.abs(ref.losses[i]!))));
        if (name.includes("patience")) expect(r.stderr).toMatch(/note: the train block's patience 1 stops on the validation loss; train\.py takes no validation data, so it trains every epoch/);
      });
    }
  });

  describe("examples (small inputs, dropout 0)", () => {
    for (const file of Object.keys(EXAMPLES)) {
      it(file, () => {
        const { p, dlc: ref, job } = examples.get(file)!;
        const r = results[job]!;
        expect(r.rc, r.stderr).toBe(0);
        const got = weightsOf(join(p.dir, "py.safetensors"));
        expect(worstDifference(ref.weights, got)).toBeLessThan(TOLERANCE);
        expect(Math.abs(epochLosses(r.stdout)[0]! - ref.losses[0]!)).toBeLessThan(TOLERANCE * Math.max(1, Math.abs(ref.losses[0]!)));
      });
    }
  });

  describe("torchrun: 2 processes end where 1 process does (global batch split, uneven batches)", () => {
    for (const name of Object.keys(multi)) {
      it(name, () => {
        const m = multi[name]!;
        const p = m.p!;
        const one = results[m.one!]!;
        expect(one.rc, one.stderr).toBe(0);
        const two = twoResults[m.two!]!;
        expect(two.rc, two.stderr).toBe(0);
        const oneWeights = weightsOf(join(p.dir, "one.json"));
        const twoWeights = weightsOf(join(p.dir, name2(m)));
        expect(worstDifference(oneWeights, twoWeights)).toBeLessThan(TOLERANCE);
        // Two epochs of 1 process match dlc's too, and the printed losses (process 0's) match.
        expect(worstDifference(m.dlc!.weights, oneWeights)).toBeLessThan(TOLERANCE);
        const twoLosses = epochLosses(two.stdout);
        expect(twoLosses).toHaveLength(2);
        twoLosses.forEach((l, i) => expect(Math.abs(l - m.dlc!.losses[i]!)).toBeLessThan(TOLERANCE));
        // Only process 0 wrote: one file, no temporary files left.
        expect(readdirSync(p.dir).filter((f) => f.includes(".tmp"))).toEqual([]);
      });
    }
  });

  describe("the weights train.py saves load into dlc run and a compiled module, with PyTorch's outputs", () => {
    for (const name of ["mlp", "cnn"]) {
      it(name, async () => {
        const m = multi[name]!;
        const p = m.p!;
        const forward = results[m.forward!]!;
        expect(forward.rc, forward.stderr).toBe(0);
        const expected = forward.output!.data;
        // PyTorch ran one.json (1 process); dlc runs two.* (2 processes), within 1e-9 of it.
        const run = await dlc(["run", p.file, "--interpret", "--weights", join(p.dir, name2(m)), "--data", p.data, "--json"]);
        expect(run.code, run.stderr).toBe(0);
        const outputs = (JSON.parse(run.stdout) as { outputs: unknown[] }).outputs.flat(Infinity) as number[];
        expect(outputs).toHaveLength(expected.length);
        outputs.forEach((v, i) => expect(Math.abs(v - expected[i]!)).toBeLessThan(1e-8));
        const compiled = await compileText(m.c.text, "f64");
        const model = new compiled.mod.Model({ maxBatch: 8 });
        for (const [weight, data] of weightsOf(join(p.dir, name2(m)))) model.setWeight(weight, data);
        const data = loadData(p.data, dataSpecOf(compiled.checked));
        const out = model.predict(data.inputs.map((i) => i.data), data.size);
        expect(out.length).toBe(expected.length);
        out.forEach((v, i) => expect(Math.abs(v - expected[i]!)).toBeLessThan(1e-8));
      }, 120_000);
    }
  });

  it("a run that diverges at its first batch stops with dlc's message, exit 1, and saves nothing", () => {
    const r = results[divergence.job!]!;
    expect(r.rc).toBe(1);
    expect(r.stderr).toMatch(/error: the update made dense1\.(kernel|bias) .*beyond float32's range at epoch 1, batch 1; training stopped and undid that batch, before any batch trained well, so nothing was saved/);
    expect(r.stderr).not.toMatch(/Traceback/);
    expect(readFileSync(join(divergence.p!.dir, "keep.json"), "utf8")).toBe("old\n");
  });

  it("mistakes in flags and files: a message, exit 2, no traceback, nothing written", () => {
    for (const m of mistakes) {
      const r = results[m.job]!;
      expect(r.rc, r.stderr).toBe(2);
      expect(r.stderr.trim()).toMatch(m.says);
      expect(r.stderr).not.toMatch(/Traceback/);
    }
    const dir = kinds.values().next().value!.p.dir;
    expect(readdirSync(dir).filter((f) => f.startsWith("out") || f === "w.json" || f.includes(".tmp"))).toEqual([]);
  });

  describe("dlc_support's data readers agree with dlc's", () => {
    it("on every file, values and targets alike, and refuse what dlc refuses", () => {
      const accepted = readers.filter((r) => (r.expected as { error?: string }).error === undefined);
      expect(accepted.length).toBe(13);
      for (const r of readers) {
        const got = results[r.job]!;
        const want = r.expected as { error?: string; x?: number[][]; y?: { kind: string; data: number[] } };
        if (want.error !== undefined) {
          expect(got.rc, `${r.name}: dlc refuses (${want.error}), dlc_support read it`).toBe(2);
          // dlc's own words (src/io and the generated module share them), the place included.
          expect(got.error, r.name).toBe(want.error);
          expect(got.stderr + got.stdout, r.name).not.toMatch(/Traceback/);
          continue;
        }
        expect(got.rc, `${r.name}: ${got.error ?? got.stderr}`).toBe(0);
        expect(got.x!.map((t) => t.data), r.name).toEqual(want.x);
        if (want.y === undefined) expect(got.y, r.name).toBeNull();
        else {
          expect(got.y!.dtype, r.name).toBe(want.y.kind === "classes" ? "int64" : "float64");
          expect(got.y!.data, r.name).toEqual(want.y.data);
        }
      }
    });
  });
});

// ---- readers ---------------------------------------------------------------------------------

/** Data files in every format, good and bad, each read by dlc here and by dlc_support in the jobs. */
function prepareReaders(jobs: Job[], readers: { name: string; job: number; expected: unknown }[]): void {
  const dir = join(tmp, "readers");
  mkdirSync(dir, { recursive: true });
  const networks = {
    classes: net("input 2x2\nflatten\ndense 3 softmax") + train("cross_entropy", SGD),
    onehot: net("input 2x2\nflatten\ndense 3 softmax") + train("squared", SGD),
    tokens: net("input 4\nembedding 5 3\ndense 3 softmax") + train("cross_entropy", SGD),
    two: net("a: input 2\nb: input 3\nfrom a\nconcat b\ndense 2") + train("squared", SGD),
  };
  const projects: Record<string, { project: string; checked: ReturnType<typeof checkedOf> }> = {};
  for (const [name, text] of Object.entries(networks)) {
    const file = join(dir, `${name}.dl`);
    writeFileSync(file, text);
    const project = join(dir, `${name}-project`);
    quietly(() => expect(runExport(file, { to: "pytorch", output: project } as Parameters<typeof runExport>[1])).toBe(0));
    projects[name] = { project, checked: checkedOf(text) };
  }
  const idx = (type: number, dims: number[], values: number[]): Buffer => {
    const size = { 0x08: 1, 0x0d: 4, 0x0c: 4 }[type]!;
    const b = Buffer.alloc(4 + 4 * dims.length + values.length * size);
    b[2] = type;
    b[3] = dims.length;
    dims.forEach((d, i) => b.writeUInt32BE(d, 4 + 4 * i));
    values.forEach((v, i) => {
      const at = 4 + 4 * dims.length + i * size;
      if (type === 0x08) b[at] = v;
      else if (type === 0x0d) b.writeFloatBE(v, at);
      else b.writeInt32BE(v, at);
    });
    return b;
  };
  const images = idx(0x08, [3, 2, 2], [0, 255, 128, 7, 1, 2, 3, 4, 250, 251, 252, 253]);
  const labels = idx(0x08, [3], [2, 0, 1]);
  type File = { name: string; network: keyof typeof networks; content: string | Buffer; need?: boolean; labels?: string; extra?: Record<string, string | Buffer>; path?: string };
  const files: File[] = [
    { name: "classes.json", network: "classes", content: '{"x": [[[1, 2], [3, 4]], [[0.5, -1e-3], [7, 8e2]]], "y": [2, 0]}', need: true },
    { name: "onehot.json", network: "onehot", content: '{"x": [[[1, 2], [3, 4]], [[0.5, -1], [7, 8]]], "y": [2, 0]}', need: true },
    { name: "values-first.json", network: "onehot", content: '{"x": [[[1, 2], [3, 4]]], "y": [[0, 0.5, 1]]}', need: true },
    { name: "no-y.json", network: "classes", content: '{"x": [[[1, 2], [3, 4]]]}', need: false },
    { name: "bom-crlf.csv", network: "classes", content: "\ufeffa,b,c,d,label\r\n1,2,3,4,1\r\n\r\n5,6,7,8,2\r\n", need: true },
    { name: "plain.csv", network: "onehot", content: '1,2,3,4,0\n-5,"6",+7,.5e1,2\n', need: true },
    { name: "tokens.json", network: "tokens", content: '{"x": [[0, 1, 2, 4], [4, 3, 2, 1]], "y": [[0, 1, 2, 0], [2, 2, 1, 0]]}', need: true },
    { name: "two.json", network: "two", content: '{"x": {"a": [[1, 2]], "b": [[3, 4, 5]]}, "y": [[1, -1]]}', need: true },
    { name: "mnist-images-idx3-ubyte", network: "classes", content: images, need: true, extra: { "mnist-labels-idx1-ubyte": labels } },
    { name: "gz-images-idx3-ubyte.gz", network: "classes", content: gzipSync(images), need: true, extra: { "gz-labels-idx1-ubyte.gz": gzipSync(labels) } },
    { name: "pair-images.idx", network: "onehot", content: images, need: true, extra: { "pair-labels.idx": labels }, path: "PAIR" },
    { name: "floats-idx3", network: "classes", content: idx(0x0d, [2, 2, 2], [0.5, -1.25, 3, 4, 5, 6, 7, 8]), need: false },
    { name: "data.json.gz", network: "classes", content: gzipSync('{"x": [[[1, 2], [3, 4]]], "y": [1]}'), need: true },
    // Refused by dlc:
    { name: "nan.json", network: "classes", content: '{"x": [[[1, NaN], [3, 4]]], "y": [1]}', need: true },
    { name: "huge.json", network: "classes", content: '{"x": [[[1, 1e999], [3, 4]]], "y": [1]}', need: true },
    { name: "bool.json", network: "classes", content: '{"x": [[[1, true], [3, 4]]], "y": [1]}', need: true },
    { name: "ragged.json", network: "classes", content: '{"x": [[[1, 2], [3]]], "y": [1]}', need: true },
    { name: "class-range.json", network: "classes", content: '{"x": [[[1, 2], [3, 4]]], "y": [3]}', need: true },
    { name: "class-fraction.json", network: "classes", content: '{"x": [[[1, 2], [3, 4]]], "y": [0.5]}', need: true },
    { name: "mixed-targets.json", network: "onehot", content: '{"x": [[[1, 2], [3, 4]], [[1, 2], [3, 4]]], "y": [[0, 0, 1], 2]}', need: true },
    { name: "no-y-training.json", network: "classes", content: '{"x": [[[1, 2], [3, 4]]]}', need: true },
    { name: "trailing-comma.json", network: "classes", content: '{"x": [[[1, 2], [3, 4]],], "y": [1]}', need: true },
    { name: "inf.csv", network: "classes", content: "1,2,inf,4,1\n", need: true },
    { name: "hex.csv", network: "classes", content: "1,2,0x10,4,1\n", need: true },
    { name: "short-row.csv", network: "classes", content: "1,2,3,4,1\n1,2,3,1\n", need: true },
    { name: "no-label.csv", network: "classes", content: "1,2,3,4\n", need: true },
    { name: "latin1.csv", network: "classes", content: Buffer.from([0x61, 0xe9, 0x0a, 0x31, 0x0a]), need: true },
    { name: "tokens-bad.json", network: "tokens", content: '{"x": [[0, 1, 2, 5]], "y": [[0, 1, 2, 0]]}', need: true },
    { name: "tokens-fraction.json", network: "tokens", content: '{"x": [[0, 1.5, 2, 3]], "y": [[0, 1, 2, 0]]}', need: true },
    { name: "two-missing.json", network: "two", content: '{"x": {"a": [[1, 2]]}, "y": [[1, -1]]}', need: true },
    { name: "nan-idx3", network: "classes", content: idx(0x0d, [1, 2, 2], [0.5, NaN, 3, 4]), need: false },
    { name: "truncated-idx3", network: "classes", content: images.subarray(0, images.length - 2), need: false },
    { name: "lonely-images-idx3", network: "classes", content: images, need: true },
    { name: "garbage.json.gz", network: "classes", content: Buffer.from([0x1f, 0x8b, 8, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9]), need: true },
    { name: "empty.csv", network: "classes", content: "\n\n", need: true },
    { name: "missing.json", network: "classes", content: "", need: true, path: "MISSING" },
  ];
  for (const f of files) {
    const path = join(dir, f.name);
    if (f.path !== "MISSING") writeFileSync(path, f.content);
    for (const [name, content] of Object.entries(f.extra ?? {})) writeFileSync(join(dir, name), content);
    const dataPath = f.path === "PAIR" ? `${path},${join(dir, Object.keys(f.extra!)[0]!)}` : f.path === "MISSING" ? join(dir, "does-not-exist.json") : path;
    const { project, checked } = projects[f.network]!;
    let expected: unknown;
    try {
      const d = loadData(dataPath, dataSpecOf(checked.checked, { loss: checked.loss, needTargets: f.need }));
      const t = d.targets;
      expected = {
        x: d.inputs.map((i) => Array.from(i.data)),
        y: t === undefined ? undefined : { kind: t.kind, data: Array.from(t.data) },
      };
    } catch (e) {
      if (!(e instanceof Error) || e.name !== "DataError") throw e;
      expected = { error: e.message };
    }
    readers.push({ name: f.name, job: jobs.push({ kind: "read", dir: project, path: dataPath, need_targets: f.need ?? false }) - 1, expected });
  }
  expect(existsSync(dir)).toBe(true);
}
