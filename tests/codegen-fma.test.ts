/**
 * `dlc compile --fma`: the module also embeds its kernels built on relaxed SIMD's fused
 * multiply-add and uses them where the engine has relaxed SIMD. Node 20 has it only behind
 * --experimental-wasm-relaxed-simd, so this process (no flag) checks the fallback, and a child
 * process with the flag checks the FMA kernels against the interpreter.
 */
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import type { Targets } from "../src/interp/losses.js";
import { seededRandom } from "../src/interp/random.js";
import { compileText, expectClose, flatTargets, interpreterStep, pair, tempDir, TOLERANCE } from "./helpers/compiled.js";
import { randomTensor } from "./helpers/gradcheck.js";
import { relaxedSimdSupported } from "../src/codegen/wasm/matmul.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const dlc = join(root, "bin", "dlc");

const NETWORKS: readonly { name: string; text: string; input: readonly number[]; classes: number }[] = [
  { name: "MLP", text: "input 37\ndense 29 relu\ndense 5 softmax\ntrain { loss cross_entropy }\n", input: [37], classes: 5 },
  { name: "LeNet-5", text: readFileSync(join(root, "examples", "lenet5.dl"), "utf8"), input: [28, 28, 1], classes: 10 },
  { name: "LSTM", text: "input 6x7\nlstm 9\ndense 3 softmax\ntrain { loss cross_entropy }\n", input: [6, 7], classes: 3 },
];

/** Whether this engine has relaxed SIMD without flags (Node 22 and later): then the child needs none either. */
const relaxedHere = relaxedSimdSupported();

function firstDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return i;
  return a.length === b.length ? -1 : a.length;
}

describe("dlc compile --fma", () => {
  it.skipIf(relaxedHere)("without relaxed SIMD (Node 20 without the flag) the model runs the plain SIMD kernels: the same weights as a build without --fma", async () => {
    const { text, input, classes } = NETWORKS[0]!;
    const fma = await compileText(text, "f32", { fma: true });
    const plain = await compileText(text, "f32");
    expect(fma.code).toMatch(/const KERNEL_WASM_FMA: string \| undefined = "/);
    expect(plain.code).toContain("const KERNEL_WASM_FMA: string | undefined = undefined;");
    const n = 6;
    const a = new fma.mod.Model({ maxBatch: n, seed: 2 }) as InstanceType<typeof fma.mod.Model> & { fma: boolean };
    const b = new plain.mod.Model({ maxBatch: n, seed: 2 });
    expect(a.kernels).toBe("wasm");
    expect(a.fma).toBe(false);
    const x = randomTensor([n, ...input], 3).data;
    for (let step = 0; step < 3; step++) {
      const y = Array.from({ length: n }, (_, i) => (i + step) % classes);
      expect(Object.is(a.trainStep([x], y, n, 0.1), b.trainStep([x], y, n, 0.1))).toBe(true);
    }
    expect(firstDifference(a.w, b.w)).toBe(-1);
  });

  for (const net of NETWORKS) {
    it(`${net.name}: with relaxed SIMD (node --experimental-wasm-relaxed-simd) the FMA kernels run and match the interpreter within 1e-4`, async () => {
      const dir = tempDir();
      const source = join(dir, `fma-${net.name}.dl`);
      const out = join(dir, `fma-${net.name}.mjs`);
      writeFileSync(source, net.text);
      const compiled = spawnSync(process.execPath, [dlc, "compile", source, "--fma", "-o", out], { encoding: "utf8" });
      expect(compiled.stderr).toBe("");
      expect(compiled.status).toBe(0);

      const c = await compileText(net.text, "f32");
      const n = 4;
      const { interp } = pair(c, { maxBatch: n, initSeed: 5 });
      const weights = Object.fromEntries([...interp.namedWeights()].map(([name, t]) => [name, Array.from(t.data)]));
      const x = randomTensor([n, ...net.input], 9);
      const targets: Targets = { kind: "classes", indices: Int32Array.from({ length: n }, (_, i) => (i * 2) % net.classes) };
      const script = join(dir, `fma-${net.name}-step.mjs`);
      writeFileSync(
        script,
        `const { Model } = await import(${JSON.stringify(new URL(`file://${out}`).href)});
const { readFileSync } = await import("node:fs");
const input = JSON.parse(readFileSync(process.argv[2], "utf8"));
const m = new Model({ maxBatch: ${n}, seed: 1 });
for (const [name, data] of Object.entries(input.weights)) m.setWeight(name, data);
m.optimizer = { ...m.optimizer, kind: "sgd", momentum: 0 };
const loss = m.trainStep([input.x], input.y, ${n}, 0.05);
const weights = Object.fromEntries(Object.keys(input.weights).map((name) => [name, Array.from(m.getWeight(name).data)]));
process.stdout.write(JSON.stringify({ fma: m.fma, kernels: m.kernels, loss, weights }));
`,
      );
      const payload = join(dir, `fma-${net.name}-input.json`);
      writeFileSync(payload, JSON.stringify({ weights, x: Array.from(x.data), y: flatTargets(targets) }));
      const run = spawnSync(process.execPath, [...(relaxedHere ? [] : ["--experimental-wasm-relaxed-simd"]), script, payload], { encoding: "utf8", maxBuffer: 1 << 28 });
      expect(run.stderr).toBe("");
      const got = JSON.parse(run.stdout) as { fma: boolean; kernels: string; loss: number; weights: Record<string, number[]> };
      expect(got.kernels).toBe("wasm");
      expect(got.fma).toBe(true);
      const expected = interpreterStep(interp, [x], targets, "cross_entropy", 0.05, seededRandom(1));
      expectClose([got.loss], [expected.loss], TOLERANCE.f32, "loss");
      for (const [name, t] of interp.namedWeights()) expectClose(got.weights[name]!, t.data, TOLERANCE.f32, `${name} after the step`);
    }, 60_000);
  }

  it.skipIf(typeof (process as { getBuiltinModule?: unknown }).getBuiltinModule !== "function")("with --threads 2: the workers run the FMA kernels too, and 1 and 2 threads give the same weights", () => {
    const dir = tempDir();
    const source = join(dir, "fma-threads.dl");
    const out = join(dir, "fma-threads.mjs");
    writeFileSync(source, NETWORKS[0]!.text);
    const compiled = spawnSync(process.execPath, [dlc, "compile", source, "--fma", "--threads", "2", "-o", out], { encoding: "utf8" });
    expect(compiled.status).toBe(0);
    const script = join(dir, "fma-threads-run.mjs");
    writeFileSync(
      script,
      `const { Model } = await import(${JSON.stringify(new URL(`file://${out}`).href)});
const x = Float32Array.from({ length: 8 * 37 }, (_, i) => Math.sin(i * 0.7));
const y = Array.from({ length: 8 }, (_, i) => i % 5);
const weights = [];
const report = [];
for (const threads of [1, 2]) {
  const m = new Model({ maxBatch: 8, seed: 3, threads });
  await m.ready();
  for (let step = 0; step < 4; step++) m.trainStep(x, y, 8, 0.1);
  report.push({ threads: m.threads, ran: m.shardThreads.lastThreads, fma: m.fma });
  weights.push(Array.from(m.w));
  await m.close();
}
const same = weights[0].every((v, i) => Object.is(v, weights[1][i]));
process.stdout.write(JSON.stringify({ report, same }));
`,
    );
    const run = spawnSync(process.execPath, [...(relaxedHere ? [] : ["--experimental-wasm-relaxed-simd"]), script], { encoding: "utf8" });
    expect(run.stderr).toBe("");
    const got = JSON.parse(run.stdout) as { report: { threads: number; ran: number; fma: boolean }[]; same: boolean };
    expect(got.report.map((r) => [r.threads, r.ran, r.fma])).toEqual([
      [1, 1, true],
      [2, 2, true],
    ]);
    expect(got.same).toBe(true);
  }, 60_000);

  it("is a usage error with --precision f64 or --kernels js", () => {
    for (const extra of [["--precision", "f64"], ["--kernels", "js"]]) {
      const r = spawnSync(process.execPath, [dlc, "compile", join(root, "examples", "seed.dl"), "--fma", ...extra, "-o", join(tempDir(), "x.mjs")], { encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
      expect(r.status).toBe(2);
      expect(r.stderr).toContain("--fma needs the WebAssembly kernels");
    }
  });
});
