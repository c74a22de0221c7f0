// `dlc train` and `dlc run` end to end through `node bin/dlc` (built by `npm test`'s pretest `tsc`).
// The seed network's numbers are the homework_q3 case of shared/seed-cases.json (recomputed there
// in float64 with PyTorch and NumPy), read at test time; the rest are properties that hold for any
// correct trainer (loss falls, same seed → same bytes, the old file survives a failed save, …).
import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadSeedCases, seedCasesPath } from "./helpers/seed-cases.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const BIN = join(ROOT, "bin", "dlc");
const SEED_DL = "examples/seed.dl";
const SEED_DATA = "examples/data/seed.json";
const SEED_WEIGHTS = "examples/data/seed-weights.json";
const LENET = "examples/lenet5.dl";
const MNIST_TEST = "examples/data/mnist-test-images.idx3-ubyte.gz";
/** A line of a JavaScript stack trace: "    at foo (file.js:1:2)". */
const STACK_LINE = /^\s+at\s/m;

type Nested = number | Nested[];

interface HomeworkCase {
  readonly expected: { readonly forward: { readonly a8: number; readonly loss_squared: number; readonly loss_cross_entropy: number } };
  readonly dlc: {
    readonly dl: string;
    readonly weights: Record<string, Nested>;
    readonly data: { readonly x: number[][]; readonly y: number[][] };
    readonly expectedUpdated_squared: Record<string, Nested>;
    readonly expectedUpdated_cross_entropy: Record<string, Nested>;
  };
}

const homework = loadSeedCases().find((c) => c.id === "homework_q3") as unknown as HomeworkCase;

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function spawnDlc(args: readonly string[], extraEnv: NodeJS.ProcessEnv = {}): ChildProcess {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: "1", ...extraEnv };
  delete env.FORCE_COLOR;
  delete env.DLC_DEBUG;
  return spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
}

/** Runs `node bin/dlc ARGS` from the repository root with NO_COLOR=1 (and `extraEnv`). */
function dlc(args: readonly string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawnDlc(args, extraEnv);
    let stdout = "";
    let stderr = "";
    child.stdout!.setEncoding("utf8").on("data", (s: string) => (stdout += s));
    child.stderr!.setEncoding("utf8").on("data", (s: string) => (stderr += s));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** `--json` epoch lines: every stdout line must be one, and nothing else may be there. */
function epochLines(run: Run): { epoch: number; loss: number; samples: number }[] {
  expect(run.stdout.endsWith("\n") || run.stdout === "", "stdout ends with a newline").toBe(true);
  const lines = run.stdout.split("\n").filter((l) => l !== "");
  return lines.map((line) => {
    const o = JSON.parse(line) as Record<string, unknown>;
    expect(typeof o.epoch, line).toBe("number");
    expect(typeof o.loss, line).toBe("number");
    expect(typeof o.samples, line).toBe("number");
    return o as { epoch: number; loss: number; samples: number };
  });
}

/** A user mistake: the exit code, exactly one line on stderr, no stack trace, nothing on stdout. */
function expectOneLineError(run: Run, code: number): string {
  expect(run.code, run.stderr).toBe(code);
  expect(run.stderr).not.toMatch(STACK_LINE);
  expect(run.stderr).not.toMatch(/internal error/);
  const lines = run.stderr.trim().split("\n");
  expect(lines, run.stderr).toHaveLength(1);
  expect(run.stdout).toBe("");
  return lines[0]!;
}

/** The pid of a process that has exited (and been reaped): no process has it now, barring reuse. */
function deadPid(): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
    child.on("error", reject);
    child.on("close", () => resolve(child.pid!));
  });
}

function flat(v: Nested): number[] {
  return Array.isArray(v) ? v.flatMap(flat) : [v];
}

function shapeOf(v: Nested): number[] {
  return Array.isArray(v) ? [v.length, ...shapeOf(v[0]!)] : [];
}

/** Every weight of `actual` (a JSON weights file) within `tol` of `expected`, same names and shapes. */
function expectWeightsClose(actual: Record<string, Nested>, expected: Record<string, Nested>, tol: number): void {
  expect(Object.keys(actual).sort()).toEqual(Object.keys(expected).sort());
  for (const [name, e] of Object.entries(expected)) {
    expect(shapeOf(actual[name]!), name).toEqual(shapeOf(e));
    const a = flat(actual[name]!);
    flat(e).forEach((x, i) => expect(Math.abs(a[i]! - x), `${name}[${i}]: ${a[i]} vs ${x}`).toBeLessThanOrEqual(tol));
  }
}

/**
 * A safetensors file decoded here, independently of src/io: an 8-byte little-endian header
 * length, a JSON header {name: {dtype, shape, data_offsets}}, then the little-endian data.
 */
function readSafetensors(path: string): Map<string, { dtype: string; shape: number[]; values: number[] }> {
  const bytes = readFileSync(path);
  const headerLength = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString("utf8")) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  const base = 8 + headerLength;
  const out = new Map<string, { dtype: string; shape: number[]; values: number[] }>();
  for (const [name, t] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    const [begin, end] = t.data_offsets;
    const size = t.dtype === "F64" ? 8 : 4;
    const values: number[] = [];
    for (let at = base + begin; at < base + end; at += size) values.push(size === 8 ? bytes.readDoubleLE(at) : bytes.readFloatLE(at));
    out.set(name, { dtype: t.dtype, shape: t.shape, values });
  }
  return out;
}

let dir = "";
const tmp = (name: string): string => join(dir, name);

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "dlc-cli-train-"));
});
afterAll(() => {
  chmodSync(dir, 0o755);
  rmSync(dir, { recursive: true, force: true });
});

describe("the example data", () => {
  it("examples/data holds the homework sample and weights of seed-cases.json", () => {
    const data = JSON.parse(readFileSync(join(ROOT, SEED_DATA), "utf8")) as unknown;
    expect(data).toEqual(homework.dlc.data);
    const weights = JSON.parse(readFileSync(join(ROOT, SEED_WEIGHTS), "utf8")) as unknown;
    expect(weights).toEqual(homework.dlc.weights);
    expect(readFileSync(join(ROOT, SEED_DL), "utf8").replace(/^#.*\n/gm, "")).toBe(homework.dlc.dl);
  });
});

describe("dlc train: the seed homework network, one SGD step (lr 0.7) from the homework weights", () => {
  it("squared loss: the saved JSON weights are the case's updated weights within 1e-12, the epoch line its loss", async () => {
    const out = tmp("seed-squared.json");
    const run = await dlc(["train", SEED_DL, "--interpret", "--data", SEED_DATA, "--weights", SEED_WEIGHTS, "--batch", "1", "--epochs", "1", "--save", out, "--json"]);
    expect(run.code, run.stderr).toBe(0);
    const lines = epochLines(run);
    expect(lines).toHaveLength(1);
    expect(lines[0]!.epoch).toBe(1);
    expect(lines[0]!.samples).toBe(1);
    expect(Math.abs(lines[0]!.loss - homework.expected.forward.loss_squared)).toBeLessThanOrEqual(1e-12);
    expectWeightsClose(JSON.parse(readFileSync(out, "utf8")) as Record<string, Nested>, homework.dlc.expectedUpdated_squared, 1e-12);
  });

  it("binary cross entropy: the case's cross-entropy update and loss", async () => {
    const dl = tmp("seed-bce.dl");
    expect(homework.dlc.dl).toContain("loss squared");
    writeFileSync(dl, homework.dlc.dl.replace("loss squared", "loss binary_cross_entropy"));
    const out = tmp("seed-bce.json");
    const run = await dlc(["train", dl, "--interpret", "--data", SEED_DATA, "--weights", SEED_WEIGHTS, "--batch", "1", "--epochs", "1", "--save", out, "--json"]);
    expect(run.code, run.stderr).toBe(0);
    const lines = epochLines(run);
    expect(lines).toHaveLength(1);
    expect(Math.abs(lines[0]!.loss - homework.expected.forward.loss_cross_entropy)).toBeLessThanOrEqual(1e-12);
    expectWeightsClose(JSON.parse(readFileSync(out, "utf8")) as Record<string, Nested>, homework.dlc.expectedUpdated_cross_entropy, 1e-12);
  });

  it("a .safetensors save holds the same update as F32 (the default), within 1e-6", async () => {
    const out = tmp("seed-squared.safetensors");
    const run = await dlc(["train", SEED_DL, "--data", SEED_DATA, "--weights", SEED_WEIGHTS, "--batch", "1", "--epochs", "1", "--save", out]);
    expect(run.code, run.stderr).toBe(0);
    const saved = readSafetensors(out);
    const expected = homework.dlc.expectedUpdated_squared;
    expect([...saved.keys()].sort()).toEqual(Object.keys(expected).sort());
    for (const [name, e] of Object.entries(expected)) {
      const t = saved.get(name)!;
      expect(t.dtype, name).toBe("F32");
      expect(t.shape, name).toEqual(shapeOf(e));
      flat(e).forEach((x, i) => expect(Math.abs(t.values[i]! - x), `${name}[${i}]`).toBeLessThanOrEqual(1e-6));
    }
  });

  it("the human form prints the epoch line and where the weights went", async () => {
    const out = tmp("seed-human.json");
    const run = await dlc(["train", SEED_DL, "--data", SEED_DATA, "--weights", SEED_WEIGHTS, "--save", out]);
    expect(run.code, run.stderr).toBe(0);
    // 0.03360911726802609 → "0.033609" with six decimals.
    expect(run.stdout + run.stderr).toMatch(/epoch 1\/1 +loss 0\.033609/);
    expect(run.stderr).toContain(`saved weights to ${out}`);
  });
});

describe("dlc run", () => {
  it("--json prints the homework network's output a8 for the sample", async () => {
    const run = await dlc(["run", SEED_DL, "--weights", SEED_WEIGHTS, "--data", SEED_DATA, "--json", "--interpret"]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout.trim().split("\n")).toHaveLength(1);
    const { outputs } = JSON.parse(run.stdout) as { outputs: number[][] };
    expect(outputs).toHaveLength(1);
    expect(outputs[0]).toHaveLength(1);
    expect(Math.abs(outputs[0]![0]! - homework.expected.forward.a8)).toBeLessThanOrEqual(1e-12);
    expect(outputs[0]![0]!).toBeCloseTo(0.740735, 6);
  });

  it("runs with weights that dlc train saved as safetensors: one step towards y = 1 raises the output", async () => {
    const out = tmp("seed-for-run.safetensors");
    expect((await dlc(["train", SEED_DL, "--data", SEED_DATA, "--weights", SEED_WEIGHTS, "--save", out])).code).toBe(0);
    const run = await dlc(["run", SEED_DL, "--weights", out, "--data", SEED_DATA, "--json"]);
    expect(run.code, run.stderr).toBe(0);
    const { outputs } = JSON.parse(run.stdout) as { outputs: number[][] };
    expect(outputs[0]![0]!).toBeGreaterThan(homework.expected.forward.a8);
    expect(outputs[0]![0]!).toBeLessThan(1);
  });
});

describe("dlc train: seeds", () => {
  // Several samples in batches of 2, so the seed drives the initial weights AND the shuffle.
  const data = (): string => {
    const path = tmp("seeds.json");
    const x = Array.from({ length: 8 }, (_, i) => [i % 3, (i * 5) % 7, 1 - i / 8]);
    writeFileSync(path, JSON.stringify({ x, y: x.map((s) => [s[0]! > 0 ? 1 : 0]) }));
    return path;
  };

  it("the same --seed saves byte-identical weights; another seed saves different ones", async () => {
    const d = data();
    const save = async (seed: number, name: string): Promise<Buffer> => {
      const out = tmp(name);
      const run = await dlc(["train", SEED_DL, "--data", d, "--batch", "2", "--epochs", "3", "--seed", String(seed), "--save", out, "--json"]);
      expect(run.code, run.stderr).toBe(0);
      expect(epochLines(run)).toHaveLength(3);
      return readFileSync(out);
    };
    const a = await save(7, "seed7a.json");
    const b = await save(7, "seed7b.json");
    const c = await save(8, "seed8.json");
    expect(a.equals(b)).toBe(true);
    expect(a.equals(c)).toBe(false);
  });
});

describe("dlc train: LeNet-5 on the committed MNIST subset", () => {
  it("two epochs on the 500 test digits: the loss falls, and stdout holds only the two epoch lines", async () => {
    const out = tmp("lenet5.safetensors");
    const run = await dlc(["train", LENET, "--data", MNIST_TEST, "--epochs", "2", "--seed", "1", "--save", out, "--json"]);
    expect(run.code, run.stderr).toBe(0);
    const lines = epochLines(run);
    expect(lines.map((l) => [l.epoch, l.samples])).toEqual([
      [1, 500],
      [2, 500],
    ]);
    // Chance level for 10 classes is ln 10 ≈ 2.303.
    expect(lines[0]!.loss).toBeLessThan(2.31);
    expect(lines[1]!.loss).toBeLessThan(0.8 * lines[0]!.loss);
    // And the trained weights run: one probability vector per digit.
    const run2 = await dlc(["run", LENET, "--weights", out, "--data", MNIST_TEST, "--json", "--interpret"]);
    expect(run2.code, run2.stderr).toBe(0);
    const { outputs } = JSON.parse(run2.stdout) as { outputs: number[][] };
    expect(outputs).toHaveLength(500);
    for (const p of outputs.slice(0, 20)) {
      expect(p).toHaveLength(10);
      expect(Math.abs(p.reduce((a, b) => a + b, 0) - 1)).toBeLessThan(1e-9);
    }
  });

  it("the IDX files are gzip'd MNIST: 2,000 + 500 28x28 digits, each class equally often", () => {
    for (const [name, count] of [
      ["train", 2000],
      ["test", 500],
    ] as const) {
      const images = gunzipSync(readFileSync(join(ROOT, `examples/data/mnist-${name}-images.idx3-ubyte.gz`)));
      const labels = gunzipSync(readFileSync(join(ROOT, `examples/data/mnist-${name}-labels.idx1-ubyte.gz`)));
      expect(images.readUInt32BE(0)).toBe(0x803);
      expect([images.readUInt32BE(4), images.readUInt32BE(8), images.readUInt32BE(12)]).toEqual([count, 28, 28]);
      expect(images.length).toBe(16 + count * 784);
      expect(labels.readUInt32BE(0)).toBe(0x801);
      expect(labels.readUInt32BE(4)).toBe(count);
      const perClass = new Array<number>(10).fill(0);
      for (const l of labels.subarray(8)) perClass[l]!++;
      expect(perClass).toEqual(new Array<number>(10).fill(count / 10));
    }
  });
});

describe("dlc train: mistakes in the inputs", () => {
  it("a missing data file", async () => {
    const line = expectOneLineError(await dlc(["train", SEED_DL, "--data", tmp("no-such.json")]), 2);
    expect(line).toContain(tmp("no-such.json"));
    expect(line).toMatch(/no such file/);
  });

  it("malformed JSON data names the line and column", async () => {
    const path = tmp("malformed.json");
    // Line 3 is `  "y": [[1]]`: the array opened on line 2 is not closed, so the ':' at column 6 is wrong.
    writeFileSync(path, '{\n  "x": [[9, 2, 7],\n  "y": [[1]]\n}\n');
    const line = expectOneLineError(await dlc(["train", SEED_DL, "--data", path]), 2);
    expect(line).toContain(`${path}:3:6`);
  });

  it("a sample of the wrong shape is named, with both shapes", async () => {
    const path = tmp("wrong-shape.json");
    writeFileSync(path, JSON.stringify({ x: [[9, 2, 7], [1, 2]], y: [[1], [0]] }));
    const line = expectOneLineError(await dlc(["train", SEED_DL, "--data", path]), 2);
    expect(line).toContain(path);
    expect(line).toMatch(/sample 1\b/);
    expect(line).toContain("[2]");
    expect(line).toContain("[3]");
  });

  it("a class index out of range", async () => {
    const dl = tmp("classes.dl");
    writeFileSync(dl, "network n {\n  input 3\n  dense 4 softmax\n}\ntrain {\n  loss cross_entropy\n}\n");
    const path = tmp("classes.json");
    writeFileSync(path, JSON.stringify({ x: [[9, 2, 7], [1, 2, 3]], y: [1, 4] }));
    const line = expectOneLineError(await dlc(["train", dl, "--data", path]), 2);
    expect(line).toContain(path);
    expect(line).toMatch(/\b4\b/);
    expect(line).toMatch(/class/);
  });

  it("a weights file without a weight names it", async () => {
    const path = tmp("missing-weight.json");
    const w: Record<string, Nested> = { ...homework.dlc.weights };
    delete w["dense2.bias"];
    writeFileSync(path, JSON.stringify(w));
    const line = expectOneLineError(await dlc(["train", SEED_DL, "--data", SEED_DATA, "--weights", path]), 2);
    expect(line).toContain(path);
    expect(line).toContain("dense2.bias");
    expect(line).toMatch(/missing/);
  });

  it("a weight of the wrong shape is named with both shapes", async () => {
    const path = tmp("wrong-weight.json");
    writeFileSync(path, JSON.stringify({ ...homework.dlc.weights, "dense2.kernel": [[1, 2, 3], [4, 5, 6]] }));
    const line = expectOneLineError(await dlc(["train", SEED_DL, "--data", SEED_DATA, "--weights", path]), 2);
    expect(line).toContain(path);
    expect(line).toContain("dense2.kernel");
    expect(line).toContain("[2,3]");
    expect(line).toContain("[2,2]");
  });

  it("a truncated safetensors file, for train and for run", async () => {
    const good = tmp("to-truncate.safetensors");
    expect((await dlc(["train", SEED_DL, "--data", SEED_DATA, "--weights", SEED_WEIGHTS, "--save", good])).code).toBe(0);
    const path = tmp("truncated.safetensors");
    const bytes = readFileSync(good);
    writeFileSync(path, bytes.subarray(0, bytes.length - 10));
    for (const command of ["train", "run"]) {
      const line = expectOneLineError(await dlc([command, SEED_DL, "--data", SEED_DATA, "--weights", path]), 2);
      expect(line).toContain(path);
      expect(line).toMatch(/truncated|bytes/);
    }
  });

  it("--batch past the largest batch says too large, a fraction says not a whole number", async () => {
    expect(expectOneLineError(await dlc(["train", SEED_DL, "--data", SEED_DATA, "--batch", "1e9"]), 2)).toBe("dlc: --batch is too large: got '1e9', at most 1000000");
    expect(expectOneLineError(await dlc(["train", SEED_DL, "--data", SEED_DATA, "--batch", "1.5"]), 2)).toBe("dlc: --batch expects a whole number ≥ 1, got '1.5'");
  });

  it("/dev/zero as data or weights is refused at once (not read until the memory runs out)", async () => {
    expect(expectOneLineError(await dlc(["train", SEED_DL, "--data", "/dev/zero"]), 2)).toMatch(/\/dev\/zero: it is a character device, not a regular file/);
    const zeros = tmp("zeros.json");
    symlinkSync("/dev/zero", zeros);
    expect(expectOneLineError(await dlc(["run", SEED_DL, "--weights", zeros, "--data", SEED_DATA]), 2)).toMatch(/zeros\.json: it is a character device, not a regular file/);
  });

  it("a .dl with errors exits 1 with its diagnostics", async () => {
    const dl = tmp("broken.dl");
    writeFileSync(dl, "network n {\n  input 3\n  dense 0 relu\n}\n");
    const run = await dlc(["train", dl, "--data", SEED_DATA]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`${dl}:3:`);
    expect(run.stderr).toMatch(/error/);
    expect(run.stderr).not.toMatch(STACK_LINE);
  });
});

/** The largest finite float32, (2 − 2⁻²³)·2¹²⁷, computed here rather than taken from src/. */
const FLOAT32_MAX = (2 - 2 ** -23) * 2 ** 127;

describe("dlc train: divergence (a loss that is not finite or explodes, a weight past float32's range)", () => {
  it("--lr 1e30 on a linear network: stops naming epoch and batch, saves the last good weights (finite, within float32)", async () => {
    const dl = tmp("linear.dl");
    writeFileSync(dl, "network lin {\n  input 3\n  dense 1\n}\ntrain {\n  loss squared\n  optimizer sgd lr 0.1\n}\n");
    const out = tmp("linear-diverged.json");
    const run = await dlc(["train", dl, "--interpret", "--data", SEED_DATA, "--lr", "1e30", "--epochs", "50", "--save", out, "--json"]);
    expect(run.code).toBe(1);
    expect(run.stderr).not.toMatch(STACK_LINE);
    const m = /the loss (?:became (NaN|-?Infinity)|exploded to (\S+), more than 10000 × the first batch's (\S+)) at epoch (\d+), batch (\d+); .*the weights are the last good ones/.exec(run.stderr);
    expect(m, run.stderr).not.toBeNull();
    // One sample: one batch per epoch; every epoch before the bad one was reported.
    expect(m![5]).toBe("1");
    const lines = epochLines(run);
    expect(lines.length).toBe(Number(m![4]) - 1);
    expect(lines.length).toBeGreaterThanOrEqual(1);
    expect(lines.every((l) => Number.isFinite(l.loss))).toBe(true);
    if (m![2] !== undefined) {
      // Exploded: L0 is the first batch's loss (epoch 1's, one sample), and L > 10⁴ · max(1, L0).
      expect(Number(m![3])).toBe(lines[0]!.loss);
      expect(Number(m![2])).toBeGreaterThan(1e4 * Math.max(1, lines[0]!.loss));
    }
    const saved = JSON.parse(readFileSync(out, "utf8")) as Record<string, Nested>;
    expect(Object.keys(saved).sort()).toEqual(["dense1.bias", "dense1.kernel"]);
    for (const v of Object.values(saved)) expect(flat(v).every((w) => Math.abs(w) <= FLOAT32_MAX)).toBe(true);
  });

  it("--lr 1e6 on a cross-entropy network: the loss explodes past 10⁴ × the first batch's, training stops (exit 1) on weights that run", async () => {
    const dl = tmp("classes-lr.dl");
    writeFileSync(dl, "network n {\n  input 4\n  dense 16 relu\n  dense 3 softmax\n}\ntrain {\n  loss cross_entropy\n}\n");
    const data = tmp("classes-lr.json");
    const x = Array.from({ length: 12 }, (_, i) => [i % 3, (i * 7) % 5, (i * 3) % 4, 1]);
    writeFileSync(data, JSON.stringify({ x, y: x.map((s) => s[0]!) }));
    const out = tmp("classes-lr.json.out.json");
    const run = await dlc(["train", dl, "--data", data, "--lr", "1e6", "--batch", "4", "--epochs", "30", "--save", out, "--json"]);
    expect(run.code, run.stderr).toBe(1);
    const m = /the loss (?:became (?:NaN|-?Infinity)|exploded to (\S+), more than 10000 × the first batch's (\S+)) at epoch (\d+), batch (\d+)/.exec(run.stderr);
    expect(m, run.stderr).not.toBeNull();
    if (m![1] !== undefined) expect(Number(m![1])).toBeGreaterThan(1e4 * Math.max(1, Number(m![2])));
    expect(epochLines(run).length).toBe(Number(m![3]) - 1);
    const runOut = await dlc(["run", dl, "--weights", out, "--data", data, "--json"]);
    expect(runOut.code, runOut.stderr).toBe(0);
    const { outputs } = JSON.parse(runOut.stdout) as { outputs: number[][] };
    expect(outputs.flat().every(Number.isFinite)).toBe(true);
  });

  it("an update that pushes a weight past float32's range stops training; at the first batch, nothing is saved", async () => {
    // Squared loss on b = 3e38 (finite in float64): the step b − lr·(b − y) with lr 10 lands near −2.7e39.
    const dl = tmp("linear1.dl");
    writeFileSync(dl, "network lin {\n  input 1\n  dense 1\n}\ntrain {\n  loss squared\n}\n");
    const weights = tmp("linear1-weights.json");
    writeFileSync(weights, JSON.stringify({ "dense1.kernel": [[0]], "dense1.bias": [3e38] }));
    const data = tmp("linear1-data.json");
    writeFileSync(data, JSON.stringify({ x: [[0]], y: [[0]] }));
    const out = tmp("linear1-out.json");
    writeFileSync(out, "old contents\n");
    const run = await dlc(["train", dl, "--interpret", "--data", data, "--weights", weights, "--lr", "10", "--save", out, "--json"]);
    expect(run.code, run.stderr).toBe(1);
    const m = /the update made dense1\.bias (\S+), beyond float32's range at epoch 1, batch 1; .*nothing was saved: (.*) is unchanged/.exec(run.stderr);
    expect(m, run.stderr).not.toBeNull();
    expect(Math.abs(Number(m![1]))).toBeGreaterThan(FLOAT32_MAX);
    expect(m![2]).toBe(out);
    expect(readFileSync(out, "utf8")).toBe("old contents\n");
    expect(run.stderr).not.toMatch(/saved weights/);
  });

  it("huge data: an update that makes a weight NaN (∞·0) at the first batch is undone, and nothing is saved", async () => {
    // relu(0.42·1.7e308 + 0.72·1.7e308) overflows to ∞; sigmoid(∞) = 1 exactly, so dense2's
    // delta is 0 and its kernel gradient a1·delta = ∞·0 = NaN, while the loss stays finite.
    const path = tmp("huge.json");
    writeFileSync(path, JSON.stringify({ x: [[1.7e308, 1.7e308, 0]], y: [[1]] }));
    const out = tmp("huge-out.json");
    writeFileSync(out, "old contents\n");
    const run = await dlc(["train", SEED_DL, "--interpret", "--data", path, "--weights", SEED_WEIGHTS, "--epochs", "3", "--save", out, "--json"]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/dense2\.kernel NaN or infinite at epoch 1, batch 1/);
    expect(run.stderr).toContain(`nothing was saved: ${out} is unchanged`);
    expect(epochLines(run)).toHaveLength(0);
    expect(readFileSync(out, "utf8")).toBe("old contents\n");
  });

  it("IDX float images holding NaN are refused when read (exit 2): the good weights of --save stay", async () => {
    const dl = tmp("idx-net.dl");
    writeFileSync(dl, "network n {\n  input 2x2x1\n  flatten\n  dense 2 softmax\n}\ntrain {\n  loss cross_entropy\n}\n");
    const images = Buffer.alloc(16 + 3 * 4 * 4);
    images.writeUInt32BE(0x0d03, 0);
    [3, 2, 2].forEach((d, k) => images.writeUInt32BE(d, 4 + 4 * k));
    for (let i = 0; i < 12; i++) images.writeFloatBE(i === 6 ? NaN : i / 12, 16 + 4 * i);
    writeFileSync(tmp("nan-images-idx3-float"), images);
    writeFileSync(tmp("nan-labels-idx1-float"), Buffer.from([0, 0, 8, 1, 0, 0, 0, 3, 1, 0, 1]));
    const out = tmp("idx-good.json");
    writeFileSync(out, "good weights\n");
    const line = expectOneLineError(await dlc(["train", dl, "--data", tmp("nan-images-idx3-float"), "--save", out]), 2);
    expect(line).toContain(tmp("nan-images-idx3-float"));
    expect(line).toMatch(/sample 1, value 2 is NaN/);
    expect(readFileSync(out, "utf8")).toBe("good weights\n");
  });
});

describe("dlc run: outputs that are not finite", () => {
  it("exit 1 with a message; --json stays valid JSON (null for the value)", async () => {
    const dl = tmp("run-lin.dl");
    writeFileSync(dl, "network lin {\n  input 1\n  dense 1\n}\n");
    const weights = tmp("run-lin-weights.json");
    writeFileSync(weights, JSON.stringify({ "dense1.kernel": [[1e300]], "dense1.bias": [0] }));
    const data = tmp("run-lin-data.json");
    // 1e300 · 1e300 overflows to Infinity; 1 · 1e300 does not.
    writeFileSync(data, JSON.stringify({ x: [[1], [1e300]] }));
    const run = await dlc(["run", dl, "--weights", weights, "--data", data, "--json", "--interpret"]);
    expect(run.code, run.stderr).toBe(1);
    expect(JSON.parse(run.stdout)).toEqual({ outputs: [[1e300], [null]] });
    expect(run.stderr).toMatch(/^dlc: sample 1's output is not finite/);
    expect(run.stderr.trim().split("\n")).toHaveLength(1);
  });
});

describe("dlc train --dtype", () => {
  it("--dtype f64 saves safetensors as F64: exactly the JSON save's weights", async () => {
    const json = tmp("dtype.json");
    const f64 = tmp("dtype.safetensors");
    const args = ["train", SEED_DL, "--data", SEED_DATA, "--weights", SEED_WEIGHTS, "--batch", "1"];
    expect((await dlc([...args, "--save", json])).code).toBe(0);
    const run = await dlc([...args, "--save", f64, "--dtype", "f64"]);
    expect(run.code, run.stderr).toBe(0);
    const saved = readSafetensors(f64);
    const exact = JSON.parse(readFileSync(json, "utf8")) as Record<string, Nested>;
    for (const [name, v] of Object.entries(exact)) {
      expect(saved.get(name)!.dtype).toBe("F64");
      expect(saved.get(name)!.values).toEqual(flat(v));
    }
  });

  it("--dtype without a .safetensors save is a usage error", async () => {
    const line = expectOneLineError(await dlc(["train", SEED_DL, "--data", SEED_DATA, "--save", tmp("dtype2.json"), "--dtype", "f64"]), 2);
    expect(line).toMatch(/--dtype .*\.safetensors/);
    expect(existsSync(tmp("dtype2.json"))).toBe(false);
  });
});

describe("dlc train --save is atomic", () => {
  it("a save whose rename fails (the target named with a trailing slash) keeps the old file and leaves no temporary file", async () => {
    const folder = tmp("atomic");
    mkdirSync(folder);
    const target = join(folder, "w.json");
    writeFileSync(target, "old contents\n");
    // rename(2) onto "w.json/" fails with ENOTDIR even for root, after the new file is written.
    const run = await dlc(["train", SEED_DL, "--data", SEED_DATA, "--save", `${target}/`, "--json"]);
    expect(run.code, run.stderr).toBe(2);
    expect(epochLines(run)).toHaveLength(1);
    expect(run.stderr).not.toMatch(STACK_LINE);
    expect(run.stderr.trim().split("\n")).toHaveLength(1);
    expect(run.stderr).toMatch(/cannot write .*w\.json\/.*unchanged/);
    expect(readFileSync(target, "utf8")).toBe("old contents\n");
    expect(readdirSync(folder)).toEqual(["w.json"]);
  });

  it("a temporary file that cannot be created (a read-only folder or a full disk, simulated: root may write anyway) keeps the old file", async () => {
    const folder = tmp("readonly");
    mkdirSync(folder);
    const target = join(folder, "w.json");
    writeFileSync(target, "old contents\n");
    for (const [code, reason] of [
      ["EACCES", /permission denied/],
      ["ENOSPC", /no space left on the device/],
    ] as const) {
      const run = await dlc(["train", SEED_DL, "--data", SEED_DATA, "--save", target], { DLC_TEST_SAVE_FAIL: code });
      expect(run.code, run.stderr).toBe(2);
      expect(run.stderr).toMatch(reason);
      expect(run.stderr).toMatch(/unchanged/);
      expect(run.stderr).not.toMatch(STACK_LINE);
      expect(readFileSync(target, "utf8")).toBe("old contents\n");
      expect(readdirSync(folder)).toEqual(["w.json"]);
    }
  });

  it("a save removes the temporary files of the same target left by killed processes, and no other", async () => {
    const folder = tmp("stale");
    mkdirSync(folder);
    const dead = await deadPid();
    const stale = `.w.json.${dead}.abc123.tmp`;
    const live = `.w.json.${process.pid}.abc123.tmp`;
    const other = `.v.json.${dead}.abc123.tmp`;
    for (const name of [stale, live, other]) writeFileSync(join(folder, name), "partial");
    const run = await dlc(["train", SEED_DL, "--data", SEED_DATA, "--save", join(folder, "w.json")]);
    expect(run.code, run.stderr).toBe(0);
    expect(readdirSync(folder).sort()).toEqual([live, other, "w.json"].sort());
  });

  it("a --save that can never work is refused before training, not after", async () => {
    for (const [save, message] of [
      [tmp("weights.txt"), /\.json or \.safetensors/],
      [join(tmp("no-such-folder"), "w.json"), /does not exist/],
    ] as const) {
      const line = expectOneLineError(await dlc(["train", SEED_DL, "--data", SEED_DATA, "--save", save, "--json"]), 2);
      expect(line).toMatch(message);
      expect(existsSync(save)).toBe(false);
    }
  });
});

describe("dlc train: Ctrl-C", () => {
  const longData = (): string => {
    const data = tmp("long.json");
    if (!existsSync(data)) {
      const x = Array.from({ length: 2000 }, (_, i) => [(i % 10) / 10, ((i * 7) % 13) / 13, ((i * 3) % 5) / 5]);
      writeFileSync(data, JSON.stringify({ x, y: x.map((s) => [s[0]! > 0.5 ? 1 : 0]) }));
    }
    return data;
  };

  /**
   * Spawns `dlc ARGS`; `onOutput` sees all stdout and stderr so far after each chunk and may
   * signal the child. A run left behind is killed after 30 s whatever happens.
   */
  const interrupted = (args: readonly string[], onOutput: (child: ChildProcess, stdout: string, stderr: string) => void, env: NodeJS.ProcessEnv = {}) =>
    new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawnDlc(args, env);
      let stdout = "";
      let stderr = "";
      const guard = setTimeout(() => child.kill("SIGKILL"), 30_000);
      child.stdout!.setEncoding("utf8").on("data", (t: string) => {
        stdout += t;
        onOutput(child, stdout, stderr);
      });
      child.stderr!.setEncoding("utf8").on("data", (t: string) => {
        stderr += t;
        onOutput(child, stdout, stderr);
      });
      child.on("error", reject);
      child.on("close", (code, signal) => {
        clearTimeout(guard);
        resolve({ code, signal, stdout, stderr });
      });
    });

  /** The folder of `out` holds `out` (when `saved`) and nothing else: no temporary file. */
  const expectOnly = (folder: string, names: string[]): void => expect(readdirSync(folder).sort()).toEqual(names.sort());

  const expectRuns = async (weights: string): Promise<void> => {
    const run = await dlc(["run", SEED_DL, "--weights", weights, "--data", SEED_DATA, "--json"]);
    expect(run.code, run.stderr).toBe(0);
    const { outputs } = JSON.parse(run.stdout) as { outputs: number[][] };
    expect(outputs).toHaveLength(1);
    expect(Number.isFinite(outputs[0]![0])).toBe(true);
  };

  it("SIGINT stops after the current batch, saves weights that dlc run loads, and exits 130", async () => {
    const folder = tmp("ctrl-c-1");
    mkdirSync(folder);
    const out = join(folder, "w.json");
    let signalled = false;
    const r = await interrupted(["train", SEED_DL, "--data", longData(), "--batch", "1", "--epochs", "100000", "--save", out, "--json"], (child, stdout) => {
      if (!signalled && stdout.includes("\n")) {
        signalled = true;
        child.kill("SIGINT");
      }
    });
    expect(signalled).toBe(true);
    expect(r.code, r.stderr).toBe(130);
    expect(r.stderr).toMatch(/interrupted/);
    expect(r.stderr).not.toMatch(STACK_LINE);
    const lines = epochLines({ code: r.code, stdout: r.stdout, stderr: r.stderr });
    expect(lines.length).toBeGreaterThanOrEqual(1);
    expect(lines.length).toBeLessThan(100);
    expectOnly(folder, ["w.json"]);
    await expectRuns(out);
  });

  it("a second SIGINT quits with 130: the save either never starts (the old file stays) or completes; no temporary file either way", async () => {
    const folder = tmp("ctrl-c-2");
    mkdirSync(folder);
    const out = join(folder, "w.json");
    writeFileSync(out, "old contents\n");
    let presses = 0;
    const r = await interrupted(["train", SEED_DL, "--data", longData(), "--batch", "1", "--epochs", "100000", "--save", out, "--json"], (child, stdout, stderr) => {
      if (presses === 0 && stdout.includes("\n")) {
        presses++;
        child.kill("SIGINT");
      } else if (presses === 1 && stderr.includes("stopping after this batch")) {
        presses++;
        child.kill("SIGINT");
      }
    });
    expect(presses).toBe(2);
    expect([r.code, r.signal], r.stderr).toEqual([130, null]);
    expect(r.stderr).not.toMatch(STACK_LINE);
    expectOnly(folder, ["w.json"]);
    if (readFileSync(out, "utf8") !== "old contents\n") await expectRuns(out);
  });

  it("SIGINT twice during the write itself (paused by a test hook): the write completes, then exit 130, no temporary file", async () => {
    const folder = tmp("ctrl-c-3");
    mkdirSync(folder);
    const out = join(folder, "w.json");
    writeFileSync(out, "old contents\n");
    let presses = 0;
    const r = await interrupted(
      ["train", SEED_DL, "--interpret", "--data", SEED_DATA, "--weights", SEED_WEIGHTS, "--batch", "1", "--save", out, "--json"],
      (child, _stdout, stderr) => {
        if (presses === 0 && stderr.includes("dlc-test: saving")) {
          presses = 2;
          child.kill("SIGINT");
          child.kill("SIGINT");
        }
      },
      { DLC_TEST_SAVE_PAUSE_MS: "2000" },
    );
    expect(presses).toBe(2);
    expect([r.code, r.signal], r.stderr).toEqual([130, null]);
    expect(r.stderr).toContain(`saved weights to ${out}`);
    expectOnly(folder, ["w.json"]);
    // The run completed its one epoch: the saved weights are the homework case's update.
    expectWeightsClose(JSON.parse(readFileSync(out, "utf8")) as Record<string, Nested>, homework.dlc.expectedUpdated_squared, 1e-12);
  });
});
