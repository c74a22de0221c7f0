/**
 * A `--threads` module bundled by esbuild into an app's script, in Node (the browser's case is in
 * browser-threads.test.ts): as an ES module bundle its worker threads start (the module takes
 * the worker over as the bundle loads, before the app's own code) and train with the same
 * weights as one thread; two threaded modules in one bundle each find their own workers; as a
 * classic-script bundle (IIFE, no import.meta.url) it trains on one thread and says why.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";
import { afterAll, describe, expect, it } from "vitest";
import { toJavaScript } from "../scripts/transpile.js";
import { compileText } from "./helpers/compiled.js";

/** Worker threads need Node ≥ 20.16 (process.getBuiltinModule). */
const describeThreads = typeof (process as { getBuiltinModule?: unknown }).getBuiltinModule === "function" ? describe : describe.skip;

const dir = mkdtempSync(join(tmpdir(), "dlc-bundle-node-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * The app: trains each network on 1 and 2 threads (5 steps, batch 8, seed 3) and prints the
 * threads used and the weights as JSON. It writes to stdout at its top level, so a worker that
 * ran the app's code would show in the output.
 */
const APP = `
import * as a from "./a.mjs";
import * as b from "./b.mjs";
const train = async (m, threads) => {
  const model = new m.Model({ maxBatch: 8, seed: 3, threads });
  await model.ready();
  for (let step = 0; step < 5; step++) model.trainStep([Array.from({ length: 96 }, (_, i) => Math.sin(i * 0.7 + step))], [0, 1, 2, 0, 1, 2, 0, 1], 8);
  const r = { threads: model.threads, used: model.shardThreads.lastThreads, w: Array.from(model.w) };
  await model.close();
  return r;
};
(async () => {
  const out = {};
  for (const [name, m] of [["a", a], ["b", b]]) for (const t of [1, 2]) out[name + t] = await train(m, t);
  process.stdout.write(JSON.stringify(out) + "\\n");
})();
`;

interface Run {
  threads: number;
  used: number;
  w: number[];
}

let written: Promise<void> | undefined;

/** The two modules and the app, written once. Two different networks, so that each module must serve its own workers. */
function writeApp(): Promise<void> {
  written ??= (async () => {
    const a = await compileText("input 12\ndense 10 relu\ndropout 0.5\ndense 3 softmax\ntrain { loss cross_entropy }\n", "f32", { threads: 2 });
    const b = await compileText("input 12\ndense 6 tanh\ndense 3 softmax\ntrain {\n  loss cross_entropy\n  optimizer adam lr 0.01\n}\n", "f32", { threads: 2 });
    writeFileSync(join(dir, "a.mjs"), await toJavaScript(a.code));
    writeFileSync(join(dir, "b.mjs"), await toJavaScript(b.code));
    writeFileSync(join(dir, "app.mjs"), APP);
  })();
  return written;
}

async function bundleAndRun(format: "esm" | "iife"): Promise<{ stdout: string; stderr: string; status: number | null }> {
  await writeApp();
  const out = join(dir, format === "esm" ? "bundle.mjs" : "bundle.cjs");
  await build({ entryPoints: [join(dir, "app.mjs")], bundle: true, format, platform: "node", outfile: out, logLevel: "silent" });
  const run = spawnSync(process.execPath, [out], { encoding: "utf8", timeout: 120_000 });
  return { stdout: run.stdout, stderr: run.stderr, status: run.status };
}

describeThreads("a --threads module bundled by esbuild, in Node", () => {
  it("as an ES module bundle: the workers start, each module serves its own, the app's code never runs in them; same weights as one thread", async () => {
    const run = await bundleAndRun("esm");
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    const lines = run.stdout.trim().split("\n");
    expect(lines).toHaveLength(1);
    const r = JSON.parse(lines[0]!) as Record<"a1" | "a2" | "b1" | "b2", Run>;
    expect([r.a2.threads, r.a2.used, r.b2.threads, r.b2.used]).toEqual([2, 2, 2, 2]);
    expect(r.a2.w).toEqual(r.a1.w);
    expect(r.b2.w).toEqual(r.b1.w);
    expect(r.a1.w).not.toEqual(r.b1.w.slice(0, r.a1.w.length));
  }, 180_000);

  it("as a classic-script (IIFE) bundle, without import.meta.url: one thread, saying why once per module", async () => {
    const run = await bundleAndRun("iife");
    expect(run.status).toBe(0);
    const why = "worker threads load this module by its URL (import.meta.url), which it has not here: bundle it as an ES module (e.g. esbuild --format=esm); training on one thread";
    expect(run.stderr.trim().split("\n")).toEqual([why, why]);
    const r = JSON.parse(run.stdout) as Record<"a1" | "a2" | "b1" | "b2", Run>;
    expect([r.a2.threads, r.b2.threads]).toEqual([1, 1]);
    expect(r.a2.w).toEqual(r.a1.w);
  }, 180_000);
});
