// The f32 module's WebAssembly SIMD kernels: on by default, the same training step as the JS
// kernels (within the f32 contract), a JS fallback that says so once, and the compile flags.
// Parity with the interpreter for every layer kind runs on these kernels in
// codegen-feedforward/codegen-recurrent (f32 there is the default, wasm).
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { compileText, tempDir, TOLERANCE } from "./helpers/compiled.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const dlc = join(root, "bin", "dlc");

function closeTo(a: ArrayLike<number>, b: ArrayLike<number>, tol: number): string | undefined {
  if (a.length !== b.length) return `lengths ${a.length} and ${b.length}`;
  for (let i = 0; i < a.length; i++) {
    if (!(Math.abs(a[i]! - b[i]!) <= tol * Math.max(1, Math.abs(a[i]!), Math.abs(b[i]!)))) return `[${i}]: ${a[i]} vs ${b[i]}`;
  }
  return undefined;
}

function pseudoRandom(n: number, seed: number): Float32Array {
  let s = seed;
  return Float32Array.from({ length: n }, () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1);
}

const networks: [string, string, number, number][] = [
  ["LeNet-5 (conv, avgpool, dense)", readFileSync(join(root, "examples", "lenet5.dl"), "utf8"), 784, 10],
  ["LSTM, then dense", "input 12x5\nlstm 9\ndense 3 softmax\ntrain { loss cross_entropy }\n", 60, 3],
  ["bidirectional GRU, 2 layers, sequences", "input 6x4\ngru 5 bidirectional layers 2 sequences\nflatten\ndense 3 softmax\ntrain { loss cross_entropy }\n", 24, 3],
  ["wide GRU (kernels packed in column strips, a partial last strip; the JS fallback reads the same strips)", "input 3x4\ngru 86\ndense 3 softmax\ntrain { loss cross_entropy }\n", 12, 3],
  ["MLP, SGD with momentum", "input 10\ndense 6 relu\ndense 2 sigmoid\ntrain { loss binary_cross_entropy; optimizer sgd lr 0.3 momentum 0.9 }\n", 10, 2],
  ["activations only (SIMD tanh and sigmoid, odd counts, no matmul)", "input 7\ntanh\ndense 5 sigmoid\nsigmoid\ntrain { loss squared }\n", 7, 5],
  ["odd convs (im2col/col2im kernels: stride 2 pad 1 on 3 channels, 2x2 pad same, dx through both)", "input 9x7x3\nconv 5 3x3 stride 2 pad 1 relu\nconv 4 2x2 pad same tanh\nflatten\ndense 3 softmax\ntrain { loss cross_entropy }\n", 189, 3],
  ["chunked col (padding written as zeros), wide padding, conv after conv", "input 40x36x3\nconv 3 5x5 pad 2 tanh\nconv 2 3x2 stride 3 pad 4 relu\nflatten\ndense 2 softmax\ntrain { loss cross_entropy }\n", 4320, 2],
  ["MLP with odd sizes", "input 37\ndense 13 relu\ndense 7 tanh\ndense 3 softmax\ntrain { loss cross_entropy; optimizer adam lr 0.01 }\n", 37, 3],
];

describe("f32 modules run their matmuls on generated WebAssembly SIMD kernels", () => {
  for (const [name, text, inSize, classes] of networks) {
    it(`${name}: the wasm and JS kernels train the same steps`, async () => {
      const { mod, code } = await compileText(text, "f32");
      expect(code).toContain("const KERNEL_WASM =");
      const n = 7;
      const wasm = new mod.Model({ maxBatch: 8, seed: 3 });
      const js = new mod.Model({ maxBatch: 8, seed: 3, kernels: "js" });
      expect(wasm.kernels).toBe("wasm");
      expect(js.kernels).toBe("js");
      expect(closeTo(wasm.w, js.w, 0)).toBeUndefined();
      const x = pseudoRandom(n * inSize, 11);
      const y = Array.from({ length: n }, (_, i) => i % classes);
      for (let step = 0; step < 3; step++) {
        const lw = wasm.trainStep([x], y, n);
        const lj = js.trainStep([x], y, n);
        expect(closeTo([lw], [lj], TOLERANCE.f32)).toBeUndefined();
      }
      expect(closeTo(wasm.w, js.w, TOLERANCE.f32)).toBeUndefined();
      expect(closeTo(wasm.predict([x], n), js.predict([x], n), TOLERANCE.f32)).toBeUndefined();
    });
  }

  it("--kernels js and --precision f64 embed no kernels", async () => {
    expect((await compileText(networks[0]![1], "f32", { kernels: "js" })).code).not.toContain("KERNEL_WASM");
    expect((await compileText(networks[0]![1], "f64")).code).not.toContain("KERNEL_WASM");
    const f64 = (await compileText(networks[0]![1], "f64")).mod;
    expect(new f64.Model().kernels).toBe("js");
  });

  it("--kernels wasm with --precision f64 is a usage error", () => {
    const r = spawnSync(process.execPath, [dlc, "compile", join(root, "examples", "seed.dl"), "-o", join(tempDir(), "x.mjs"), "--kernels", "wasm", "--precision", "f64"], { encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("--kernels wasm needs --precision f32");
  });

  it("without WebAssembly the module falls back to its JS kernels and says so once", () => {
    const out = join(tempDir(), "seed-fallback.mjs");
    const compiled = spawnSync(process.execPath, [dlc, "compile", join(root, "examples", "seed.dl"), "-o", out], { encoding: "utf8" });
    expect(compiled.status).toBe(0);
    const data = join(tempDir(), "fallback-data.json");
    writeFileSync(data, JSON.stringify({ x: [[0.5, 0.1, -0.3], [1, 2, 3]], y: [1, 0] }));
    const args = [out, "train", "--data", data, "--epochs", "3", "--batch", "1", "--json"];
    const withWasm = spawnSync(process.execPath, args, { encoding: "utf8" });
    // --jitless turns WebAssembly off in V8 (Node prints a warning of its own about that flag).
    const without = spawnSync(process.execPath, ["--jitless", ...args], { encoding: "utf8" });
    expect(withWasm.status).toBe(0);
    expect(without.status).toBe(0);
    expect(withWasm.stderr).not.toContain("WebAssembly SIMD kernels unavailable");
    expect(without.stderr.match(/WebAssembly SIMD kernels unavailable/g)).toHaveLength(1);
    const losses = (s: string) => s.trim().split("\n").map((l) => (JSON.parse(l) as { loss: number }).loss);
    expect(closeTo(losses(without.stdout), losses(withWasm.stdout), TOLERANCE.f32)).toBeUndefined();
  });
});
