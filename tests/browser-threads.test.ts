/**
 * A `--threads` module in a real browser (headless Chromium, when installed: Debian's `chromium`
 * package, or DLC_CHROMIUM): inside a module Web Worker on a cross-origin isolated page it trains
 * on two Web Workers with the same weights as on one; on the page's main thread, which may not
 * block, it trains on one thread and says why. A `--fma` build runs its relaxed-SIMD kernels there.
 * Skipped where no Chromium is found.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { toJavaScript } from "../scripts/transpile.js";
import { compileText, TOLERANCE } from "./helpers/compiled.js";

const chromium = [process.env.DLC_CHROMIUM, "/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p): p is string => p !== undefined && existsSync(p));

const NETWORK = "input 12\ndense 10 relu\ndropout 0.5\ndense 3 softmax\ntrain { loss cross_entropy }\n";

const PAGE = `<!doctype html><meta charset="utf-8"><title>dlc threads</title>
<script type="module">
const post = (what, r) => fetch("/" + what, { method: "POST", body: JSON.stringify(r) });
const warnings = [];
console.warn = (t) => warnings.push(String(t));
try {
  const m = await import("./net.mjs");
  const model = new m.Model({ maxBatch: 8, threads: 2 });
  post("page", { threads: model.threads, warnings });
} catch (e) {
  post("page", { error: String(e && e.stack || e) });
}
const worker = new Worker("./driver.mjs", { type: "module" });
worker.onmessage = (e) => post("worker", e.data);
worker.onerror = (e) => post("worker", { error: "driver: " + e.message });
</script>
`;

const DRIVER = `
const out = { isolated: globalThis.crossOriginIsolated, warnings: [] };
console.warn = (t) => out.warnings.push(String(t));
try {
  // net.mjs, and the same network built with --fma (its relaxed-SIMD kernels: Chromium has them)
  for (const [file, key] of [["./net.mjs", "t"], ["./net-fma.mjs", "fma"]]) {
    const m = await import(file);
    for (const threads of [1, 2]) {
      const model = new m.Model({ maxBatch: 8, seed: 3, threads });
      await model.ready();
      for (let step = 0; step < 5; step++) {
        const x = Array.from({ length: 96 }, (_, i) => Math.sin(i * 0.7 + step));
        model.trainStep([x], [0, 1, 2, 0, 1, 2, 0, 1], 8);
      }
      out[key + threads] = { threads: model.threads, kernels: model.kernels, fma: model.fma, w: Array.from(model.w) };
      await model.close();
    }
  }
} catch (e) {
  out.error = String(e && e.stack || e);
}
postMessage(out);
`;

interface Results {
  page: { threads?: number; warnings?: string[]; error?: string };
  worker: { isolated?: boolean; warnings?: string[]; error?: string } & Partial<Record<"t1" | "t2" | "fma1" | "fma2", { threads: number; kernels: string; fma?: boolean; w: number[] }>>;
}

let server: Server | undefined;
let browser: ChildProcess | undefined;
let dir: string | undefined;
afterAll(async () => {
  // Chromium writes to its profile until it has exited: wait before removing the folder.
  // Its helper processes are in its process group (started detached): stop them all.
  if (browser?.pid !== undefined && browser.exitCode === null && browser.signalCode === null) {
    const exited = new Promise((resolve) => browser!.once("exit", resolve));
    try {
      process.kill(-browser.pid, "SIGKILL");
    } catch {
      browser.kill("SIGKILL");
    }
    await exited;
  }
  server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
});

/** Serves the files with the headers that make a page cross-origin isolated, and collects what the page posts. */
function serve(files: Readonly<Record<string, string>>): Promise<{ url: string; results: Promise<Results> }> {
  return new Promise((ready) => {
    const got: Partial<Results> = {};
    let done: (r: Results) => void = () => {};
    const results = new Promise<Results>((resolve) => (done = resolve));
    server = createServer((req, res) => {
      if (req.method === "POST") {
        let body = "";
        req.on("data", (c: Buffer) => (body += c.toString()));
        req.on("end", () => {
          res.end("ok");
          (got as Record<string, unknown>)[req.url!.slice(1)] = JSON.parse(body);
          if (got.page && got.worker) done(got as Results);
        });
        return;
      }
      const name = req.url === "/" ? "index.html" : req.url!.slice(1);
      const text = files[name];
      if (text === undefined) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { "Content-Type": name.endsWith(".html") ? "text/html" : "text/javascript", "Cross-Origin-Opener-Policy": "same-origin", "Cross-Origin-Embedder-Policy": "require-corp" });
      res.end(text);
    });
    server.listen(0, "127.0.0.1", () => {
      const address = server!.address();
      ready({ url: `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}/`, results });
    });
  });
}

describe("a --threads module in headless Chromium", () => {
  // The last comparison trains in Node too, on worker_threads (Node ≥ 20.16).
  it.skipIf(!chromium || typeof (process as { getBuiltinModule?: unknown }).getBuiltinModule !== "function")("trains on Web Workers inside a worker (same weights as one thread), and on one thread on the page", async () => {
    const compiled = await compileText(NETWORK, "f32", { threads: 2 });
    const fma = await compileText(NETWORK, "f32", { threads: 2, fma: true });
    const { url, results } = await serve({ "index.html": PAGE, "driver.mjs": DRIVER, "net.mjs": await toJavaScript(compiled.code), "net-fma.mjs": await toJavaScript(fma.code) });
    dir = mkdtempSync(join(tmpdir(), "dlc-chromium-"));
    browser = spawn(chromium!, ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", `--user-data-dir=${dir}`, url], { stdio: "ignore", detached: true });
    const r = await Promise.race([results, new Promise<never>((_, reject) => setTimeout(() => reject(new Error("no result from the browser within 60 s")), 60_000))]);
    expect(r.page.error).toBeUndefined();
    expect(r.page.threads).toBe(1);
    expect(r.page.warnings).toEqual(["a page's main thread cannot wait for worker threads: create and train the model inside a Web Worker; training on one thread"]);
    expect(r.worker.error).toBeUndefined();
    expect(r.worker.isolated).toBe(true);
    expect(r.worker.warnings).toEqual([]);
    expect(r.worker.t1!.kernels).toBe("wasm");
    expect(r.worker.t2!.threads).toBe(2);
    expect(r.worker.t2!.w).toEqual(r.worker.t1!.w);
    // And the same as Node's worker_threads train (the same module, the same steps).
    const m = new compiled.mod.Model({ maxBatch: 8, seed: 3, threads: 2 });
    for (let step = 0; step < 5; step++) m.trainStep([Array.from({ length: 96 }, (_, i) => Math.sin(i * 0.7 + step))], [0, 1, 2, 0, 1, 2, 0, 1], 8);
    expect(Array.from(m.w)).toEqual(r.worker.t1!.w);
    await m.close?.();
    // --fma: Chromium has relaxed SIMD, so its FMA kernels run, on the workers too (same weights
    // for 1 and 2 threads); they round differently, within the f32 tolerance of the plain build.
    expect(r.worker.fma1!.fma).toBe(true);
    expect(r.worker.fma2!.threads).toBe(2);
    expect(r.worker.fma2!.w).toEqual(r.worker.fma1!.w);
    expect(r.worker.fma1!.w.every((v, i) => Math.abs(v - r.worker.t1!.w[i]!) <= TOLERANCE.f32 * Math.max(1, Math.abs(v)))).toBe(true);
  }, 90_000);
});
