// The generated module's runtime (src/codegen/runtime): weights and data files, `fit`, and its own
// command line (`node net.mjs run|train …`), end to end through `node bin/dlc compile` (built by
// `npm test`'s pretest `tsc`). The homework numbers are shared/seed-cases.json's homework_q3
// (recomputed there in float64 with PyTorch and NumPy); everything else is checked against dlc
// itself — the float64 interpreter, written separately — which the module must match. (The file
// readers are one implementation, the runtime's, which dlc uses too: tests/io.test.ts.)
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { analyze } from "../src/index.js";
import { expectedWeights } from "../src/io/weight-names.js";
import { csvDataset, jsonDataset } from "../src/codegen/runtime/data.js";
import { inlineRuntimeFile } from "../src/codegen/runtime/inline.js";
import { decodeSafetensors } from "../src/codegen/runtime/safetensors.js";
import { checkWeights } from "../src/codegen/runtime/weights.js";
import { loadSeedCases, seedCasesPath } from "./helpers/seed-cases.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const BIN = join(ROOT, "bin", "dlc");
const TSC = join(ROOT, "node_modules", "typescript", "bin", "tsc");
const SEED_DL = join(ROOT, "examples", "seed.dl");
const MNIST_TEST = join(ROOT, "examples", "data", "mnist-test-images.idx3-ubyte.gz");

type Nested = number | Nested[];

interface HomeworkCase {
  readonly expected: { readonly forward: { readonly a8: number; readonly loss_squared: number } };
  readonly dlc: {
    readonly weights: Record<string, Nested>;
    readonly data: { readonly x: number[][]; readonly y: number[][] };
    readonly expectedUpdated_squared: Record<string, Nested>;
  };
}

const homework = loadSeedCases().find((c) => c.id === "homework_q3") as unknown as HomeworkCase;

const dir = mkdtempSync(join(tmpdir(), "dlc-runtime-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const tmp = (name: string): string => join(dir, name);

/** Files every test may use: the homework data and weights, and the seed network compiled (f64). */
const SEED_DATA = tmp("seed.json");
const SEED_WEIGHTS = tmp("seed-weights.json");
const SEED_MJS = tmp("seed.mjs");
const SEED_TS = tmp("seed.ts");

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function node(args: readonly string[]): Run {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: "1" };
  delete env.FORCE_COLOR;
  delete env.DLC_DEBUG;
  const r = spawnSync(process.execPath, args, { cwd: dir, env, encoding: "utf8" });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const dlc = (args: readonly string[]): Run => node([BIN, ...args]);
/** `node seed.mjs ARGS`: the compiled module as a program. */
const seed = (args: readonly string[]): Run => node([SEED_MJS, ...args]);

function compile(dl: string, out: string, precision: "f32" | "f64" = "f64"): void {
  const r = dlc(["compile", dl, "-o", out, "--precision", precision]);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
}

function flat(v: Nested): number[] {
  return Array.isArray(v) ? v.flatMap(flat) : [v];
}

/** Same names, same shapes (nesting), every value within `tol` (relative to max(1, |expected|)). */
function expectWeightsClose(actual: Record<string, Nested>, expected: Record<string, Nested>, tol: number): void {
  expect(Object.keys(actual)).toEqual(Object.keys(expected));
  for (const [name, e] of Object.entries(expected)) {
    expect(JSON.stringify(actual[name]).replace(/[^[\],]/g, ""), `${name}'s nesting`).toBe(JSON.stringify(e).replace(/[^[\],]/g, ""));
    const a = flat(actual[name]!);
    flat(e).forEach((x, i) => expect(Math.abs(a[i]! - x) / Math.max(1, Math.abs(x)), `${name}[${i}]: ${a[i]} vs ${x}`).toBeLessThanOrEqual(tol));
  }
}

const readJson = (path: string): Record<string, Nested> => JSON.parse(readFileSync(path, "utf8")) as Record<string, Nested>;

beforeAll(() => {
  writeFileSync(SEED_DATA, JSON.stringify(homework.dlc.data));
  writeFileSync(SEED_WEIGHTS, JSON.stringify(homework.dlc.weights));
  compile(SEED_DL, SEED_MJS);
  compile(SEED_DL, SEED_TS);
});

describe("node seed.mjs train / run: the homework step, as dlc takes it", () => {
  it("one SGD step saves the case's updated weights (1e-12), the same as dlc train --interpret saves", () => {
    const out = tmp("step-module.json");
    const run = seed(["train", "--data", SEED_DATA, "--weights", SEED_WEIGHTS, "--batch", "1", "--epochs", "1", "--save", out]);
    expect(run.stderr).toContain(`saved weights to ${out}`);
    expect(run.code, run.stderr).toBe(0);
    expectWeightsClose(readJson(out), homework.dlc.expectedUpdated_squared, 1e-12);
    const reference = tmp("step-dlc.json");
    expect(dlc(["train", SEED_DL, "--interpret", "--data", SEED_DATA, "--weights", SEED_WEIGHTS, "--batch", "1", "--epochs", "1", "--save", reference]).code).toBe(0);
    expectWeightsClose(readJson(out), readJson(reference), 1e-12);
  });

  it("--json prints one epoch line with the case's loss; without it, dlc's human line", () => {
    const json = seed(["train", "--data", SEED_DATA, "--weights", SEED_WEIGHTS, "--json"]);
    expect(json.code).toBe(0);
    expect(json.stderr).toBe("");
    const lines = json.stdout.trim().split("\n").map((l) => JSON.parse(l) as Record<string, number>);
    expect(lines).toHaveLength(1);
    // lr is always there (issue 14): without a schedule, the train block's rate (seed.dl: 0.7).
    expect(Object.keys(lines[0]!)).toEqual(["epoch", "loss", "lr", "samples", "seconds", "samplesPerSecond"]);
    expect(lines[0]!.lr).toBe(0.7);
    expect(lines[0]!.epoch).toBe(1);
    expect(lines[0]!.samples).toBe(1);
    expect(Math.abs(lines[0]!.loss! - homework.expected.forward.loss_squared)).toBeLessThan(1e-12);
    const human = seed(["train", "--data", SEED_DATA, "--weights", SEED_WEIGHTS]);
    expect(human.stdout).toMatch(/^epoch 1\/1 {2}loss 0\.033609 {2}\d+ samples\/s {2}\d+\.\d\d s\n$/);
  });

  it("run --json prints the network's output a8 and equals dlc run --json; the plain form matches too", () => {
    const mine = seed(["run", "--weights", SEED_WEIGHTS, "--data", SEED_DATA, "--json"]);
    const theirs = dlc(["run", SEED_DL, "--weights", SEED_WEIGHTS, "--data", SEED_DATA, "--json", "--interpret"]);
    expect(mine.code).toBe(0);
    expect(mine.stderr).toBe("");
    const a = JSON.parse(mine.stdout) as { outputs: number[][] };
    const b = JSON.parse(theirs.stdout) as { outputs: number[][] };
    expect(Object.keys(a)).toEqual(["outputs"]);
    expect(a.outputs).toHaveLength(1);
    expect(a.outputs[0]).toHaveLength(1);
    expect(Math.abs(a.outputs[0]![0]! - homework.expected.forward.a8)).toBeLessThan(1e-12);
    expect(Math.abs(a.outputs[0]![0]! - b.outputs[0]![0]!)).toBeLessThan(1e-12);
    expect(seed(["run", "--weights", SEED_WEIGHTS, "--data", SEED_DATA]).stdout).toMatch(/^0: \[0\.7407352038242\d*\]\n$/);
  });

  it("shuffled mini-batches from a seed (no initial weights): the same losses and weights as dlc train --interpret", () => {
    const xs = Array.from({ length: 7 }, (_, i) => [Math.sin(i + 1), Math.cos(2 * i), (i % 3) - 1]);
    const data = tmp("seven.json");
    writeFileSync(data, JSON.stringify({ x: xs, y: xs.map((x) => [x[0]! > 0 ? 1 : 0]) }));
    const args = ["--data", data, "--batch", "3", "--epochs", "3", "--seed", "5", "--lr", "0.3", "--json"];
    const mine = seed(["train", ...args, "--save", tmp("seven-module.json")]);
    const theirs = dlc(["train", SEED_DL, "--interpret", ...args, "--save", tmp("seven-dlc.json")]);
    expect(mine.code, mine.stderr).toBe(0);
    expect(theirs.code, theirs.stderr).toBe(0);
    const losses = (r: Run): number[] => r.stdout.trim().split("\n").map((l) => (JSON.parse(l) as { loss: number }).loss);
    expect(losses(mine)).toHaveLength(3);
    losses(mine).forEach((l, i) => expect(Math.abs(l - losses(theirs)[i]!)).toBeLessThan(1e-12));
    expectWeightsClose(readJson(tmp("seven-module.json")), readJson(tmp("seven-dlc.json")), 1e-12);
  });
});

describe("bad files and bad flags: dlc's messages and exit codes", () => {
  /** stderr with the program's name at the front of a line made the same. */
  const same = (text: string): string => text.replace(/^(dlc|seed\.mjs): /gm, "PROGRAM: ");

  beforeAll(() => {
    writeFileSync(tmp("malformed.json"), '{"x": [[9, 2, 7],\n  [1, 2, 3]\n}');
    writeFileSync(tmp("wrong-sample.json"), JSON.stringify({ x: [[9, 2, 7], [1, 2]], y: [[1], [0]] }));
    writeFileSync(tmp("no-y.json"), JSON.stringify({ x: [[9, 2, 7]], why: [[1]] }));
    writeFileSync(tmp("bad.csv"), "a,b,c,label\n1,2,3,1\n4,five,6,0\n");
    const missing: Record<string, Nested> = { ...homework.dlc.weights };
    delete missing["dense2.bias"];
    writeFileSync(tmp("missing-weight.json"), JSON.stringify(missing));
    writeFileSync(tmp("wrong-weight.json"), JSON.stringify({ ...homework.dlc.weights, "dense2.kernel": [[1, 2, 3], [4, 5, 6]] }));
    expect(dlc(["train", SEED_DL, "--data", SEED_DATA, "--weights", SEED_WEIGHTS, "--save", tmp("whole.safetensors")]).code).toBe(0);
    const bytes = readFileSync(tmp("whole.safetensors"));
    writeFileSync(tmp("truncated.safetensors"), bytes.subarray(0, bytes.length - 10));
  });

  const cases: [string, string[]][] = [
    ["a missing data file", ["train", "--data", "no-such.json"]],
    ["malformed JSON", ["train", "--data", "malformed.json"]],
    ["a sample of the wrong shape", ["train", "--data", "wrong-sample.json"]],
    ["no targets for training", ["train", "--data", "no-y.json"]],
    ["a CSV field that is not a number", ["train", "--data", "bad.csv"]],
    ["a gzip'd IDX file of the wrong size", ["train", "--data", MNIST_TEST]],
    ["a missing weight", ["train", "--data", "seed.json", "--weights", "missing-weight.json"]],
    ["a weight of the wrong shape", ["train", "--data", "seed.json", "--weights", "wrong-weight.json"]],
    ["a truncated safetensors file (train)", ["train", "--data", "seed.json", "--weights", "truncated.safetensors"]],
    ["a truncated safetensors file (run)", ["run", "--data", "seed.json", "--weights", "truncated.safetensors"]],
    ["a missing weights file", ["run", "--data", "seed.json", "--weights", "nothing.json"]],
    ["--save to a folder that does not exist", ["train", "--data", "seed.json", "--save", "nowhere/w.json"]],
    ["--save with an unknown extension", ["train", "--data", "seed.json", "--save", "w.txt"]],
    ["--epochs 0", ["train", "--data", "seed.json", "--epochs", "0"]],
    ["--lr -1", ["train", "--data", "seed.json", "--lr", "-1"]],
    ["an unknown option", ["train", "--data", "seed.json", "--dat", "x"]],
    ["no --data", ["train"]],
    ["no --weights for run", ["run", "--data", "seed.json"]],
    ["an option without its value", ["train", "--data"]],
  ];
  for (const [what, args] of cases) {
    it(what, () => {
      const [command, ...rest] = args;
      const mine = seed(args);
      const theirs = dlc([command!, SEED_DL, ...rest]);
      expect(theirs.code).toBe(2);
      expect(mine.code).toBe(2);
      expect(mine.stdout).toBe("");
      expect(same(mine.stderr)).toBe(same(theirs.stderr));
      expect(mine.stderr).not.toMatch(/^\s+at\s/m);
    });
  }

  it("a batch whose loss explodes: exit 1, the batch undone, the last good weights saved (as dlc does)", () => {
    writeFileSync(tmp("linear.dl"), "network lin {\n  input 3\n  dense 1\n}\ntrain {\n  loss squared\n  optimizer sgd lr 0.1\n}\n");
    compile(tmp("linear.dl"), tmp("linear.mjs"));
    const args = ["--data", SEED_DATA, "--lr", "1e30", "--epochs", "50", "--json"];
    const mine = node([tmp("linear.mjs"), "train", ...args, "--save", tmp("linear-module.json")]);
    const theirs = dlc(["train", tmp("linear.dl"), "--interpret", ...args, "--save", tmp("linear-dlc.json")]);
    expect(mine.code).toBe(1);
    expect(mine.stderr).toMatch(/^linear\.mjs: the loss exploded to \S+, more than 10000 × the first batch's \S+ at epoch 2, batch 1; training stopped and undid that batch, so the weights are the last good ones/m);
    expect(same(mine.stderr.replace(/linear\.mjs: /g, "PROGRAM: "))).toBe(same(theirs.stderr.replace(/-dlc\.json/g, "-module.json")));
    // Epoch 1 trained well; epoch 2's batch exploded, so one epoch line.
    expect(mine.stdout.trim().split("\n")).toHaveLength(1);
    expectWeightsClose(readJson(tmp("linear-module.json")), readJson(tmp("linear-dlc.json")), 1e-12);
    for (const v of Object.values(readJson(tmp("linear-module.json")))) expect(flat(v).every(Number.isFinite)).toBe(true);
  });

  it("an update that makes a weight NaN (∞·0) at the first batch is undone, and nothing is saved", () => {
    writeFileSync(tmp("huge.json"), JSON.stringify({ x: [[1.7e308, 1.7e308, 0]], y: [[1]] }));
    const run = seed(["train", "--data", "huge.json", "--weights", SEED_WEIGHTS, "--epochs", "3", "--save", tmp("huge-out.json"), "--json"]);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe("");
    expect(run.stderr).toMatch(/the update made dense2\.kernel NaN or infinite at epoch 1, batch 1; training stopped and undid that batch, before any batch trained well, so nothing was saved: \S*huge-out\.json is unchanged/);
    expect(existsSync(tmp("huge-out.json"))).toBe(false);
  });

  it("a save that fails after training keeps the old file and leaves no temporary file", () => {
    mkdirSync(tmp("atomic"));
    const target = join(tmp("atomic"), "w.json");
    writeFileSync(target, "old contents\n");
    const run = seed(["train", "--data", SEED_DATA, "--save", `${target}/`, "--json"]);
    expect(run.code).toBe(2);
    expect(run.stdout.trim().split("\n")).toHaveLength(1);
    expect(run.stderr).toMatch(/^seed\.mjs: cannot write .*w\.json\/: .*unchanged\n$/);
    expect(readFileSync(target, "utf8")).toBe("old contents\n");
    expect(spawnSync("ls", ["-A", tmp("atomic")], { encoding: "utf8" }).stdout).toBe("w.json\n");
  });
});

describe("safetensors between dlc and the module, both ways", () => {
  it("the module reads what dlc train saves, and dlc reads what the module saves (F32: within 1e-6)", () => {
    const fromDlc = tmp("from-dlc.safetensors");
    const fromModule = tmp("from-module.safetensors");
    expect(dlc(["train", SEED_DL, "--interpret", "--data", SEED_DATA, "--weights", SEED_WEIGHTS, "--save", fromDlc]).code).toBe(0);
    expect(seed(["train", "--data", SEED_DATA, "--weights", SEED_WEIGHTS, "--save", fromModule]).code).toBe(0);
    // F32 by default, as dlc writes it: the same bytes for the same (f64-equal) weights.
    expect(readFileSync(fromModule).equals(readFileSync(fromDlc))).toBe(true);
    const outputs = (r: Run): number => (JSON.parse(r.stdout) as { outputs: number[][] }).outputs[0]![0]!;
    const a = seed(["run", "--weights", fromDlc, "--data", SEED_DATA, "--json"]);
    const b = dlc(["run", SEED_DL, "--weights", fromModule, "--data", SEED_DATA, "--json", "--interpret"]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    expect(Math.abs(outputs(a) - outputs(b))).toBeLessThan(1e-12);
    // One step towards y = 1 raised the output above the case's a8.
    expect(outputs(a)).toBeGreaterThan(homework.expected.forward.a8 + 1e-3);
    // And dlc's reader finds the case's update in the module's file, to F32 precision.
    const tensors = decodeSafetensors(readFileSync(fromModule), fromModule).tensors;
    for (const [name, e] of Object.entries(homework.dlc.expectedUpdated_squared)) {
      const got = tensors.get(name)!;
      expect(got.dtype).toBe("F32");
      flat(e).forEach((x, i) => expect(Math.abs(got.data[i]! - x)).toBeLessThan(1e-6));
    }
  });

  it("F64 through the API: saveWeights writes every weight exactly, and loadWeights takes them back", async () => {
    const mod = await import(pathToFileURL(SEED_MJS).href);
    const model = new mod.Model({ maxBatch: 1, seed: 9 });
    const bytes = model.saveWeights("safetensors", { dtype: "f64" }) as Uint8Array;
    const checked = analyze(readFileSync(SEED_DL, "utf8")).selected!;
    const named = expectedWeights(checked).map((w) => [w.name, { shape: w.shape, data: model.getWeight(w.name).data as Float64Array }] as const);
    const written = decodeSafetensors(bytes, "x").tensors;
    expect([...written.keys()]).toEqual(named.map(([name]) => name));
    for (const [name, t] of named) {
      expect(written.get(name)!.dtype).toBe("F64");
      expect(written.get(name)!.shape).toEqual(t.shape);
      expect(Array.from(written.get(name)!.data)).toEqual(Array.from(t.data));
    }
    const other = new mod.Model({ maxBatch: 1, seed: 10 });
    expect(other.getWeight("dense1.kernel").data).not.toEqual(model.getWeight("dense1.kernel").data);
    expect(other.loadWeights(bytes)).toEqual([]);
    for (const [name] of named) expect(other.getWeight(name).data).toEqual(model.getWeight(name).data);
  });
});

describe("reading F16 and BF16 safetensors", () => {
  it("half-precision bit patterns become the numbers IEEE 754 says they are", async () => {
    // F16: 0x3C00 = 1, 0xBC00 = −1, 0x3800 = 0.5, 0x3555 = 0.333251953125, 0x0001 = 2^−24 (the
    // smallest subnormal), 0x7BFF = 65504 (the largest finite). BF16: 0x3F80 = 1, 0x4049 = 3.140625.
    const f16 = [0x3c00, 0xbc00, 0x3800, 0x3555, 0x0001, 0x7bff];
    const bf16 = [0x3f80, 0x4049];
    const rest = [
      ["dense2.kernel", [2, 2], [0.1, 0.2, 0.3, 0.4]],
      ["dense2.bias", [2], [0, 0]],
      ["dense3.kernel", [2, 1], [1, 2]],
      ["dense3.bias", [1], [0.25]],
    ] as const;
    const header: Record<string, unknown> = { "dense1.kernel": { dtype: "F16", shape: [3, 2], data_offsets: [0, 12] }, "dense1.bias": { dtype: "BF16", shape: [2], data_offsets: [12, 16] } };
    let offset = 16;
    for (const [name, shape, values] of rest) {
      header[name] = { dtype: "F64", shape, data_offsets: [offset, offset + 8 * values.length] };
      offset += 8 * values.length;
    }
    const text = Buffer.from(JSON.stringify(header));
    const file = Buffer.alloc(8 + text.length + offset);
    file.writeBigUInt64LE(BigInt(text.length), 0);
    text.copy(file, 8);
    let at = 8 + text.length;
    for (const h of [...f16, ...bf16]) at = file.writeUInt16LE(h, at);
    for (const [, , values] of rest) for (const v of values) at = file.writeDoubleLE(v, at);
    const mod = await import(pathToFileURL(SEED_MJS).href);
    const model = new mod.Model({ maxBatch: 1 });
    expect(model.loadWeights(new Uint8Array(file))).toEqual([]);
    expect(Array.from(model.getWeight("dense1.kernel").data)).toEqual([1, -1, 0.5, 0.333251953125, 2 ** -24, 65504]);
    expect(Array.from(model.getWeight("dense1.bias").data)).toEqual([1, 3.140625]);
    expect(Array.from(model.getWeight("dense3.bias").data)).toEqual([0.25]);
  });
});

describe("the module as a library", () => {
  it("fit with an epoch callback takes the homework step; loadWeights/saveWeights speak §8's JSON", async () => {
    const mod = await import(pathToFileURL(SEED_MJS).href);
    const model = new mod.Model({ maxBatch: 1 });
    expect(model.loadWeights(JSON.stringify({ ...homework.dlc.weights, "extra.bias": [1] }))).toEqual(["weights: 'extra.bias' is not a weight of this network; ignored"]);
    const reports: { epoch: number; loss: number; samples: number; seconds: number; samplesPerSecond: number }[] = [];
    const outcome = await model.fit(homework.dlc.data, { epochs: 1, batch: 1, onEpoch: (r: (typeof reports)[number]) => reports.push(r) });
    expect(outcome.status).toBe("done");
    expect(reports).toHaveLength(1);
    expect(reports[0]!.epoch).toBe(1);
    expect(reports[0]!.samples).toBe(1);
    expect(Math.abs(reports[0]!.loss - homework.expected.forward.loss_squared)).toBeLessThan(1e-12);
    expect(reports[0]!.seconds).toBeGreaterThanOrEqual(0);
    expect(outcome.epochs).toEqual(reports);
    expectWeightsClose(JSON.parse(model.saveWeights()) as Record<string, Nested>, homework.dlc.expectedUpdated_squared, 1e-12);
    expect(model.saveWeights()).toMatch(/^\{\n {2}"dense1\.kernel": \[\[/);
  });

  it("fit stops when asked, after the current batch; readData takes CSV text", async () => {
    const mod = await import(pathToFileURL(SEED_MJS).href);
    const data = mod.readData("x1,x2,x3,y\n9,2,7,1\n1,2,3,0\n0,0,1,1\n", { file: "d.csv", needTargets: true, loss: "squared" });
    expect(data.size).toBe(3);
    expect(Array.from(data.inputs[0])).toEqual([9, 2, 7, 1, 2, 3, 0, 0, 1]);
    expect(Array.from(data.targets.data)).toEqual([1, 0, 1]);
    const model = new mod.Model({ maxBatch: 1 });
    let batches = 0;
    const outcome = await mod.fit(model, data, { epochs: 5, batch: 1, onBatch: () => batches++, shouldStop: () => batches === 2 });
    expect(outcome.status).toBe("interrupted");
    expect(batches).toBe(2);
    expect(outcome.epochs).toHaveLength(1);
    expect(outcome.epochs[0].samples).toBe(2);
  });

  it("a wrong weight shape throws the exported DataError naming the weight and both shapes", async () => {
    const mod = await import(pathToFileURL(SEED_MJS).href);
    const model = new mod.Model({ maxBatch: 1 });
    const before = model.saveWeights();
    let error: unknown;
    try {
      mod.loadWeights(model, JSON.stringify({ ...homework.dlc.weights, "dense3.kernel": [[0.61, 0.39]] }), { file: "w.json" });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(mod.DataError);
    expect((error as Error).message).toBe("w.json: 'dense3.kernel' has shape [1,2] in the file but the network needs [2,1] (the same sizes in another order: dlc lays weights out as Keras does, a dense kernel [F,N], a conv kernel [K,K,C,F])");
    expect(model.saveWeights()).toBe(before);
  });

  it("runs with no process and no setImmediate (as in a browser), and imports nothing", () => {
    const code = readFileSync(SEED_MJS, "utf8");
    expect(code).not.toMatch(/^\s*import\s/m);
    expect(code).not.toMatch(/require\(/);
    expect(code).not.toMatch(/import\(\s*["'`]/);
    const script = `
      delete globalThis.process; delete globalThis.setImmediate;
      const m = await import(${JSON.stringify(pathToFileURL(SEED_MJS).href)});
      const model = new m.Model({ maxBatch: 1 });
      model.loadWeights(${JSON.stringify(JSON.stringify(homework.dlc.weights))});
      const r = await model.fit(m.readData(${JSON.stringify(JSON.stringify(homework.dlc.data))}), { onEpoch: (e) => console.log(e.loss) });
      console.log(r.status, typeof process);`;
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" });
    expect(r.stderr).toBe("");
    const [loss, end] = r.stdout.trim().split("\n");
    expect(Math.abs(Number(loss) - homework.expected.forward.loss_squared)).toBeLessThan(1e-12);
    expect(end).toBe("done undefined");
  });
});

describe("the TypeScript output", () => {
  it("type-checks under tsc --strict --noEmit with Node's types", () => {
    const r = spawnSync(process.execPath, [TSC, "--strict", "--noEmit", "--target", "es2022", "--module", "es2022", "--moduleResolution", "bundler", "--types", "node", SEED_TS], { cwd: ROOT, encoding: "utf8" });
    expect(r.stdout + r.stderr).toBe("");
    expect(r.status).toBe(0);
  });

  it("type-checks with no type declarations at all (lib ES2022 only: nothing from Node or the DOM)", () => {
    const folder = tmp("bare");
    mkdirSync(folder);
    writeFileSync(join(folder, "net.ts"), readFileSync(SEED_TS));
    writeFileSync(join(folder, "tsconfig.json"), JSON.stringify({ compilerOptions: { strict: true, noEmit: true, target: "ES2022", module: "ES2022", moduleResolution: "bundler", lib: ["ES2022"], types: [] }, files: ["net.ts"] }));
    const r = spawnSync(process.execPath, [TSC, "-p", folder], { cwd: folder, encoding: "utf8" });
    expect(r.stdout + r.stderr).toBe("");
    expect(r.status).toBe(0);
  });
});

describe("MNIST digits through IDX: the module (f64) trains as dlc train --interpret does", () => {
  it("gzip'd images with their labels found beside them, cross-entropy on class indices, shuffled batches", () => {
    const dl = tmp("mnist-linear.dl");
    writeFileSync(dl, "network digits {\n  input 28x28x1\n  flatten\n  dense 10 softmax\n}\ntrain {\n  loss cross_entropy\n  optimizer sgd lr 0.1 momentum 0.9\n  batch 64\n  epochs 2\n}\n");
    compile(dl, tmp("digits.mjs"));
    const mine = node([tmp("digits.mjs"), "train", "--data", MNIST_TEST, "--json", "--save", tmp("digits-module.json")]);
    const theirs = dlc(["train", dl, "--interpret", "--data", MNIST_TEST, "--json", "--save", tmp("digits-dlc.json")]);
    expect(mine.code, mine.stderr).toBe(0);
    expect(theirs.code, theirs.stderr).toBe(0);
    const losses = (r: Run): number[] => r.stdout.trim().split("\n").map((l) => (JSON.parse(l) as { loss: number }).loss);
    expect(losses(mine)).toHaveLength(2);
    expect(losses(mine)[1]).toBeLessThan(losses(mine)[0]!);
    losses(mine).forEach((l, i) => expect(Math.abs(l - losses(theirs)[i]!) / l).toBeLessThan(1e-9));
    expectWeightsClose(readJson(tmp("digits-module.json")), readJson(tmp("digits-dlc.json")), 1e-9);
    const run = node([tmp("digits.mjs"), "run", "--weights", tmp("digits-module.json"), "--data", MNIST_TEST]);
    expect(run.code).toBe(0);
    const lines = run.stdout.trim().split("\n");
    expect(lines).toHaveLength(500);
    expect(lines[0]).toMatch(/^0: \[[^\]]+\] {2}→ class \d$/);
  });
});

describe("other networks and precisions", () => {
  it("two named inputs (x keyed by input name), class indices per position: as dlc train --interpret, and the same token-id error", () => {
    const dl = tmp("two-inputs.dl");
    writeFileSync(dl, "network mini {\n  src: input 5\n  tgt: input 4\n  from src\n  embedding 10 3\n  enc: lstm 4 sequences\n  from tgt\n  embedding 8 3\n  dec: lstm 4 sequences\n  attention dec enc dot\n  dense 8 softmax\n}\ntrain {\n  loss cross_entropy\n  batch 2\n  epochs 2\n}\n");
    compile(dl, tmp("two-inputs.mjs"));
    const ids = (n: number, v: number, salt: number): number[] => Array.from({ length: n }, (_, i) => (i * 7 + salt * 3 + 1) % v);
    const src = [0, 1, 2, 3, 4].map((s) => ids(5, 10, s));
    const tgt = [0, 1, 2, 3, 4].map((s) => ids(4, 8, s + 5));
    const y = [0, 1, 2, 3, 4].map((s) => ids(4, 8, s + 11));
    writeFileSync(tmp("two-inputs.json"), JSON.stringify({ x: { src, tgt }, y }));
    const args = ["--data", "two-inputs.json", "--lr", "0.5", "--json"];
    const mine = node([tmp("two-inputs.mjs"), "train", ...args, "--save", tmp("two-module.json")]);
    const theirs = dlc(["train", dl, "--interpret", ...args, "--save", tmp("two-dlc.json")]);
    expect(mine.code, mine.stderr).toBe(0);
    expect(theirs.code, theirs.stderr).toBe(0);
    const losses = (r: Run): number[] => r.stdout.trim().split("\n").map((l) => (JSON.parse(l) as { loss: number }).loss);
    expect(losses(mine)).toHaveLength(2);
    losses(mine).forEach((l, i) => expect(Math.abs(l - losses(theirs)[i]!) / l).toBeLessThan(1e-9));
    expectWeightsClose(readJson(tmp("two-module.json")), readJson(tmp("two-dlc.json")), 1e-9);
    const a = JSON.parse(node([tmp("two-inputs.mjs"), "run", "--data", "two-inputs.json", "--weights", tmp("two-module.json"), "--json"]).stdout) as { outputs: number[][][] };
    const b = JSON.parse(dlc(["run", dl, "--data", "two-inputs.json", "--weights", tmp("two-module.json"), "--json", "--interpret"]).stdout) as { outputs: number[][][] };
    expect(a.outputs).toHaveLength(5);
    expect(a.outputs[0]).toHaveLength(4);
    expect(flat(a.outputs as Nested).length).toBe(5 * 4 * 8);
    flat(a.outputs as Nested).forEach((v, i) => expect(Math.abs(v - flat(b.outputs as Nested)[i]!)).toBeLessThan(1e-12));
    writeFileSync(tmp("two-bad.json"), JSON.stringify({ x: { src, tgt: [[1, 2, 8, 3], ...tgt.slice(1)] }, y }));
    const bad = node([tmp("two-inputs.mjs"), "train", "--data", "two-bad.json"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe("two-inputs.mjs: two-bad.json: x.tgt[0][2] = 8 is not a token id for the embedding's vocabulary of 8 (a whole number from 0 to 7)\n");
    expect(dlc(["train", dl, "--data", "two-bad.json"]).stderr).toBe(bad.stderr.replace("two-inputs.mjs: ", "dlc: "));
  });

  it("compiled in f32, the module's step is the homework update within 1e-6", () => {
    compile(SEED_DL, tmp("seed32.mjs"), "f32");
    const out = tmp("step-f32.json");
    const run = node([tmp("seed32.mjs"), "train", "--data", SEED_DATA, "--weights", SEED_WEIGHTS, "--save", out]);
    expect(run.code, run.stderr).toBe(0);
    expectWeightsClose(readJson(out), homework.dlc.expectedUpdated_squared, 1e-6);
  });
});

describe("bad files: every one a DataError naming the file, never a raw exception", () => {
  const messageOf = (f: () => unknown): string => {
    try {
      f();
    } catch (e) {
      expect((e as Error).name).toBe("DataError");
      return (e as Error).message;
    }
    return "(nothing thrown)";
  };

  it("bad JSON and CSV data", () => {
    const seedSpec = { inputs: [{ name: "input", shape: [3] }], output: [1], loss: "squared" as const, needTargets: true };
    const classSpec = { inputs: [{ name: "input", shape: [2, 2] }], output: [3], loss: "cross_entropy" as const, needTargets: true };
    const onehotSpec = { ...classSpec, loss: "squared" as const };
    const twoInputs = { inputs: [{ name: "src", shape: [2] }, { name: "tgt", shape: [2] }], output: [2, 3], loss: "cross_entropy" as const, needTargets: true };
    const tokens = { inputs: [{ name: "input", shape: [3], vocabulary: 5 }], output: [2], needTargets: false };
    const json: [typeof seedSpec | typeof classSpec | typeof twoInputs | typeof tokens, unknown][] = [
      [seedSpec, [1, 2]],
      [seedSpec, { y: [] }],
      [seedSpec, { z: [[1, 2, 3]], y: [[1]] }],
      [seedSpec, { x: [] }],
      [seedSpec, { x: "abc" }],
      [seedSpec, { x: [[1, 2, 3]] }],
      [seedSpec, { x: [[1, 2, 3]], why: [[1]] }],
      [seedSpec, { x: [[1, 2, 3], 4], y: [[1], [0]] }],
      [seedSpec, { x: [[1, 2, "3"]], y: [[1]] }],
      [seedSpec, { x: [[1, 2, 3]], y: [[1], [0]] }],
      [seedSpec, { x: [[1, 2, 3]], y: 1 }],
      [seedSpec, { x: [[1, 2, 3]], y: [[1, 2]] }],
      [classSpec, { x: [[[1, 2], [3, 4]]], y: [3] }],
      [classSpec, { x: [[[1, 2], [3, 4]]], y: [1.5] }],
      [classSpec, { x: [[[1, 2], [3, 4]], [[1, 2], [3]]], y: [1, 2] }],
      [classSpec, { x: [[[1, 2], [3, 4]], [[1, 2], [3, 4]]], y: [1, [0, 0, 1]] }],
      [onehotSpec, { x: [[[1, 2], [3, 4]]], y: [7] }],
      [classSpec, { x: [[[1, 2], [3, 4]]], y: ["a"] }],
      [twoInputs, { x: [[1, 2]], y: [[0, 1]] }],
      [twoInputs, { x: { src: [[1, 2]], tgx: [[1, 2]] }, y: [[0, 1]] }],
      [twoInputs, { x: { src: [[1, 2]], tgt: [[1, 2]], extra: [] }, y: [[0, 1]] }],
      [twoInputs, { x: { src: [[1, 2]], tgt: [[1, 2], [3, 4]] }, y: [[0, 1]] }],
      [twoInputs, { x: { src: [[1, 2]], tgt: [[1, 2]] }, y: [[0, 3]] }],
      [twoInputs, { x: { src: [[1, 2]], tgt: [[1, 2]] }, y: [[0]] }],
      [tokens, { x: [[1, 2, 5]] }],
      [tokens, { x: [[1, 2.5, 3]] }],
    ];
    for (const [spec, doc] of json) {
      expect(messageOf(() => jsonDataset(doc, "d.json", spec)), JSON.stringify(doc)).toMatch(/d\.json/);
    }
    const csv: [typeof seedSpec | typeof classSpec | typeof twoInputs, string][] = [
      [seedSpec, ""],
      [seedSpec, "a,b,c,d\n"],
      [seedSpec, "1,2,3\n"],
      [seedSpec, "1,2\n"],
      [seedSpec, "1,2,3,1\n1,2,3\n"],
      [seedSpec, "1,2,3,1\n1,,3,1\n"],
      [seedSpec, '1,2,3,1\n1,"2,x",3,1\n'],
      [seedSpec, "1,2,3,1\n1,2,3,y\n"],
      [classSpec, "1,2,3,4,3\n"],
      [classSpec, "1,2,3,4,0.5\n"],
      [twoInputs, "1,2,3\n"],
      // A first row of number-like fields is data, never a header; values are finite decimals.
      [seedSpec, "NaN,1,2,3\n1,2,3,1\n"],
      [seedSpec, "1,inf,2,3\n"],
      [seedSpec, "0x10,1,2,3\n"],
      [seedSpec, "1,2,3,1\n1_000,2,3,1\n"],
      [seedSpec, "1,2,3,1\n1,0b1,3,1\n"],
      [seedSpec, "1,2,3,1\n1,2,1e999,1\n"],
      [seedSpec, `1,2,3,1\n1,${"z".repeat(5000)},3,1\n`],
    ];
    for (const [spec, text] of csv) {
      expect(messageOf(() => csvDataset(text, "d.csv", spec)), JSON.stringify(text)).toMatch(/^d\.csv[: ]/);
    }
  });

  it("weights that do not fit", () => {
    const checked = analyze(readFileSync(SEED_DL, "utf8")).selected!;
    const expected = expectedWeights(checked);
    const t = (shape: number[], fill = 0.5) => ({ shape, data: new Float64Array(shape.reduce((a, b) => a * b, 1)).fill(fill) });
    const good = (): Map<string, { shape: number[]; data: Float64Array }> => new Map(expected.map((e) => [e.name, t([...e.shape])]));
    const files: [Map<string, { shape: number[]; data: Float64Array }>, boolean][] = [];
    let m = good();
    m.delete("dense2.bias");
    files.push([m, false]);
    m = good();
    m.set("dense1.kernel", t([2, 3]));
    m.set("dense3.bias", t([1, 1]));
    files.push([m, false]);
    m = good();
    m.set("dense2.kernel", t([2, 2], NaN));
    files.push([m, false]);
    m = good();
    m.delete("dense1.bias");
    m.set("dense1.bais", t([2]));
    m.set("other.kernel", t([1]));
    files.push([m, true]);
    files.push([new Map([["a.kernel", t([1])], ["b.kernel", t([1])]]), false]);
    for (const [found, strict] of files) {
      expect(messageOf(() => checkWeights(found, expected, "w.json", strict))).toMatch(/^w\.json[: ]/);
    }
  });

  it("bad safetensors files", () => {
    const header = (h: unknown, data = 0): Uint8Array => {
      const text = Buffer.from(JSON.stringify(h));
      const out = Buffer.alloc(8 + text.length + data);
      out.writeBigUInt64LE(BigInt(text.length), 0);
      text.copy(out, 8);
      return out;
    };
    const bad = [
      new Uint8Array(5),
      header({}).subarray(0, 9),
      header({ a: { dtype: "I64", shape: [1], data_offsets: [0, 8] } }, 8),
      header({ a: { dtype: "Q7", shape: [1], data_offsets: [0, 8] } }, 8),
      header({ a: { dtype: "F32", shape: [2], data_offsets: [0, 4] } }, 8),
      header({ a: { dtype: "F32", shape: [1], data_offsets: [0, 4] }, b: { dtype: "F32", shape: [1], data_offsets: [2, 6] } }, 8),
      header({ a: { dtype: "F32", shape: [4], data_offsets: [0, 16] } }, 8),
      header({ a: { dtype: "F32", shape: [-1], data_offsets: [0, 4] } }, 8),
      header({ __metadata__: { k: 1 } }),
      header([1, 2]),
      Buffer.concat([Buffer.from([4, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('{"a"')]),
    ];
    for (const bytes of bad) {
      expect(messageOf(() => decodeSafetensors(bytes, "w.safetensors"))).toMatch(/^w\.safetensors[: ]/);
    }
  });

});

describe("the inliner", () => {
  it("inlining drops the runtime's imports and keeps only the public exports", () => {
    const text = 'import { a } from "./a.js";\nimport type { B } from "./b.js";\nexport class DataError extends Error {}\nexport function helper(): void {}\nexport const X = 1;\n';
    const out = inlineRuntimeFile("errors", text);
    expect(out).not.toMatch(/^import/m);
    expect(out).toContain("export class DataError");
    expect(out).toContain("\nfunction helper");
    expect(out).toContain("\nconst X = 1");
    expect(inlineRuntimeFile("public-types", "export interface Dataset {}\n")).toContain("export interface Dataset");
    expect(() => inlineRuntimeFile("x", 'import { readFileSync } from "node:fs";\n')).toThrow(/imports something/);
    expect(() => inlineRuntimeFile("x", "export { a };\n")).toThrow(/export/);
  });
});
