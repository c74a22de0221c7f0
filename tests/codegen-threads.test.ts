/**
 * Modules compiled with `--threads S` (runtime/threads.ts): a batch split into S shards trained on
 * 1 … S threads. Any thread count must give bit-identical weights, the same as the interpreter
 * within the f32 tolerance, and mistakes must come back as the single-threaded module's errors.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { toJavaScript } from "../scripts/transpile.js";
import { seededRandom } from "../src/interp/random.js";
import { tensor, type Tensor } from "../src/interp/tensor.js";
import type { Targets } from "../src/interp/losses.js";
import { compileText, expectClose, interpreterStep, pair, tempDir, TOLERANCE, type Compiled, type CompiledModel } from "./helpers/compiled.js";
import { randomTensor } from "./helpers/gradcheck.js";

const root = fileURLToPath(new URL("..", import.meta.url));
/** Worker threads need Node ≥ 20.16 (process.getBuiltinModule); on an older Node 20 these tests say so and skip. */
const describeThreads = typeof (process as { getBuiltinModule?: unknown }).getBuiltinModule === "function" ? describe : describe.skip;
const opened: CompiledModel[] = [];
afterAll(async () => {
  await Promise.all(opened.map((m) => m.close?.()));
});

function model(c: Compiled, threads: number, maxBatch: number, seed = 1): CompiledModel {
  const m = new c.mod.Model({ maxBatch, seed, threads });
  opened.push(m);
  return m;
}

/** A model whose workers have started, so that trainStep runs on all `threads`. */
async function started(c: Compiled, threads: number, maxBatch: number, seed = 1): Promise<CompiledModel> {
  const m = model(c, threads, maxBatch, seed) as CompiledModel & { ready(): Promise<void> };
  await m.ready();
  return m;
}

/** How many threads the model's last trainStep ran on. */
function threadsUsed(m: CompiledModel): number {
  return (m as unknown as { shardThreads: { lastThreads: number } }).shardThreads.lastThreads;
}

interface Case {
  readonly name: string;
  readonly text: string;
  /** One sample's input shape (the first input; `more` for the others). */
  readonly shape: readonly number[];
  readonly more?: readonly { readonly shape: readonly number[]; readonly vocabulary?: number }[];
  /** Class targets per sample (cross_entropy), or values per sample (squared). */
  readonly targets: { readonly classes: number; readonly perSample: number } | { readonly values: readonly number[] };
  /** Token ids below this instead of random values. */
  readonly vocabulary?: number;
  readonly shards: number;
  readonly batch: number;
  /** Dropout: the interpreter draws from one generator, the shards from one each. */
  readonly random?: boolean;
}

const CASES: readonly Case[] = [
  { name: "dense relu → softmax, 3 shards, batch 7 (2 + 2 + 3 rows)", text: "input 20\ndense 16 relu\ndense 5 softmax\ntrain { loss cross_entropy }\n", shape: [20], targets: { classes: 5, perSample: 1 }, shards: 3, batch: 7 },
  { name: "conv, maxpool, avgpool, dense (squared loss)", text: "input 10x9x2\nconv 4 3x3 pad 1 relu\nmaxpool 2 stride 2\nconv 3 2x2 tanh\navgpool 2 stride 1\nflatten\ndense 3 sigmoid\ntrain { loss squared }\n", shape: [10, 9, 2], targets: { values: [3] }, shards: 2, batch: 6 },
  { name: "LeNet-5", text: readFileSync(join(root, "examples", "lenet5.dl"), "utf8"), shape: [28, 28, 1], targets: { classes: 10, perSample: 1 }, shards: 2, batch: 5 },
  { name: "embedding → LSTM sequences → per-step softmax", text: "input 7\nembedding 11 6\nlstm 8 sequences\ndense 4 softmax\ntrain { loss cross_entropy }\n", shape: [7], vocabulary: 11, targets: { classes: 4, perSample: 7 }, shards: 2, batch: 5 },
  { name: "bidirectional 2-layer GRU", text: "input 6x4\ngru 5 bidirectional layers 2 sequences\nflatten\ndense 3 softmax\ntrain { loss cross_entropy }\n", shape: [6, 4], targets: { classes: 3, perSample: 1 }, shards: 4, batch: 9 },
  {
    name: "two inputs: conv, pools (ceil, pad), upsample, globalavgpool, embedding, layernorm, add, concat",
    text: "network everything {\n  img: input 6x6x2\n  ids: input 5\n  from img\n  conv 7 3x3 pad same relu\n  maxpool 2 ceil\n  upsample 2\n  minpool 3 stride 2 pad 1\n  avgpool 2 pad 1\n  conv 2 1x1\n  pooled: globalavgpool\n  from ids\n  embedding 7 3\n  layernorm\n  flatten\n  e: dense 2\n  add pooled e\n  concat e\n  dense 2 softmax\n}\ntrain { loss cross_entropy }\n",
    shape: [6, 6, 2],
    more: [{ shape: [5], vocabulary: 7 }],
    targets: { classes: 2, perSample: 1 },
    shards: 3,
    batch: 8,
  },
  {
    name: "batchnorm (statistics over every shard), conv, residual add, 3 shards, batch 7",
    text: "network r {\n  input 6x6x2\n  conv 4 3x3 pad same\n  batchnorm\n  a: relu\n  conv 4 3x3 pad same\n  batchnorm\n  add a\n  relu\n  globalavgpool\n  dense 8\n  batchnorm\n  relu\n  dense 3 softmax\n}\ntrain { loss cross_entropy }\n",
    shape: [6, 6, 2],
    targets: { classes: 3, perSample: 1 },
    shards: 3,
    batch: 7,
  },
  { name: "rnn and GRU sequences into attention", text: "network s {\n  input 4x3\n  rnn 3 sequences\n  enc: gru 3 sequences\n  attention enc bilinear\n  dense 2\n}\ntrain { loss squared }\n", shape: [4, 3], targets: { values: [4, 2] }, shards: 2, batch: 5 },
  { name: "dropout (each shard its own generator)", text: "input 12\ndense 10 relu\ndropout 0.5\ndense 3 softmax\ntrain { loss cross_entropy }\n", shape: [12], targets: { classes: 3, perSample: 1 }, shards: 2, batch: 8, random: true },
];

function inputsOf(c: Case, n: number, seed: number): Tensor[] {
  return [{ shape: c.shape, vocabulary: c.vocabulary }, ...(c.more ?? [])].map(({ shape, vocabulary }, k) => {
    if (vocabulary === undefined) return randomTensor([n, ...shape], seed + 100 * k);
    const r = seededRandom(seed + 100 * k);
    return tensor([n, ...shape], Array.from({ length: n * shape.reduce((a, b) => a * b, 1) }, () => Math.floor(r() * vocabulary)));
  });
}

function targetsOf(c: Case, n: number, seed: number): { flat: number[]; targets: Targets } {
  const r = seededRandom(seed);
  if ("classes" in c.targets) {
    const flat = Array.from({ length: n * c.targets.perSample }, () => Math.floor(r() * (c.targets as { classes: number }).classes));
    return { flat, targets: { kind: "classes", indices: Int32Array.from(flat) } };
  }
  const t = randomTensor([n, ...c.targets.values], seed);
  return { flat: Array.from(t.data), targets: { kind: "values", tensor: t } };
}

/** Three training steps (a short last batch among them) on `threads` threads; the weights after. */
async function train(c: Case, compiled: Compiled, threads: number): Promise<Float32Array | Float64Array> {
  const m = await started(compiled, threads, c.batch);
  expect(m.threads).toBe(threads);
  for (const [step, n] of [c.batch, c.batch, c.batch - 2].entries()) {
    const x = inputsOf(c, n, 20 + step);
    const loss = m.trainStep(x.map((t) => t.data), targetsOf(c, n, 30 + step).flat, n);
    expect(Number.isFinite(loss)).toBe(true);
  }
  expect(threadsUsed(m)).toBe(threads);
  return m.w.slice();
}

describeThreads("--threads: the same weights for any thread count", () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const compiled = await compileText(c.text, "f32", { threads: c.shards });
      const one = await train(c, compiled, 1);
      for (let t = 2; t <= c.shards; t++) {
        const many = await train(c, compiled, t);
        const differ = one.findIndex((v, i) => !Object.is(v, many[i]));
        expect(differ, `${t} threads: first differing weight`).toBe(-1);
      }
    });
  }
});

describeThreads("--threads: one step matches the interpreter (f32 tolerance)", () => {
  for (const c of CASES.filter((x) => !x.random)) {
    it(c.name, async () => {
      const compiled = await compileText(c.text, "f32", { threads: c.shards });
      const n = c.batch;
      const { interp } = pair(compiled, { maxBatch: n, initSeed: 7 });
      const m = await started(compiled, c.shards, n);
      for (const [name, t] of interp.namedWeights()) m.setWeight(name, t.data);
      m.loss = "classes" in c.targets ? "cross_entropy" : "squared";
      const x = inputsOf(c, n, 5);
      const t = targetsOf(c, n, 6);
      const expected = interpreterStep(interp, x, t.targets, m.loss, 0.01, seededRandom(1));
      const loss = m.trainStep(x.map((i) => i.data), t.flat, n, 0.01);
      expect(Math.abs(loss - expected.loss)).toBeLessThanOrEqual(TOLERANCE.f32 * Math.max(1, Math.abs(expected.loss)));
      for (const [name, w] of interp.namedWeights()) expectClose(m.getWeight(name)!.data, w.data, TOLERANCE.f32, name);
    });
  }
});

describeThreads("--threads: every example (smaller inputs), same weights on 1 and 2 threads", () => {
  interface Example {
    readonly file: string;
    /** --input for the first input, where the file's is large. */
    readonly input?: readonly number[];
    /** Token-id inputs: their vocabulary, in input order (undefined: random values). */
    readonly vocabularies?: readonly (number | undefined)[];
    /** Class-index targets (classes per position), or 0/1 values (binary cross-entropy, squared). */
    readonly classes: number;
  }
  const examples: readonly Example[] = [
    { file: "seed.dl", classes: 0 },
    { file: "lenet5.dl", classes: 10 },
    { file: "alexnet.dl", input: [64, 64, 3], classes: 1000 },
    { file: "vgg16.dl", input: [32, 32, 3], classes: 1000 },
    { file: "resnet18.dl", input: [32, 32, 3], classes: 1000 },
    { file: "resnet50.dl", input: [32, 32, 3], classes: 1000 },
    { file: "googlenet.dl", input: [32, 32, 3], classes: 1000 },
    { file: "unet.dl", input: [16, 16, 1], classes: 0 },
    { file: "char_lstm.dl", input: [6], vocabularies: [96], classes: 96 },
    { file: "gru_tagger.dl", input: [6], vocabularies: [10000], classes: 17 },
    { file: "seq2seq_attention.dl", input: [5], vocabularies: [8000, 6000], classes: 6000 },
  ];
  for (const e of examples) {
    it(`${e.file}${e.input ? ` (--input ${e.input.join("x")})` : ""}, two steps of batch 3`, async () => {
      const compiled = await compileText(readFileSync(join(root, "examples", e.file), "utf8"), "f32", { threads: 2, inputShape: e.input });
      const network = compiled.mod.NETWORK as unknown as { inputs: readonly { shape: readonly number[] }[] };
      const inputs = network.inputs.map((i) => i.shape.reduce((a, b) => a * b, 1));
      const out = compiled.mod.NETWORK.output.reduce((a, b) => a * b, 1);
      const positions = e.classes > 0 ? out / e.classes : out;
      const run = async (threads: number) => {
        const m = await started(compiled, threads, 3);
        for (let step = 0; step < 2; step++) {
          const xs = inputs.map((size, k) => {
            const vocabulary = e.vocabularies?.[k];
            const values = randomTensor([3 * size], 30 + step + 10 * k).data;
            return vocabulary === undefined ? values : Array.from(values, (v) => Math.floor(((v + 1) / 2) * vocabulary) % vocabulary);
          });
          const targets = e.classes > 0 ? Array.from({ length: 3 * positions }, (_, i) => (i * 7 + step) % e.classes) : Array.from(randomTensor([3 * out], 40 + step).data, (v) => (v > 0 ? 1 : 0));
          expect(Number.isFinite(m.trainStep(xs, targets, 3))).toBe(true);
        }
        expect(threadsUsed(m)).toBe(threads);
        return m.w.slice();
      };
      const one = await run(1);
      const differ = (await run(2)).findIndex((v, i) => !Object.is(v, one[i]));
      expect(differ, "first differing weight").toBe(-1);
    }, 120_000);
  }
});

describeThreads("--threads: examples with batchnorm match the interpreter after one step (f32 tolerance, 2 threads; dropout left out)", () => {
  // Not googlenet.dl: at 32x32, batch 3, its one-step result is too sensitive for float32 (even
  // the interpreter on float32-rounded weights and input misses the tolerance 2.6×);
  // tests/codegen-googlenet.test.ts checks it at 96x96. Its threads are checked for identity above.
  const examples: readonly [string, readonly number[]][] = [
    ["resnet18.dl", [32, 32, 3]],
    ["unet.dl", [16, 16, 1]],
  ];
  for (const [file, shape] of examples) {
    it(`${file} (--input ${shape.join("x")}), batch 3`, async () => {
      // Dropout draws per shard, the interpreter from one stream: the parity step leaves it out.
      const text = readFileSync(join(root, "examples", file), "utf8").replace(/^\s*dropout [0-9.]+\n/m, "");
      const compiled = await compileText(text, "f32", { threads: 2, inputShape: shape });
      const loss = compiled.train!.loss!;
      const n = 3;
      const { interp } = pair(compiled, { maxBatch: n, initSeed: 7 });
      const m = await started(compiled, 2, n);
      for (const [name, t] of interp.namedWeights()) m.setWeight(name, t.data);
      // The parity step is plain SGD, as interpreterStep's.
      m.optimizer = { ...m.optimizer, kind: "sgd", momentum: 0 };
      const x = randomTensor([n, ...shape], 5);
      const outShape = compiled.mod.NETWORK.output;
      const targets: Targets =
        loss === "cross_entropy" ? { kind: "classes", indices: Int32Array.from([1, 7, 3]) } : { kind: "values", tensor: tensor([n, ...outShape], Array.from(randomTensor([n, ...outShape], 6).data, (v) => (v > 0 ? 1 : 0))) };
      const flat = targets.kind === "classes" ? Array.from(targets.indices) : Array.from(targets.tensor.data);
      const expected = interpreterStep(interp, [x], targets, loss, 0.01, seededRandom(1));
      const got = m.trainStep([x.data], flat, n, 0.01);
      expect(threadsUsed(m)).toBe(2);
      expect(Math.abs(got - expected.loss)).toBeLessThanOrEqual(TOLERANCE.f32 * Math.max(1, Math.abs(expected.loss)));
      for (const [name, w] of interp.namedWeights()) expectClose(m.getWeight(name)!.data, w.data, TOLERANCE.f32, name);
    }, 120_000);
  }
});

describeThreads("--threads: the optimizers step each thread's slice of the weights", () => {
  for (const optimizer of ["adam lr 0.01", "sgd lr 0.1 momentum 0.9"]) {
    it(`${optimizer}: same weights for 1 and 3 threads, and as the build without threads (f32 tolerance)`, async () => {
      const text = `input 9\ndense 37 relu\ndense 3 softmax\ntrain {\n  loss cross_entropy\n  optimizer ${optimizer}\n}\n`;
      const threaded = await compileText(text, "f32", { threads: 3 });
      const plain = await compileText(text, "f32");
      const run = (m: CompiledModel) => {
        for (let step = 0; step < 4; step++) m.trainStep([randomTensor([7, 9], step).data], [0, 1, 2, 0, 1, 2, 2], 7);
        return m.w.slice();
      };
      const one = run(model(threaded, 1, 7));
      const three = await started(threaded, 3, 7);
      expect(run(three)).toEqual(one);
      expect(threadsUsed(three)).toBe(3);
      expectClose(one, run(new plain.mod.Model({ maxBatch: 7, seed: 1 })), TOLERANCE.f32, optimizer);
    });
  }
});

describeThreads("--threads: batches smaller than the shards, fit, options and errors", () => {
  const text = "input 6\ndense 5 tanh\ndense 3 softmax\ntrain { loss cross_entropy }\n";

  it("a batch of 1 or 2 on 4 shards (empty shards) trains as on one thread", async () => {
    const compiled = await compileText(text, "f32", { threads: 4 });
    const run = async (threads: number) => {
      const m = await started(compiled, threads, 8);
      for (const n of [1, 2, 3, 8]) m.trainStep([randomTensor([n, 6], n).data], Array.from({ length: n }, (_, i) => i % 3), n);
      expect(threadsUsed(m)).toBe(threads);
      return m.w.slice();
    };
    const one = await run(1);
    expect(await run(4)).toEqual(one);
    expect(await run(3)).toEqual(one);
  });

  it("fit gives the same weights and losses on 1 and 2 threads", async () => {
    const compiled = await compileText(text, "f32", { threads: 2 });
    const mod = compiled.mod as unknown as { readData(d: { x: number[][]; y: number[] }): unknown; fit(m: CompiledModel, d: unknown, o?: object): Promise<{ status: string; epochs: { loss: number }[] }> };
    const r = seededRandom(3);
    const data = mod.readData({ x: Array.from({ length: 23 }, () => Array.from({ length: 6 }, () => r() * 2 - 1)), y: Array.from({ length: 23 }, (_, i) => i % 3) });
    const outcomes = [];
    for (const threads of [1, 2]) {
      const m = await started(compiled, threads, 5);
      const outcome = await mod.fit(m, data, { epochs: 3, batch: 5 } as object);
      outcomes.push({ outcome, w: m.w.slice() });
    }
    expect(outcomes[0]!.outcome.status).toBe("done");
    expect(outcomes[1]!.outcome.epochs.map((e) => e.loss)).toEqual(outcomes[0]!.outcome.epochs.map((e) => e.loss));
    expect(outcomes[1]!.w).toEqual(outcomes[0]!.w);
  });

  it("fit's guard: an update that makes a weight infinite is undone and named, on one thread or two", async () => {
    const text = "input 1\ndense 1\ntrain {\n  loss squared\n  optimizer sgd lr 1e30\n}\n";
    for (const options of [{}, { threads: 2 }]) {
      const compiled = await compileText(text, "f32", options);
      const mod = compiled.mod as unknown as { readData(d: { x: number[][]; y: number[][] }): unknown; fit(m: CompiledModel, d: unknown, o?: object): Promise<{ status: string; weight?: string; loss?: number }> };
      const m = options.threads ? await started(compiled, 2, 4) : new compiled.mod.Model({ maxBatch: 4, seed: 1 });
      const before = m.w.slice();
      // The loss (½·(w·1e18)², about 1e35) is finite; the update 1e30·1e36 overflows float32.
      const outcome = await mod.fit(m, mod.readData({ x: [[1e18], [1e18], [1e18], [1e18]], y: [[0], [0], [0], [0]] }), { epochs: 1, batch: 4 });
      expect(outcome.status).toBe("diverged");
      expect(Number.isFinite(outcome.loss)).toBe(true);
      expect(outcome.weight).toBe("dense1.kernel");
      expect(m.w).toEqual(before);
    }
  });

  it("rejects a thread count outside 1 … shards, and reports the threads in use", async () => {
    const compiled = await compileText(text, "f32", { threads: 2 });
    expect(() => model(compiled, 3, 4)).toThrow(/threads must be a whole number from 1 to 2 .*got 3/);
    expect(() => model(compiled, 0, 4)).toThrow(RangeError);
    expect(model(compiled, 2, 4).threads).toBe(2);
    const byDefault = new compiled.mod.Model({ maxBatch: 4 });
    opened.push(byDefault);
    expect(byDefault.threads).toBeGreaterThanOrEqual(1);
    expect(byDefault.threads).toBeLessThanOrEqual(2);
  });

  it("wrong targets and bad class indices throw the single-threaded messages, from any thread", async () => {
    const compiled = await compileText(text, "f32", { threads: 2 });
    const plain = await compileText(text, "f32");
    const threaded = await started(compiled, 2, 4);
    const single = new plain.mod.Model({ maxBatch: 4 });
    const x = randomTensor([4, 6], 1).data;
    for (const targets of [[0, 1, 2], [0, 1, 2, 5], [0, 1.5, 2, 1], [0, 1, 2, -1]]) {
      let expected = "";
      try {
        single.trainStep([x], targets, 4);
      } catch (e) {
        expected = (e as Error).message;
      }
      expect(expected).not.toBe("");
      expect(() => threaded.trainStep([x], targets, 4)).toThrow(expected);
    }
    expect(() => threaded.trainStep([x.subarray(0, 10)], [0, 1, 2, 0], 4)).toThrow("input 0: expected 24 values, got 10");
    // An error inside a worker's shard (a token id the embedding rejects, in the batch's last row).
    const tokens = "input 3\nembedding 5 2\nflatten\ndense 2 softmax\ntrain { loss cross_entropy }\n";
    const tokenModels = [new (await compileText(tokens, "f32")).mod.Model({ maxBatch: 4 }), await started(await compileText(tokens, "f32", { threads: 2 }), 2, 4)];
    const ids = [0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0, 7];
    const messages = tokenModels.map((m) => {
      try {
        m.trainStep([ids], [0, 1, 0, 1], 4);
      } catch (e) {
        return `${(e as Error).name}: ${(e as Error).message}`;
      }
      return "no error";
    });
    expect(messages[0]).toBe("RangeError: embedding: token id 7 at sample 3, position 2 (counting from 0) is outside the vocabulary 0…4");
    expect(messages[1]).toBe(messages[0]);
    expect(threadsUsed(tokenModels[1]!)).toBe(2);
    expect(Number.isFinite(tokenModels[1]!.trainStep([ids.map((i) => i % 5)], [0, 1, 0, 1], 4))).toBe(true);
    // The model still trains after the errors.
    expect(Number.isFinite(threaded.trainStep([x], [0, 1, 2, 0], 4))).toBe(true);
  });

  it("without Node's worker_threads (as in a browser) it trains on one thread, says why once, and gets the same weights", async () => {
    const compiled = await compileText(text, "f32", { threads: 2 });
    const file = join(tempDir(), "threads-no-node.mjs");
    writeFileSync(file, await toJavaScript(compiled.code));
    const script = `
      delete globalThis.process; delete globalThis.setImmediate;
      const m = await import(${JSON.stringify(pathToFileURL(file).href)});
      const model = new m.Model({ maxBatch: 4, threads: 2, seed: 4 });
      new m.Model({ maxBatch: 4, threads: 2 });
      const x = Array.from({ length: 24 }, (_, i) => Math.sin(i));
      model.trainStep([x], [0, 1, 2, 0], 4);
      console.log(JSON.stringify({ threads: model.threads, w: Array.from(model.w) }));`;
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" });
    expect(r.stderr).toBe("this JavaScript environment has no worker threads (Node's worker_threads or Web Workers); training on one thread\n");
    const out = JSON.parse(r.stdout) as { threads: number; w: number[] };
    expect(out.threads).toBe(1);
    const m = model(compiled, 2, 4, 4);
    m.trainStep([Array.from({ length: 24 }, (_, i) => Math.sin(i))], [0, 1, 2, 0], 4);
    expect(out.w).toEqual(Array.from(m.w));
  });

  it("trains before its workers have started (this thread runs every shard), then on them: the same weights, dropout included", async () => {
    const dropout = "input 12\ndense 10 relu\ndropout 0.5\ndense 3 softmax\ntrain { loss cross_entropy }\n";
    const compiled = await compileText(dropout, "f32", { threads: 2 });
    const steps = async (m: CompiledModel & { ready?(): Promise<void> }, waitAfter: number) => {
      for (let step = 0; step < 6; step++) {
        if (step === waitAfter) await m.ready!();
        m.trainStep([randomTensor([8, 12], step).data], [0, 1, 2, 0, 1, 2, 0, 1], 8);
      }
      return m.w.slice();
    };
    const one = await steps(model(compiled, 1, 8), 0);
    // The first two batches run before the worker has loaded the module (it cannot in the
    // synchronous steps), the rest on both threads: each shard's dropout stream carries on.
    const two = model(compiled, 2, 8);
    expect(await steps(two, 2)).toEqual(one);
    expect(threadsUsed(two)).toBe(2);
  });

  it("without WebAssembly (node --jitless) the threads share a SharedArrayBuffer and run the JS kernels, with the same weights", async () => {
    const compiled = await compileText(text, "f32", { threads: 2 });
    const file = join(tempDir(), "threads-jitless.mjs");
    writeFileSync(file, await toJavaScript(compiled.code));
    const script = `
      const m = await import(${JSON.stringify(pathToFileURL(file).href)});
      const out = [];
      for (const threads of [1, 2]) {
        const model = new m.Model({ maxBatch: 5, seed: 2, threads });
        await model.ready();
        for (let s = 0; s < 3; s++) model.trainStep([Array.from({ length: 30 }, (_, i) => Math.sin(i + s))], [0, 1, 2, 0, 1], 5);
        out.push({ kernels: model.kernels, used: model.shardThreads.lastThreads, w: Array.from(model.w) });
        await model.close();
      }
      console.log(JSON.stringify(out));`;
    const r = spawnSync(process.execPath, ["--jitless", "--input-type=module", "-e", script], { encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
    const [one, two] = JSON.parse(r.stdout) as { kernels: string; used: number; w: number[] }[];
    expect([one!.kernels, two!.kernels, two!.used]).toEqual(["js", "js", 2]);
    expect(two!.w).toEqual(one!.w);
  });

  it.skipIf(!existsSync("/proc/self/task"))("a model that is garbage collected without close() takes its workers with it", async () => {
    const compiled = await compileText(text, "f32", { threads: 2 });
    const file = join(tempDir(), "threads-gc.mjs");
    writeFileSync(file, await toJavaScript(compiled.code));
    const script = `
      import { readdirSync } from "node:fs";
      const m = await import(${JSON.stringify(pathToFileURL(file).href)});
      const threads = () => readdirSync("/proc/self/task").length;
      const before = threads();
      async function train() {
        const model = new m.Model({ maxBatch: 4, threads: 2 });
        await model.ready();
        model.trainStep([Array.from({ length: 24 }, Math.sin)], [0, 1, 2, 0], 4);
      }
      for (let i = 0; i < 6; i++) await train();
      const peak = threads();
      for (let i = 0; i < 40 && threads() > before + 1; i++) { globalThis.gc(); await new Promise((r) => setTimeout(r, 25)); }
      console.log(JSON.stringify({ before, peak, after: threads() }));`;
    const r = spawnSync(process.execPath, ["--expose-gc", "--input-type=module", "-e", script], { encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
    const t = JSON.parse(r.stdout) as { before: number; peak: number; after: number };
    expect(t.peak).toBeGreaterThanOrEqual(t.before + 6);
    // At most the last model's worker may still be reachable.
    expect(t.after).toBeLessThanOrEqual(t.before + 1);
  });

  it("close() stops the workers; training afterwards says so", async () => {
    const compiled = await compileText(text, "f32", { threads: 2 });
    const m = await started(compiled, 2, 4);
    m.trainStep([randomTensor([4, 6], 1).data], [0, 1, 2, 0], 4);
    expect(threadsUsed(m)).toBe(2);
    await m.close!();
    expect(() => m.trainStep([randomTensor([4, 6], 1).data], [0, 1, 2, 0], 4)).toThrow(/closed/);
    expect(m.predict([randomTensor([2, 6], 1).data], 2).length).toBe(6);
  });
});

describeThreads("--threads: the generated TypeScript", () => {
  it("type-checks under strict with no DOM or Node types (conv and pool; embedding, LSTM and dropout)", async () => {
    const ts = (await import("typescript")).default;
    const texts = ["input 6x5x1\nconv 3 3x3 pad 1 relu\nmaxpool 2\nflatten\ndense 3 softmax\ntrain { loss cross_entropy }\n", "input 5\nembedding 9 4\nlstm 4\ndropout 0.2\ndense 3 softmax\ntrain { loss cross_entropy }\n"];
    for (const [i, text] of texts.entries()) {
      const c = await compileText(text, "f32", { threads: 3 });
      const file = join(tempDir(), `threads-typecheck-${i}.ts`);
      writeFileSync(file, c.code);
      const program = ts.createProgram([file], { strict: true, noEmit: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ES2022, lib: ["lib.es2022.d.ts"], types: [] });
      const messages = ts.getPreEmitDiagnostics(program).map((d) => {
        const where = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start) : undefined;
        return `${where ? `${where.line + 1}:${where.character + 1} ` : ""}${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`;
      });
      expect(messages).toEqual([]);
    }
  }, 60_000);
});

describeThreads("--threads on the command lines", () => {
  const dlc = join(root, "bin", "dlc");
  const node = process.execPath;

  it("dlc compile refuses f64 and JS kernels with --threads", () => {
    for (const extra of [["--precision", "f64"], ["--kernels", "js"]]) {
      const u = spawnSync(node, [dlc, "compile", join(root, "examples", "seed.dl"), "--threads", "2", ...extra, "-o", join(tempDir(), "x.mjs")], { encoding: "utf8" });
      expect(u.status).toBe(2);
      expect(u.stderr).toContain("--threads 2 needs the WebAssembly kernels");
    }
  });

  it("the generated trainer's train --threads: identical saved weights for 1 and 2 threads; too many is a usage error", () => {
    const out = join(tempDir(), "mlp-threads.mjs");
    const data = join(tempDir(), "mlp-threads-data.json");
    const r = seededRandom(5);
    writeFileSync(data, JSON.stringify({ x: Array.from({ length: 40 }, () => Array.from({ length: 6 }, () => r() * 2 - 1)), y: Array.from({ length: 40 }, (_, i) => i % 3) }));
    const dl = join(tempDir(), "mlp-threads.dl");
    writeFileSync(dl, "input 6\ndense 5 relu\ndense 3 softmax\ntrain {\n  loss cross_entropy\n  batch 8\n  epochs 3\n}\n");
    const c = spawnSync(node, [dlc, "compile", dl, "--threads", "2", "--json", "-o", out], { encoding: "utf8" });
    expect(c.status, c.stderr).toBe(0);
    expect(JSON.parse(c.stdout).threads).toBe(2);
    const saved: string[] = [];
    for (const threads of ["1", "2"]) {
      const save = join(tempDir(), `mlp-threads-${threads}.json`);
      const t = spawnSync(node, [out, "train", "--data", data, "--threads", threads, "--save", save], { encoding: "utf8" });
      expect(t.status, t.stderr).toBe(0);
      saved.push(readFileSync(save, "utf8"));
    }
    expect(saved[1]).toBe(saved[0]);
    const bad = spawnSync(node, [out, "train", "--data", data, "--threads", "3"], { encoding: "utf8" });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("--threads 3: this module was compiled for at most 2 threads");
  });
});
