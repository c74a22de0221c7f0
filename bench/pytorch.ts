/**
 * PyTorch's CPU build as a baseline, when `python3 -c "import torch"` works: bench/pytorch_train.py
 * on the same samples, with OMP_NUM_THREADS (and OpenBLAS/MKL) pinned to 1 or 2 threads —
 * unpinned it oversubscribes a small machine's cores and reads slower than it is.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { CaseResult } from "./cases.js";
import type { Plan } from "./measure.js";
import { median } from "./stats.js";
import { LEARNING_RATE, type SyntheticData, type Workload } from "./workloads.js";

/** bench/pytorch_train.py in the repository (this file runs from dist/bench/). */
const SCRIPT = fileURLToPath(new URL("../../bench/pytorch_train.py", import.meta.url));

let probe: { ok: true; version: string } | { ok: false; why: string } | undefined;

/** Whether PyTorch imports, and if not, why (the last line python3 printed). */
export function pytorchAvailable(): { ok: true; version: string } | { ok: false; why: string } {
  if (probe) return probe;
  const r = spawnSync("python3", ["-c", "import torch; print(torch.__version__)"], { encoding: "utf8", timeout: 60_000 });
  if (r.error) probe = { ok: false, why: `python3 did not run (${r.error.message})` };
  else if (r.status !== 0) {
    const last = r.stderr.trim().split("\n").pop() ?? `exit status ${r.status}`;
    probe = { ok: false, why: `\`python3 -c "import torch"\` failed: ${last}` };
  } else probe = { ok: true, version: r.stdout.trim() };
  return probe;
}

export function pytorchCase(w: Workload, data: SyntheticData, threads: 1 | 2, plan: Plan): CaseResult {
  const available = pytorchAvailable();
  if (!available.ok) return { status: "unavailable", why: `skipped: ${available.why}` };
  if (w.loss !== "cross_entropy") return { status: "unavailable", why: "not part of the comparison" };
  const dir = mkdtempSync(join(tmpdir(), "dlc-bench-torch-"));
  try {
    const x = join(dir, "x.f32");
    const labels = join(dir, "labels.i32");
    const xf = Float32Array.from(data.x);
    writeFileSync(x, new Uint8Array(xf.buffer, xf.byteOffset, xf.byteLength));
    writeFileSync(labels, new Uint8Array(data.labels.buffer, data.labels.byteOffset, data.labels.byteLength));
    const config = { network: w.layers, threads, x, labels, size: data.size, inputShape: w.inputShape, batch: w.batch, lr: LEARNING_RATE, ...plan };
    const n = String(threads);
    const r = spawnSync("python3", [SCRIPT, JSON.stringify(config)], {
      encoding: "utf8",
      timeout: 300_000,
      env: { ...process.env, OMP_NUM_THREADS: n, OPENBLAS_NUM_THREADS: n, MKL_NUM_THREADS: n },
    });
    if (r.status !== 0) return { status: "unavailable", why: `failed: ${(r.stderr || r.error?.message || "").trim().split("\n").pop()}` };
    const out = JSON.parse(r.stdout.trim().split("\n").pop()!) as { perRun: number[] };
    const samples = out.perRun.reduce((a, b) => a + b, 0) * (plan.runMs / 1000);
    return { status: "ok", throughput: { samplesPerSecond: median(out.perRun), perRun: out.perRun, samples } };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
