// The compiled engine of dlc run (and train, eval): src/cli/engine.ts compiles the network in
// memory into the generated module and caches it. `dlc run` (compiled, float32 by default) is
// checked against `dlc run --interpret` (the float64 reference); the cache against corrupt,
// foreign and too many entries; the flags against their mistakes; and the built dlc against any
// use of typescript (a devDependency) at run time.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { MAX_ENTRIES } from "../src/cli/engine-cache.js";
import { openCompiledEngine } from "../src/cli/engine.js";
import { load } from "../src/cli/load.js";
import { dlc, ROOT } from "./helpers/dlc-cli.js";

const dir = mkdtempSync(join(tmpdir(), "dlc-engine-"));
const tmp = (name: string): string => join(dir, name);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const entries = (cache: string): string[] => readdirSync(cache).filter((n) => /^net-[0-9a-f]{64}\.mjs$/.test(n));

/** A small seeded generator, so the data are the same on every run. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

const NETWORKS: Record<string, string> = {
  // conv, batchnorm (running statistics at inference), pooling, dropout (off at inference), sigmoid.
  convbn: "network convbn {\n  input 8x8x2\n  conv 4 3x3 pad 1 relu\n  batchnorm\n  maxpool 2\n  dropout 0.3\n  flatten\n  dense 3 sigmoid\n}\n",
  // token ids through an embedding, a sequence LSTM and a bidirectional GRU, softmax.
  recurrent: "network recurrent {\n  input 6\n  embedding 12 8\n  lstm 10 sequences\n  gru 6 bidirectional\n  dense 5 softmax\n}\n",
  // two named inputs (data keyed by name) meeting in attention; a softmax per position.
  attention: "network attention {\n  src: input 5\n  tgt: input 4\n  from src\n  embedding 12 3\n  enc: lstm 4 sequences\n  from tgt\n  embedding 12 3\n  dec: lstm 4 sequences\n  attention dec enc dot\n  dense 6 softmax\n}\n",
};

/** Random weights (non-trivial batchnorm statistics included) from the compiled module, and random data, written for dlc run. */
async function weightsAndData(name: string, file: string, samples: number): Promise<{ weights: string; data: string }> {
  const loaded = load(file, {});
  const { module } = await openCompiledEngine(loaded, { cache: tmp("api-cache") });
  const model = new module.Model({ seed: 7, maxBatch: 1 });
  const rand = random(11);
  for (const w of module.WEIGHTS) {
    if (/moving_variance$/.test(w.name)) model.setWeight(w.name, Array.from({ length: w.size }, () => 0.5 + rand()));
    else if (/moving_mean$/.test(w.name)) model.setWeight(w.name, Array.from({ length: w.size }, () => rand() - 0.5));
  }
  const weights = tmp(`${name}-weights.json`);
  writeFileSync(weights, module.saveWeights(model, "json") as string);
  // Every embedding of these networks has a vocabulary of 12: token ids below it.
  const tokens = loaded.analysis.selected!.network.nodes.some((n) => n.kind === "embedding");
  const samplesOf = (shape: readonly number[]): unknown[] =>
    Array.from({ length: samples }, () => nest(Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => (tokens ? Math.floor(rand() * 12) : rand() * 4 - 2)), shape));
  const inputs = module.NETWORK.inputs;
  const x = inputs.length === 1 ? samplesOf(inputs[0]!.shape) : Object.fromEntries(inputs.map((i) => [i.name, samplesOf(i.shape)]));
  const data = tmp(`${name}-data.json`);
  writeFileSync(data, JSON.stringify({ x }));
  return { weights, data };
}

function nest(flat: number[], shape: readonly number[]): unknown {
  if (shape.length <= 1) return flat;
  const width = flat.length / shape[0]!;
  return Array.from({ length: shape[0]! }, (_, i) => nest(flat.slice(i * width, (i + 1) * width), shape.slice(1)));
}

const flatten = (v: unknown): number[] => (Array.isArray(v) ? v.flatMap(flatten) : [v as number]);

describe("dlc run on the compiled engine", () => {
  for (const [name, text] of Object.entries(NETWORKS)) {
    it(`${name}: equals --interpret (float64) within float32 rounding, and caches the module in one entry`, { timeout: 120_000 }, async () => {
      const file = tmp(`${name}.dl`);
      writeFileSync(file, text);
      const { weights, data } = await weightsAndData(name, file, 5);
      const cache = tmp(`${name}-cache`);
      const compiled = await dlc(["run", file, "--weights", weights, "--data", data, "--json", "--cache", cache]);
      const reference = await dlc(["run", file, "--weights", weights, "--data", data, "--json", "--interpret"]);
      expect(compiled.code, compiled.stderr).toBe(0);
      expect(reference.code, reference.stderr).toBe(0);
      const a = flatten((JSON.parse(compiled.stdout) as { outputs: unknown }).outputs);
      const b = flatten((JSON.parse(reference.stdout) as { outputs: unknown }).outputs);
      expect(a.length).toBe(b.length);
      expect(a.length).toBeGreaterThan(10);
      // Float32 arithmetic: a few units of 2^-24 relative, through a handful of layers.
      a.forEach((v, i) => expect(Math.abs(v - b[i]!)).toBeLessThan(1e-5 * Math.max(1, Math.abs(b[i]!))));
      // Not the float64 numbers themselves: the compiled engine really ran, in float32.
      expect(a.some((v, i) => v !== b[i])).toBe(true);
      expect(a.every((v) => Math.fround(v) === v)).toBe(true);
      // One cache entry; a second run (once is enough) reads it and prints the same.
      expect(entries(cache)).toHaveLength(1);
      if (name !== "convbn") return;
      const again = await dlc(["run", file, "--weights", weights, "--data", data, "--json", "--cache", cache]);
      expect(again.stdout).toBe(compiled.stdout);
      expect(entries(cache)).toHaveLength(1);
    });
  }

  it("the seed network: --precision f64 gives the float64 output to 1e-12; --threads and --kernels js run too", { timeout: 120_000 }, async () => {
    const base = ["run", "examples/seed.dl", "--weights", "examples/data/seed-weights.json", "--data", "examples/data/seed.json", "--json", "--cache", tmp("seed-cache")];
    const reference = (JSON.parse((await dlc([...base.slice(0, 7), "--interpret"])).stdout) as { outputs: number[][] }).outputs[0]![0]!;
    for (const extra of [["--precision", "f64"], ["--threads", "2"], ["--kernels", "js"]]) {
      const r = await dlc([...base, ...extra]);
      expect(r.code, r.stderr).toBe(0);
      const out = (JSON.parse(r.stdout) as { outputs: number[][] }).outputs[0]![0]!;
      expect(Math.abs(out - reference)).toBeLessThan(extra[1] === "f64" ? 1e-12 : 1e-6);
    }
    expect(entries(tmp("seed-cache"))).toHaveLength(3);
  });
});

describe("float32's range", () => {
  it("an output past float32's range is not finite (exit 1) and the message names float64's way; --interpret computes it", { timeout: 60_000 }, async () => {
    const file = tmp("lin.dl");
    writeFileSync(file, "network lin {\n  input 1\n  dense 1\n}\n");
    writeFileSync(tmp("lin-w.json"), JSON.stringify({ "dense1.kernel": [[1e30]], "dense1.bias": [0] }));
    writeFileSync(tmp("lin-d.json"), JSON.stringify({ x: [[1], [1e10]] }));
    const args = ["run", file, "--weights", tmp("lin-w.json"), "--data", tmp("lin-d.json"), "--json"];
    const compiled = await dlc([...args, "--cache", tmp("lin-cache")]);
    expect(compiled.code).toBe(1);
    expect((JSON.parse(compiled.stdout) as { outputs: unknown[][] }).outputs[1]).toEqual([null]);
    expect(compiled.stderr).toMatch(/^dlc: sample 1's output is not finite .*the compiled engine computes in float32: --precision f64 or --interpret compute in float64\)\n$/);
    const reference = await dlc([...args, "--interpret"]);
    expect(reference.code, reference.stderr).toBe(0);
    expect(JSON.parse(reference.stdout)).toEqual({ outputs: [[1e30], [1e40]] });
  });
});

describe("a network the compiled engine cannot take", () => {
  it("runs on the interpreter (which here refuses it for memory), or, asked for by a flag, is a usage error naming why", { timeout: 60_000 }, async () => {
    // 10^12 weights: past the compiled module's 4 GiB of WebAssembly memory, and past any machine's for float64.
    const file = tmp("huge.dl");
    writeFileSync(file, "network huge {\n  input 1000000\n  dense 1000000\n}\n");
    const args = ["run", file, "--weights", tmp("none.json"), "--data", tmp("none.json")];
    const plain = await dlc(args);
    expect(plain.code).toBe(2);
    expect(plain.stderr).toMatch(/^dlc: running this network needs at least .*; this machine has/);
    const asked = await dlc([...args, "--precision", "f32"]);
    expect(asked.code).toBe(2);
    expect(asked.stderr).toMatch(/^dlc: the compiled module's arrays need at least .*4\.00 GiB its WebAssembly kernels address; use --interpret\n$/);
  });
});

describe("engine flags", () => {
  const seed = ["run", "examples/seed.dl", "--weights", "examples/data/seed-weights.json", "--data", "examples/data/seed.json"];
  const cases: [string, string[], RegExp][] = [
    ["--threads 0", ["--threads", "0"], /--threads expects a whole number ≥ 1, got '0'/],
    ["--kernels simd", ["--kernels", "simd"], /option '--kernels <k>' argument 'simd' is invalid/],
    ["--precision f16", ["--precision", "f16"], /option '--precision <p>' argument 'f16' is invalid/],
    ["--precision with --interpret", ["--precision", "f64", "--interpret"], /--precision chooses how the compiled engine runs; --interpret runs the float64 interpreter instead/],
    ["--threads and --cache with --interpret", ["--interpret", "--threads", "2", "--cache", "x"], /--threads, --cache choose how the compiled engine runs/],
    ["--kernels wasm with --precision f64", ["--kernels", "wasm", "--precision", "f64"], /--kernels wasm needs --precision f32/],
    ["--threads with --kernels js", ["--threads", "2", "--kernels", "js"], /--threads 2 needs the WebAssembly kernels/],
  ];
  for (const [what, flags, message] of cases) {
    it(`${what}: a usage error (exit 2), one line, nothing on stdout`, async () => {
      const r = await dlc([...seed, ...flags]);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe("");
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
    });
  }

  it("--cache naming a file, not a folder: a usage error", async () => {
    const file = tmp("not-a-folder");
    writeFileSync(file, "x");
    const r = await dlc([...seed, "--cache", file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^dlc: --cache: cannot use .*not-a-folder as the cache folder/);
    expect(readFileSync(file, "utf8")).toBe("x");
  });
});

describe("the cache of compiled networks", () => {
  const file = "examples/seed.dl";

  it("hits on the second open; a corrupt, truncated or foreign entry is rebuilt, never run", { timeout: 60_000 }, async () => {
    const cache = tmp("entries");
    const first = await openCompiledEngine(load(file, {}), { cache });
    expect(first.fromCache).toBe(false);
    const second = await openCompiledEngine(load(file, {}), { cache });
    expect(second.fromCache).toBe(true);
    expect(second.file).toBe(first.file);
    const good = readFileSync(first.file, "utf8");
    const foreign = "export class Model {}\nexport function fit() {}\nexport function readData() {}\nexport const NETWORK = {}, WEIGHTS = [];\nthrow new Error('ran a foreign file');\n";
    for (const bad of [good.slice(0, good.length >> 1), `${good}// altered\n`, foreign, ""]) {
      writeFileSync(first.file, bad);
      const reopened = await openCompiledEngine(load(file, {}), { cache });
      expect(reopened.fromCache).toBe(false);
      expect(readFileSync(first.file, "utf8")).toBe(good);
      const model = new reopened.module.Model({ maxBatch: 1 });
      expect(model.predict([[9, 2, 7]], 1)).toHaveLength(1);
    }
  });

  it(`keeps at most ${MAX_ENTRIES} entries, evicting the least recently used and nothing else`, { timeout: 60_000 }, async () => {
    const cache = tmp("bounded");
    await openCompiledEngine(load(file, {}), { cache });
    const old = Date.now() / 1000 - 3600;
    for (let i = 0; i < MAX_ENTRIES + 5; i++) {
      const name = join(cache, `net-${i.toString(16).padStart(64, "0")}.mjs`);
      writeFileSync(name, "stale");
      utimesSync(name, old + i, old + i);
    }
    writeFileSync(join(cache, "notes.txt"), "mine");
    // Another network: a new entry, then eviction down to the bound.
    await openCompiledEngine(load(file, { inputShape: [3] }), { cache, input: [3], precision: "f64" });
    const left = entries(cache);
    expect(left).toHaveLength(MAX_ENTRIES);
    // The oldest went; the two real entries (just used) stayed.
    expect(left).not.toContain(`net-${"0".padStart(64, "0")}.mjs`);
    expect(left.filter((n) => statSync(join(cache, n)).size > 1000)).toHaveLength(2);
    expect(readFileSync(join(cache, "notes.txt"), "utf8")).toBe("mine");
  });
});

describe("no typescript at run time (a devDependency)", () => {
  it("nothing under dist/src imports it", () => {
    const files = (d: string): string[] => readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(d, e.name)) : e.name.endsWith(".js") ? [join(d, e.name)] : []));
    const all = files(join(ROOT, "dist", "src"));
    expect(all.length).toBeGreaterThan(50);
    const importers = all.filter((f) => /(?:from\s*|import\s*\(\s*|require\s*\(\s*)["']typescript(?:\/[^"']*)?["']/.test(readFileSync(f, "utf8")));
    expect(importers).toEqual([]);
  });

  it("dlc compile --target js and dlc run work with typescript unresolvable", { timeout: 60_000 }, () => {
    // A resolve hook that refuses typescript, as an install without devDependencies would.
    const hook = tmp("no-typescript.mjs");
    writeFileSync(
      hook,
      `import { register } from "node:module";\nregister("data:text/javascript," + encodeURIComponent(${JSON.stringify(
        "export async function resolve(s, c, next) { if (s === 'typescript' || s.startsWith('typescript/')) { const e = new Error('typescript is not installed'); e.code = 'ERR_MODULE_NOT_FOUND'; throw e; } return next(s, c); }",
      )}));\n`,
    );
    const node = (args: string[]): ReturnType<typeof spawnSync> => spawnSync(process.execPath, ["--import", hook, ...args], { cwd: ROOT, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
    // The hook works: typescript itself cannot be loaded.
    expect(node(["-e", "await import('typescript')", "--input-type=module"]).status).not.toBe(0);
    const out = tmp("seed-no-ts.mjs");
    const compiled = node(["bin/dlc", "compile", "examples/seed.dl", "--target", "js", "-o", out]);
    expect(compiled.status, String(compiled.stderr)).toBe(0);
    expect(readFileSync(out, "utf8")).toContain("export class Model");
    const run = node(["bin/dlc", "run", "examples/seed.dl", "--weights", "examples/data/seed-weights.json", "--data", "examples/data/seed.json", "--cache", tmp("no-ts-cache")]);
    expect(run.status, String(run.stderr)).toBe(0);
    expect(String(run.stdout)).toMatch(/^0: \[0\.74073\d+\]\n$/);
  });
});
