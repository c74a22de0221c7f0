/**
 * A `--threads` module in a real browser (headless Chromium via playwright-core, see
 * helpers/chromium.ts), in three settings, each training the same steps as Node on one thread and
 * required to end with the same weights:
 * - a plain page (no cross-origin isolation, so no SharedArrayBuffer): on the page and in a
 *   module worker the model trains on one thread and says why once;
 * - a cross-origin isolated page: in a module worker it trains on two Web Workers (also the
 *   `--fma` build, whose relaxed-SIMD kernels Chromium has); on the page's main thread, which may
 *   not block, on one thread, saying why;
 * - an esbuild bundle of the worker (the module inlined into the app's code): its Web Workers
 *   still start, and train on two threads.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import type { Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { toJavaScript } from "../scripts/transpile.js";
import { chromiumSkipReason, launchChromium, serveFiles } from "./helpers/chromium.js";
import { compileText, TOLERANCE, type Compiled } from "./helpers/compiled.js";

const NETWORK = "input 12\ndense 10 relu\ndropout 0.5\ndense 3 softmax\ntrain { loss cross_entropy }\n";
const STEPS = 5;

/** Trains a module's Model on `threads` threads (5 steps, batch 8, seed 3): what it used and said, and the weights. */
const TRAIN = `
export async function train(m, threads) {
  const warnings = [];
  const warn = console.warn;
  console.warn = (t) => warnings.push(String(t));
  try {
    const model = new m.Model({ maxBatch: 8, seed: 3, threads });
    // A guard against a hang (workers that never start), not a time limit on the result.
    await Promise.race([model.ready(), new Promise((_, reject) => setTimeout(() => reject(new Error("the workers did not start within 30 s")), 30000))]);
    for (let step = 0; step < ${STEPS}; step++) {
      const x = Array.from({ length: 96 }, (_, i) => Math.sin(i * 0.7 + step));
      model.trainStep([x], [0, 1, 2, 0, 1, 2, 0, 1], 8);
    }
    const r = { threads: model.threads, used: model.shardThreads ? model.shardThreads.lastThreads : 1, kernels: model.kernels, fma: model.fma, w: Array.from(model.w), warnings };
    await model.close();
    return r;
  } finally {
    console.warn = warn;
  }
}
`;

/** The module worker: both builds on 1 and 2 threads. Bundled by esbuild for the bundle case. */
const WORKER = `
import { train } from "./train.mjs";
import * as net from "./net.mjs";
import * as fma from "./net-fma.mjs";
const out = { isolated: globalThis.crossOriginIsolated };
try {
  out.t1 = await train(net, 1);
  out.t2 = await train(net, 2);
  out.fma1 = await train(fma, 1);
  out.fma2 = await train(fma, 2);
} catch (e) {
  out.error = String(e && e.stack || e);
}
postMessage(out);
`;

/** The page: the module on its main thread (2 threads asked), then the worker named in ?worker=. */
const PAGE = `<!doctype html><meta charset="utf-8"><title>dlc threads</title>
<script type="module">
import { train } from "./train.mjs";
const results = {};
try {
  results.page = await train(await import("./net.mjs"), 2);
} catch (e) {
  results.page = { error: String(e && e.stack || e) };
}
const worker = new Worker(new URLSearchParams(location.search).get("worker"), { type: "module" });
worker.onmessage = (e) => (results.worker = e.data, window.results = results);
worker.onerror = (e) => (results.worker = { error: "worker: " + e.message }, window.results = results);
</script>
`;

interface Run {
  threads: number;
  used: number;
  kernels: string;
  fma?: boolean;
  w: number[];
  warnings: string[];
}
interface Results {
  page: Run & { error?: string };
  worker: { isolated?: boolean; error?: string } & Partial<Record<"t1" | "t2" | "fma1" | "fma2", Run>>;
}

const MAIN_THREAD = "a page's main thread cannot wait for worker threads: create and train the model inside a Web Worker";
const NOT_ISOLATED = "worker threads share memory, which needs a cross-origin isolated page (Cross-Origin-Opener-Policy and Cross-Origin-Embedder-Policy headers)";
const ONE_THREAD = "; training on one thread";

let browser: Browser | undefined;
let server: Server | undefined;
let base = "";
let compiled: Compiled;
/** The weights after the same steps in Node, on one thread: what every browser run must give. */
let reference: number[];

beforeAll(async () => {
  if (chromiumSkipReason) return;
  compiled = await compileText(NETWORK, "f32", { threads: 2 });
  const fma = await compileText(NETWORK, "f32", { threads: 2, fma: true });
  const files: Record<string, string> = { "index.html": PAGE, "train.mjs": TRAIN, "worker.mjs": WORKER, "net.mjs": await toJavaScript(compiled.code), "net-fma.mjs": await toJavaScript(fma.code) };
  // The worker bundled as an app would be: one file, the modules inlined (esbuild's ESM output).
  const dir = mkdtempSync(join(tmpdir(), "dlc-bundle-"));
  try {
    for (const name of ["train.mjs", "worker.mjs", "net.mjs", "net-fma.mjs"]) writeFileSync(join(dir, name), files[name]!);
    const bundled = await build({ entryPoints: [join(dir, "worker.mjs")], bundle: true, format: "esm", platform: "browser", write: false, logLevel: "silent" });
    files["bundle.js"] = bundled.outputFiles[0]!.text;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const m = new compiled.mod.Model({ maxBatch: 8, seed: 3, threads: 1 });
  for (let step = 0; step < STEPS; step++) m.trainStep([Array.from({ length: 96 }, (_, i) => Math.sin(i * 0.7 + step))], [0, 1, 2, 0, 1, 2, 0, 1], 8);
  reference = Array.from(m.w);
  await m.close?.();
  const served = await serveFiles(files);
  server = served.server;
  base = served.url;
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  server?.close();
});

/** Opens the page under /iso/ or /plain/ with the given worker script and returns what it reports. */
async function open(where: "iso" | "plain", worker: string): Promise<Results> {
  const page = await browser!.newPage();
  try {
    await page.goto(`${base}${where}/?worker=${worker}`);
    await page.waitForFunction(() => (window as unknown as { results?: unknown }).results !== undefined, undefined, { timeout: 60_000 });
    return (await page.evaluate(() => (window as unknown as { results: unknown }).results)) as Results;
  } finally {
    await page.close();
  }
}

describe.skipIf(chromiumSkipReason !== undefined)(`a --threads module in headless Chromium${chromiumSkipReason ? ` (skipped: ${chromiumSkipReason})` : ""}`, () => {
  it("on a plain page (no cross-origin isolation) trains on one thread, says why once, same weights", async () => {
    const r = await open("plain", "worker.mjs");
    expect(r.page.error).toBeUndefined();
    expect(r.page.threads).toBe(1);
    expect(r.page.warnings).toEqual([`${MAIN_THREAD}, and ${NOT_ISOLATED}${ONE_THREAD}`]);
    expect(r.page.w).toEqual(reference);
    expect(r.worker.error).toBeUndefined();
    expect(r.worker.isolated).toBe(false);
    expect(r.worker.t1!.warnings).toEqual([]);
    expect(r.worker.t1!.w).toEqual(reference);
    expect(r.worker.t2!.threads).toBe(1);
    expect(r.worker.t2!.warnings).toEqual([NOT_ISOLATED + ONE_THREAD]);
    expect(r.worker.t2!.w).toEqual(reference);
    expect(r.worker.fma2!.threads).toBe(1);
    expect(r.worker.fma2!.w).toEqual(r.worker.fma1!.w);
  }, 90_000);

  it("on a cross-origin isolated page trains on two Web Workers inside a worker (same weights), on one thread on the page", async () => {
    const r = await open("iso", "worker.mjs");
    expect(r.page.error).toBeUndefined();
    expect(r.page.threads).toBe(1);
    expect(r.page.warnings).toEqual([MAIN_THREAD + ONE_THREAD]);
    expect(r.page.w).toEqual(reference);
    expect(r.worker.error).toBeUndefined();
    expect(r.worker.isolated).toBe(true);
    expect(r.worker.t1!.kernels).toBe("wasm");
    expect(r.worker.t2!.threads).toBe(2);
    expect(r.worker.t2!.used).toBe(2);
    expect(r.worker.t2!.warnings).toEqual([]);
    expect(r.worker.t1!.w).toEqual(reference);
    expect(r.worker.t2!.w).toEqual(reference);
    // --fma: Chromium has relaxed SIMD, so its FMA kernels run, on the workers too (same weights
    // for 1 and 2 threads); they round differently, within the f32 tolerance of the plain build.
    expect(r.worker.fma1!.fma).toBe(true);
    expect(r.worker.fma2!.used).toBe(2);
    expect(r.worker.fma2!.w).toEqual(r.worker.fma1!.w);
    expect(r.worker.fma1!.w.every((v, i) => Math.abs(v - reference[i]!) <= TOLERANCE.f32 * Math.max(1, Math.abs(v)))).toBe(true);
  }, 90_000);

  it("bundled by esbuild (the modules inlined into one worker script), its Web Workers start and train on two threads (same weights)", async () => {
    const r = await open("iso", "bundle.js");
    expect(r.worker.error).toBeUndefined();
    expect(r.worker.t2!.threads).toBe(2);
    expect(r.worker.t2!.used).toBe(2);
    expect(r.worker.t2!.warnings).toEqual([]);
    expect(r.worker.t2!.w).toEqual(reference);
    expect(r.worker.fma2!.used).toBe(2);
    expect(r.worker.fma2!.w).toEqual(r.worker.fma1!.w);
  }, 90_000);
});
