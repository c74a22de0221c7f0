/**
 * PyTorch's CPU build as a baseline, when a python imports torch (DLC_BENCH_PYTHON, else the first of
 * `python3`, `/usr/bin/python3` that does): bench/pytorch_train.py on the same samples, with
 * OMP_NUM_THREADS (and OpenBLAS/MKL) pinned to 1 or 2 threads — unpinned it oversubscribes a
 * small machine's cores and reads slower than it is.
 */
import { spawn, spawnSync } from "node:child_process";
import { createInterface } from "node:readline";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { CaseResult } from "./cases.js";
import type { Plan, Trainer } from "./measure.js";
import { median } from "./stats.js";
import { LEARNING_RATE, type SyntheticData, type Workload } from "./workloads.js";

/** bench/pytorch_train.py in the repository (this file runs from dist/bench/). */
const SCRIPT = fileURLToPath(new URL("../../bench/pytorch_train.py", import.meta.url));

/** The interpreters tried, in order, when DLC_BENCH_PYTHON is not set (Debian's python3-torch is for /usr/bin/python3 only). */
const CANDIDATES = ["python3", "/usr/bin/python3"] as const;

/**
 * Prints torch's version and the BLAS library the process mapped (Debian's torch uses whatever
 * libblas.so.3 the alternatives system points at, possibly the slow reference BLAS; pip's wheels
 * link MKL statically, so none shows), as JSON on the last line.
 */
const PROBE =
  "import json, torch\n" +
  "libs = set()\n" +
  "try:\n" +
  "    for line in open('/proc/self/maps'):\n" +
  "        f = line.split()[-1]\n" +
  "        n = f.rsplit('/', 1)[-1].lower()\n" +
  "        if f.startswith('/') and ('blas' in n or n.startswith('libmkl')): libs.add(f)\n" +
  "except OSError:\n" +
  "    pass\n" +
  "print(json.dumps({'version': torch.__version__, 'blas': sorted(libs)}))\n";

export type PytorchProbe =
  | {
      readonly ok: true;
      /** The interpreter that imports torch: DLC_BENCH_PYTHON, or the first of `CANDIDATES` that works. */
      readonly python: string;
      /** torch.__version__. */
      readonly torch: string;
      /** BLAS libraries the interpreter mapped after `import torch` (empty when linked statically). */
      readonly blas: readonly string[];
      /** For the tables: torch's version, the interpreter and the BLAS library. */
      readonly version: string;
    }
  | { readonly ok: false; readonly why: string };

let probe: PytorchProbe | undefined;

/** Whether `python -c "import torch"` works, and if not, why (the last line it printed to stderr). */
function tryPython(python: string): { ok: true; torch: string; blas: string[] } | { ok: false; why: string } {
  const r = spawnSync(python, ["-c", PROBE], { encoding: "utf8", timeout: 60_000 });
  if (r.error) return { ok: false, why: `did not run (${r.error.message})` };
  if (r.status !== 0) return { ok: false, why: r.stderr.trim().split("\n").pop() || `exit status ${r.status ?? r.signal}` };
  try {
    const out = JSON.parse(r.stdout.trim().split("\n").pop() ?? "") as { version: string; blas: string[] };
    return { ok: true, torch: out.version, blas: out.blas };
  } catch {
    return { ok: false, why: `printed no version: ${r.stdout.trim().slice(0, 200)}` };
  }
}

/**
 * Which interpreter imports PyTorch: DLC_BENCH_PYTHON if set (only that one), else the first of
 * `python3`, `/usr/bin/python3` that does. If none does, `why` names every one tried and its error.
 */
export function pytorchAvailable(): PytorchProbe {
  if (probe) return probe;
  const fromEnv = process.env["DLC_BENCH_PYTHON"];
  const candidates = fromEnv ? [fromEnv] : CANDIDATES;
  const failures: string[] = [];
  for (const python of candidates) {
    const r = tryPython(python);
    if (r.ok) {
      // Debian's alternatives: …/blas/libblas.so.3 is the netlib reference BLAS (unoptimised, one thread), …/openblas-*/ OpenBLAS.
      const named = r.blas.map((f) => (/\/blas\/libblas\.so/.test(f) ? `${f}: the reference BLAS, unoptimised` : f));
      const blas = named.length > 0 ? `, BLAS ${named.join(" + ")}` : "";
      return (probe = { ok: true, python, torch: r.torch, blas: r.blas, version: `${r.torch} (${python}${blas})` });
    }
    failures.push(`\`${python} -c "import torch"\` failed: ${r.why}`);
  }
  const hint = fromEnv ? "DLC_BENCH_PYTHON is set, so only it was tried" : "set DLC_BENCH_PYTHON to a python with torch";
  return (probe = { ok: false, why: `no python imports torch (${failures.join("; ")}; ${hint})` });
}

/** The samples written where bench/pytorch_train.py reads them, and its config; `remove` deletes the files. */
function scriptInput(w: Workload, data: SyntheticData, threads: 1 | 2): { config: Record<string, unknown>; env: NodeJS.ProcessEnv; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), "dlc-bench-torch-"));
  const x = join(dir, "x.f32");
  const labels = join(dir, "labels.i32");
  const xf = Float32Array.from(data.x);
  writeFileSync(x, new Uint8Array(xf.buffer, xf.byteOffset, xf.byteLength));
  writeFileSync(labels, new Uint8Array(data.labels.buffer, data.labels.byteOffset, data.labels.byteLength));
  const n = String(threads);
  return {
    config: { network: w.layers, threads, x, labels, size: data.size, inputShape: w.inputShape, batch: w.batch, lr: LEARNING_RATE },
    env: { ...process.env, OMP_NUM_THREADS: n, OPENBLAS_NUM_THREADS: n, MKL_NUM_THREADS: n },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Why PyTorch cannot train `w` here, if it cannot. */
function unavailable(w: Workload): { python: string; why?: undefined } | { why: string } {
  const available = pytorchAvailable();
  if (!available.ok) return { why: `skipped: ${available.why}` };
  if (w.loss !== "cross_entropy") return { why: "not part of the comparison" };
  return { python: available.python };
}

/** PyTorch trains `w` in one child process: warm-up, then the plan's runs. */
export function pytorchCase(w: Workload, data: SyntheticData, threads: 1 | 2, plan: Plan): CaseResult {
  const u = unavailable(w);
  if (u.why !== undefined) return { status: "unavailable", why: u.why };
  const input = scriptInput(w, data, threads);
  try {
    const r = spawnSync(u.python, [SCRIPT, JSON.stringify({ ...input.config, ...plan })], { encoding: "utf8", timeout: 300_000, env: input.env });
    if (r.status !== 0) return { status: "unavailable", why: `failed: ${(r.stderr || r.error?.message || "").trim().split("\n").pop()}` };
    const out = JSON.parse(r.stdout.trim().split("\n").pop()!) as { perRun: number[] };
    const samples = out.perRun.reduce((a, b) => a + b, 0) * (plan.runMs / 1000);
    return { status: "ok", throughput: { samplesPerSecond: median(out.perRun), perRun: out.perRun, samples } };
  } finally {
    input.remove();
  }
}

/**
 * PyTorch as a Trainer that takes turns with the bench's own engines: one child process, set up
 * once, trains for `ms` at each `run` (a line on its stdin) and answers with what it trained.
 */
export async function pytorchTrainer(w: Workload, data: SyntheticData, threads: 1 | 2): Promise<{ ok: true; trainer: Trainer } | { ok: false; why: string }> {
  const u = unavailable(w);
  if (u.why !== undefined) return { ok: false, why: u.why };
  const input = scriptInput(w, data, threads);
  const child = spawn(u.python, [SCRIPT, JSON.stringify({ ...input.config, serve: true })], { env: input.env, stdio: ["pipe", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (s: string) => (stderr = (stderr + s).slice(-4000)));
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const failure = (): string => `failed: ${stderr.trim().split("\n").pop() || "the python process ended"}`;
  const nextLine = async (): Promise<Record<string, unknown>> => {
    const next = await lines.next();
    if (next.done) throw new Error(failure());
    return JSON.parse(next.value) as Record<string, unknown>;
  };
  const stop = (): void => {
    child.stdin.end("quit\n");
    child.kill();
    input.remove();
  };
  child.on("error", () => undefined); // reported as the end of stdout
  try {
    await nextLine(); // "ready": torch imported, the samples read, the model built
  } catch (e) {
    stop();
    return { ok: false, why: e instanceof Error ? e.message : String(e) };
  }
  const trainer: Trainer = {
    cpuElsewhere: true,
    async run(ms) {
      child.stdin.write(`run ${ms}\n`);
      const r = await nextLine();
      return { samples: Number(r["samples"]), seconds: Number(r["seconds"]) };
    },
    dispose: stop,
  };
  return { ok: true, trainer };
}
