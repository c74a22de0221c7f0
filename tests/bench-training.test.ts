/**
 * The training benchmarks' own pieces: the FLOP bases the tables divide by, the synthetic data,
 * the compiled-module instrumentation, and the claim that TF.js-wasm cannot train a convolution.
 */
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { cleanUpCompiled, compileWorkload, compiledTrainer } from "../bench/compiled-engine.js";
import { instrument, profileCompiled } from "../bench/profile-compiled.js";
import { loadTf, tfTrainer } from "../bench/tfjs.js";
import { WORKLOADS, macsPerSample, syntheticData, trainFlopsPerSample } from "../bench/workloads.js";
import { relaxedSimdSupported } from "../src/codegen/wasm/matmul.js";

const root = fileURLToPath(new URL("..", import.meta.url));

describe("workload MACs", () => {
  // Counted by hand from the layer sizes, not from dlc's summary.
  it("MLP 784-128-10: 784·128 + 128·10", () => {
    expect(macsPerSample(WORKLOADS.mlp)).toBe(784 * 128 + 128 * 10);
    expect(trainFlopsPerSample(WORKLOADS.mlp)).toBe(6 * 101_632);
  });
  it("LeNet-5: 416,520 (LANGUAGE.md §7's worked summary)", () => {
    const conv1 = 28 * 28 * 6 * 5 * 5 * 1;
    const conv2 = 10 * 10 * 16 * 5 * 5 * 6;
    const dense = 400 * 120 + 120 * 84 + 84 * 10;
    expect(conv1 + conv2 + dense).toBe(416_520);
    expect(macsPerSample(WORKLOADS.lenet5)).toBe(416_520);
  });
  it("LSTM T50, 32→128, dense 10: T·4·(H·F + H·H) + H·10", () => {
    expect(macsPerSample(WORKLOADS.lstm)).toBe(50 * 4 * (128 * 32 + 128 * 128) + 128 * 10);
  });
  it("seed 3-2-2-1: 3·2 + 2·2 + 2·1", () => {
    expect(macsPerSample(WORKLOADS.seed)).toBe(12);
  });
});

describe("synthetic data", () => {
  it("is deterministic, in [−1, 1), with one-hot rows matching the labels", () => {
    const a = syntheticData(WORKLOADS.mlp, 64);
    const b = syntheticData(WORKLOADS.mlp, 64);
    expect(a.x).toEqual(b.x);
    expect(a.x.length).toBe(64 * 784);
    expect(Math.min(...a.x)).toBeGreaterThanOrEqual(-1);
    expect(Math.max(...a.x)).toBeLessThan(1);
    for (let s = 0; s < 64; s++) {
      const row = a.oneHot.subarray(s * 10, s * 10 + 10);
      expect(row.reduce((x, y) => x + y, 0)).toBe(1);
      expect(row[a.labels[s]!]).toBe(1);
    }
    expect(new Set(a.labels).size).toBeGreaterThan(5);
  });
});

describe("compiled engine", () => {
  afterAll(cleanUpCompiled);

  it("trains the MLP: a timed run counts whole batches", async () => {
    const c = await compileWorkload(WORKLOADS.mlp, "f32");
    if (!c.ok) throw new Error(c.why);
    const r = await compiledTrainer(WORKLOADS.mlp, c.module, syntheticData(WORKLOADS.mlp, 64), "f32").run(50);
    expect(r.samples % 32).toBe(0);
    expect(r.samples).toBeGreaterThan(0);
    expect(r.seconds).toBeGreaterThanOrEqual(0.05);
  });

  it("instrumentation refuses a module without the expected trainStep", () => {
    expect(() => instrument("export class Model {}")).toThrow(/trainStep/);
  });

  it("the per-block profile charges time to every forward and backward block of the MLP", async () => {
    const p = await profileCompiled(WORKLOADS.mlp, 0.2);
    if ("why" in p) throw new Error(p.why);
    const labels = p.steps.map((s) => s.label);
    for (const block of ["forward dense1", "forward relu (after dense1)", "forward dense2", "backward dense2", "backward relu (after dense1)", "backward dense1", "optimizer step"]) {
      expect(labels).toContain(block);
    }
    const shares = p.steps.reduce((a, s) => a + s.share, 0);
    expect(shares).toBeCloseTo(1, 9);
    // dense1 reads the network input: its backward is the weight gradient only, 2·MACs·32.
    expect(p.steps.find((s) => s.label === "backward dense1")!.flops).toBe(2 * 784 * 128 * 32);
    expect(p.steps.find((s) => s.label === "backward dense2")!.flops).toBe(4 * 128 * 10 * 32);
  });
});

describe("the --fma case's child process (bench/fma-child.ts, built into dist/ by npm test's build)", () => {
  it("trains the MLP's --fma build on the relaxed-SIMD kernels and reports its throughput", () => {
    const child = join(root, "dist", "bench", "fma-child.js");
    const plan = { warmupMs: 50, runMs: 100, runs: 2 };
    const r = spawnSync(process.execPath, [...(relaxedSimdSupported() ? [] : ["--experimental-wasm-relaxed-simd"]), child, "mlp", JSON.stringify({ plan, dataSize: 64 })], { encoding: "utf8" });
    expect(r.stderr).toBe("");
    const out = JSON.parse(r.stdout) as { fma: boolean; kernels: string; throughput: { samplesPerSecond: number; perRun: number[]; samples: number } };
    expect(out.kernels).toBe("wasm");
    expect(out.fma).toBe(true);
    expect(out.throughput.perRun).toHaveLength(2);
    expect(out.throughput.samples % WORKLOADS.mlp.batch).toBe(0);
    expect(out.throughput.samplesPerSecond).toBeGreaterThan(0);
  });
  it("says why when the workload is unknown", () => {
    const r = spawnSync(process.execPath, [join(root, "dist", "bench", "fma-child.js"), "nope", "{}"], { encoding: "utf8" });
    expect(JSON.parse(r.stdout)).toEqual({ why: "no workload nope" });
  });
});

describe("per-block profile of the LSTM", () => {
  it("counts the recurrent backward without the input projection's gradient (the layer reads the network input)", async () => {
    const p = await profileCompiled(WORKLOADS.lstm, 0.2);
    if ("why" in p) throw new Error(p.why);
    const macs = 50 * 4 * (128 * 32 + 128 * 128);
    expect(p.steps.find((s) => s.label === "forward lstm1")!.flops).toBe(2 * macs * 32);
    expect(p.steps.find((s) => s.label === "backward lstm1")!.flops).toBe(2 * (2 * macs - 50 * 4 * 128 * 32) * 32);
  });
});

let tfInstalled = true;
try {
  createRequire(import.meta.url).resolve("@tensorflow/tfjs-backend-wasm");
} catch {
  tfInstalled = false;
}

describe.skipIf(!tfInstalled)("TensorFlow.js engine", () => {
  it("wasm cannot train LeNet-5: Conv2DBackpropFilter is not registered", async () => {
    const t = await loadTf();
    if ("problem" in t) throw new Error(t.problem);
    expect(t.wasmProblem).toBeUndefined();
    await expect(tfTrainer(t, "wasm", WORKLOADS.lenet5, syntheticData(WORKLOADS.lenet5, 32))).rejects.toThrow(/Conv2DBackpropFilter/);
  });

  it("wasm trains the MLP", async () => {
    const t = await loadTf();
    if ("problem" in t) throw new Error(t.problem);
    const trainer = await tfTrainer(t, "wasm", WORKLOADS.mlp, syntheticData(WORKLOADS.mlp, 64));
    try {
      const r = await trainer.run(20);
      expect(r.samples).toBeGreaterThan(0);
    } finally {
      trainer.dispose?.();
    }
  });
});
