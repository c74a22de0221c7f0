/**
 * The exported PyTorch trainer beside dlc's compiled one, for information (issue 13): LeNet-5
 * exported as `dlc export --to pytorch` does, its train.py on 1 process and on 2 (torchrun, gloo,
 * one thread each), and dlc's compiled module training with its own loop (`model.fit`, f32,
 * WebAssembly SIMD kernels) on 1 and 2 threads, all on the same synthetic samples in one run.
 * train.py reports samples/s per epoch; its first epoch is warm-up, the rest are the runs.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { analyze } from "../src/index.js";
import { pytorchModel } from "../src/export/pytorch/model.js";
import { projectFiles, writeProject } from "../src/export/pytorch/project.js";
import { compileWorkload, compiledFitTrainer } from "./compiled-engine.js";
import { measureInTurns, perSecond, spread, type Plan, type Throughput } from "./measure.js";
import { pytorchAvailable } from "./pytorch.js";
import { ratio, type Section } from "./report.js";
import { median } from "./stats.js";
import { WORKLOADS, syntheticData, type SyntheticData, type Workload } from "./workloads.js";

const SAMPLES = 2048;
/** train.py's epochs: the first is warm-up, the others are timed runs. */
const EPOCHS = 4;
const PLAN: Plan = { warmupMs: 2000, runMs: 3000, runs: EPOCHS - 1 };

type Row = readonly string[];

/** The samples as IDX files (float32 images, byte labels), which train.py and dlc read alike. */
function writeIdx(dir: string, w: Workload, data: SyntheticData): { images: string; labels: string } {
  const dims = [data.size, ...w.inputShape];
  const header = Buffer.alloc(4 + 4 * dims.length);
  header[2] = 0x0d;
  header[3] = dims.length;
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  const body = Buffer.alloc(4 * data.x.length);
  data.x.forEach((v, i) => body.writeFloatBE(v, 4 * i));
  const images = join(dir, "bench-images-idx4-float");
  writeFileSync(images, Buffer.concat([header, body]));
  const labelHeader = Buffer.from([0, 0, 0x08, 1, 0, 0, 0, 0]);
  labelHeader.writeUInt32BE(data.size, 4);
  const labels = join(dir, "bench-labels-idx1-ubyte");
  writeFileSync(labels, Buffer.concat([labelHeader, Buffer.from(data.labels)]));
  return { images, labels };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

/** train.py's epochs on `processes` processes (torchrun for 2): samples/s of the epochs after the first, or why not. */
async function trainPy(python: string, project: string, files: { images: string; labels: string }, processes: 1 | 2): Promise<Throughput | string> {
  const args = [join(project, "train.py"), "--data", files.images, "--labels", files.labels, "--epochs", String(EPOCHS), "--batch", String(WORKLOADS.lenet5.batch), "--json"];
  // `--redirects 1 --tee 1`: torch 1.13's torchrun fails on Python 3.11 with its default `--redirects 0`.
  const launch = processes === 1 ? [] : ["-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr", "127.0.0.1", "--master_port", String(await freePort()), "--redirects", "1", "--tee", "1"];
  const env = { ...process.env, OMP_NUM_THREADS: "1", OPENBLAS_NUM_THREADS: "1", MKL_NUM_THREADS: "1" };
  const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(python, [...launch, ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (s: string) => (stdout += s));
    child.stderr.setEncoding("utf8").on("data", (s: string) => (stderr = (stderr + s).slice(-4000)));
    child.on("error", (e) => resolve({ code: -1, stdout, stderr: e.message }));
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
  if (r.code !== 0) return `failed: ${r.stderr.trim().split("\n").pop() ?? `exit ${r.code}`}`;
  const epochs = r.stdout
    .split("\n")
    .map((l) => l.replace(/^\[default\d+\]:/, "").trim())
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as { samples: number; samplesPerSecond: number });
  const perRun = epochs.slice(1).map((e) => e.samplesPerSecond);
  if (perRun.length === 0) return `printed no epochs: ${r.stdout.slice(0, 200)}`;
  return { samplesPerSecond: median(perRun), perRun, samples: epochs.slice(1).reduce((n, e) => n + e.samples, 0) };
}

export async function pytorchExportSections(): Promise<Section[]> {
  const w = WORKLOADS.lenet5;
  const data = syntheticData(w, SAMPLES);
  const rows: Row[] = [];
  const add = (engine: string, how: string, t: Throughput | string, base?: number): void => {
    if (typeof t === "string") rows.push([engine, how, t, ""]);
    else rows.push([engine, how, `${perSecond(t.samplesPerSecond)} ${spread(t)}`, base ? ratio(t.samplesPerSecond / base) : "1.00×"]);
  };

  process.stderr.write(`  ${w.label}: dlc's compiled trainer (model.fit) on 1 and 2 threads, taking turns…\n`);
  const [single, threaded] = await Promise.all([compileWorkload(w, "f32", "wasm"), compileWorkload(w, "f32", "wasm", 2)]);
  let base: number | undefined;
  if (single!.ok && threaded!.ok) {
    const trainers = [await compiledFitTrainer(w, single.module, data), await compiledFitTrainer(w, threaded.module, data, { threads: 2 })];
    try {
      const [one, two] = await measureInTurns(trainers, PLAN);
      base = one!.samplesPerSecond;
      add("dlc compiled (f32, wasm SIMD), `model.fit`", `1 thread (kernels ${trainers[0]!.kernels})`, one!);
      add("", `2 threads (\`--threads 2\`)`, two!, base);
    } finally {
      for (const t of trainers) await t.dispose?.();
    }
  } else {
    add("dlc compiled", "", [single, threaded].map((c) => (c!.ok ? "" : c!.why)).join(" "));
  }

  const available = pytorchAvailable();
  let version = "";
  if (!available.ok) {
    add("exported train.py", "", `skipped: ${available.why}`);
  } else {
    version = ` ${available.torch}`;
    const dir = mkdtempSync(join(tmpdir(), "dlc-bench-pytorch-export-"));
    try {
      const analysis = analyze(w.text);
      const model = pytorchModel(analysis.selected!, { file: `${w.name}.dl`, version: "bench", train: analysis.train });
      if (!model.text) throw new Error(`${w.label} does not export to PyTorch: ${model.diagnostics.map((d) => d.message).join("; ")}`);
      const project = join(dir, "project");
      writeProject(project, projectFiles(model.text));
      const files = writeIdx(dir, w, data);
      for (const processes of [1, 2] as const) {
        process.stderr.write(`  ${w.label}: the exported train.py on ${processes} process${processes === 1 ? "" : "es"}…\n`);
        add(processes === 1 ? `exported train.py (PyTorch${version}, float32)` : "", processes === 1 ? "1 process, 1 thread" : "2 processes (torchrun, gloo), 1 thread each", await trainPy(available.python, project, files, processes), base);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  return [
    {
      title: "PyTorch export: the exported train.py beside dlc's compiled trainer (LeNet-5)",
      intro:
        `For information: samples/s training ${w.label} (batch ${w.batch}, SGD, cross-entropy) on the same ${SAMPLES} synthetic samples. ` +
        `dlc's compiled module trains with its own loop (\`model.fit\`: shuffled epochs), the two thread counts taking turns (median of ${PLAN.runs} runs of ${PLAN.runMs / 1000} s after ${PLAN.warmupMs / 1000} s of warm-up). ` +
        `The network exported as \`dlc export --to pytorch\` writes it trains with its train.py (float32, OMP_NUM_THREADS=1 per process), ${EPOCHS} epochs: ` +
        "the median of the samples/s it prints for epochs 2 onward (torchrun's start-up and the first epoch are not counted; with 2 processes, process 0's epochs).",
      table: {
        headers: ["engine", "processes, threads", "samples/s", "÷ dlc, 1 thread"],
        align: ["left", "left", "right", "right"],
        rows,
      },
      notes: [
        "Two processes split each batch of 32 into 16 + 16 and all-reduce the gradients after every step (gloo over loopback); each step's update is the one-process update.",
        "The engines ran one after another, not at the same time; on a busy machine (see the load) more processes or threads also win a larger share of the cores.",
        available.ok ? `PyTorch: ${available.version}.` : "PyTorch: not installed.",
      ],
    },
  ];
}
