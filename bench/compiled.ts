/**
 * The compiler's benchmark (issue 4): training throughput of the compiled module (one thread,
 * and compiled with `--threads 2` on two threads) against the interpreter, TensorFlow.js (cpu,
 * wasm) and PyTorch; the issues' ratios with targets;
 * `dlc compile` time on ResNet-50 and generated code size against the number of layers.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateModule } from "../src/codegen/compile.js";
import { formatModule, formattedRuntime } from "../src/codegen/format.js";
import { moduleParts } from "../src/codegen/module.js";
import { plan } from "../src/codegen/plan.js";
import { buildSourceMap } from "../src/codegen/sourcemap.js";
import { analyze } from "../src/index.js";
import { COMPILED_THREADS, DATA_SIZE, ENGINE_LABELS, IN_TURNS, PLAN, TURNS_PLAN, runCase, type CaseResult, type Engine } from "./cases.js";
import { CPU_NOTE, cpuColumns, gflops, perSecond, spread } from "./measure.js";
import { pytorchAvailable } from "./pytorch.js";
import { count, load, ms, ratio, type Section } from "./report.js";
import { timeProcesses } from "./spawn.js";
import { median, minimum } from "./stats.js";
import { loadTf } from "./tfjs.js";
import { BATCH, LEARNING_RATE, WORKLOADS, macsPerSample, trainFlopsPerSample, type WorkloadName } from "./workloads.js";

/** The throughput table's workloads and, for each, the engines that train it. */
const ALL_ENGINES: readonly Engine[] = ["compiled", "compiled-js", "interp", "tfjs-cpu", "tfjs-wasm", "pytorch-1", "pytorch-2"];
/** With the two-thread build (`--threads 2` on 2 threads) after the default one, then both trained by `model.fit`. */
const WITH_THREADS: readonly Engine[] = ["compiled", "compiled-threads2", "compiled-fit", "compiled-threads2-fit", "compiled-fma", ...ALL_ENGINES.slice(1)];
const CASES: readonly { network: WorkloadName; engines: readonly Engine[] }[] = [
  { network: "mlp", engines: WITH_THREADS },
  { network: "lenet5", engines: WITH_THREADS },
  { network: "lstm", engines: ALL_ENGINES },
  // Batch 16: for the fast-path issue's LSTM-vs-PyTorch ratio; TF.js wasm as information.
  { network: "lstm16", engines: ["compiled", "compiled-threads2", "compiled-fma", "compiled-js", "tfjs-wasm", "pytorch-1", "pytorch-2"] },
];

/** The workloads the two-thread build trains (the fast-path issue's networks). */
const THREADED_NETWORKS: readonly WorkloadName[] = CASES.filter((c) => c.engines.includes("compiled-threads2")).map((c) => c.network);

export const COMPILER_TARGETS = {
  /** `dlc compile examples/resnet50.dl`, ms. */
  compileResnet: 2000,
} as const;

/** One ratio: `engine`'s samples/s over `over`'s on `network`; no target = information only. */
interface RatioSpec {
  readonly network: WorkloadName;
  readonly engine: Engine;
  readonly over: Engine;
  readonly target?: number;
  /** What the comparison is called after the network's label, if not "engine ÷ over". */
  readonly label?: string;
}

/**
 * The compiler issue's ratios, for "the compiled module (f32)": the default build (WebAssembly
 * SIMD kernels). The pure-TypeScript build (`kernels: "js"`) follows as information.
 */
const COMPILER_ISSUE_RATIOS: readonly RatioSpec[] = [
  { network: "mlp", engine: "compiled", over: "tfjs-wasm", target: 1.5 },
  { network: "mlp", engine: "compiled", over: "tfjs-cpu", target: 5 },
  { network: "lenet5", engine: "compiled", over: "tfjs-cpu", target: 50 },
  { network: "lstm", engine: "compiled", over: "tfjs-wasm", target: 2 },
  { network: "lenet5", engine: "compiled", over: "interp", target: 20 },
  { network: "mlp", engine: "compiled-js", over: "tfjs-wasm" },
  { network: "mlp", engine: "compiled-js", over: "tfjs-cpu" },
  { network: "lenet5", engine: "compiled-js", over: "tfjs-cpu" },
  { network: "lstm", engine: "compiled-js", over: "tfjs-wasm" },
  { network: "lenet5", engine: "compiled-js", over: "interp" },
];

/** The fast-path issue's ratios: the default build, WebAssembly SIMD matmul kernels. */
const FAST_PATH_RATIOS: readonly RatioSpec[] = [
  // Every network TF.js can train: ≥ 10× its wasm backend. It cannot train LeNet's convolutions.
  { network: "mlp", engine: "compiled", over: "tfjs-wasm", target: 10 },
  { network: "lenet5", engine: "compiled", over: "tfjs-wasm", target: 10 },
  { network: "lstm", engine: "compiled", over: "tfjs-wasm", target: 10 },
  { network: "lenet5", engine: "compiled", over: "tfjs-cpu" },
  { network: "lstm16", engine: "compiled", over: "tfjs-wasm" },
  // PyTorch's CPU build, one thread (the LSTM case at batch 16).
  { network: "mlp", engine: "compiled", over: "pytorch-1", target: 1.0 },
  { network: "lenet5", engine: "compiled", over: "pytorch-1", target: 0.6 },
  { network: "lstm16", engine: "compiled", over: "pytorch-1", target: 0.6 },
  // Two threads (`dlc compile --threads 2`, the Model on 2 threads) against PyTorch on one.
  { network: "lenet5", engine: "compiled-threads2", over: "pytorch-1", target: 1.0 },
  // Information: each network's speed-up from the second thread.
  ...THREADED_NETWORKS.map(
    (network): RatioSpec => ({ network, engine: "compiled-threads2", over: "compiled", label: `dlc wasm-kernel build, ${COMPILED_THREADS} threads (--threads ${COMPILED_THREADS}) ÷ 1 thread (no --threads)` }),
  ),
  // Information: the opt-in relaxed-SIMD build (dlc compile --fma), which the targets may not rely on.
  ...CASES.filter((c) => c.engines.includes("compiled-fma")).flatMap(({ network }): RatioSpec[] => [
    { network, engine: "compiled-fma", over: "pytorch-1", label: "dlc wasm-kernel build with --fma (relaxed SIMD) ÷ PyTorch CPU, 1 thread" },
    { network, engine: "compiled-fma", over: "compiled", label: "dlc wasm-kernel build with --fma (relaxed SIMD) ÷ without" },
  ]),
  // Information: how much of trainStep's speed the module's own training loop keeps.
  ...CASES.filter((c) => c.engines.includes("compiled-fit")).map(
    ({ network }): RatioSpec => ({ network, engine: "compiled-fit", over: "compiled", label: "dlc wasm-kernel build, model.fit ÷ trainStep, 1 thread" }),
  ),
  ...CASES.filter((c) => c.engines.includes("compiled-threads2-fit")).map(
    ({ network }): RatioSpec => ({
      network,
      engine: "compiled-threads2-fit",
      over: "compiled-threads2",
      label: `dlc wasm-kernel build, model.fit ÷ trainStep, ${COMPILED_THREADS} threads (--threads ${COMPILED_THREADS})`,
    }),
  ),
];

export interface CompilerOptions {
  readonly root: string;
  /** Layer counts of the code-size table. */
  readonly sizes?: readonly number[];
}

export async function compilerSections(options: CompilerOptions): Promise<Section[]> {
  const results = new Map<string, CaseResult>();
  const loadBefore = load().text;
  for (const { network, engines } of CASES) for (const engine of engines) results.set(`${engine}/${network}`, await runCase(engine, network));
  const loadText = `Load average (1 min): ${loadBefore} before these cases, ${load().text} after.`;
  const get = (e: Engine, n: WorkloadName): CaseResult => results.get(`${e}/${n}`) ?? { status: "unavailable", why: "not run" };
  return [
    await throughputSection(get, loadText),
    compilerIssueRatios(get),
    fastPathRatios(get),
    await compileTimeSection(options.root),
    codeSizeSection(options.sizes ?? [10, 100, 1_000, 10_000]),
  ];
}

type Lookup = (e: Engine, n: WorkloadName) => CaseResult;

const sps = (r: CaseResult): number | undefined => (r.status === "ok" ? r.throughput.samplesPerSecond : undefined);

async function throughputSection(get: Lookup, loadText: string): Promise<Section> {
  const rows: string[][] = [];
  for (const { network: n, engines } of CASES) {
    const w = WORKLOADS[n];
    const flops = trainFlopsPerSample(w);
    const wasmBuild = sps(get("compiled", n));
    for (const e of engines) {
      const r = get(e, n);
      const first = e === engines[0];
      const label = first ? w.label : "";
      const macs = first ? count(macsPerSample(w)) : "";
      if (r.status !== "ok") {
        rows.push([label, macs, ENGINE_LABELS[e], "—", "", "", "", "", "", r.why]);
        continue;
      }
      const v = r.throughput.samplesPerSecond;
      rows.push([
        label,
        macs,
        ENGINE_LABELS[e],
        perSecond(v),
        spread(r.throughput),
        ...cpuColumns(r.throughput),
        gflops((v * flops) / 1e9),
        wasmBuild === undefined || e === "compiled" ? "" : ratio(wasmBuild / v),
        r.note ?? "",
      ]);
    }
  }
  const tf = await loadTf();
  const torch = pytorchAvailable();
  return {
    title: `Compiler: training throughput against other engines (batch ${BATCH}; the LSTM also at batch 16)`,
    intro:
      `Each engine trains the same layers on the same ${DATA_SIZE} synthetic samples (uniform in [−1, 1), random labels), ` +
      `batch ${BATCH} (16 in the \"batch 16\" rows), plain SGD (lr ${LEARNING_RATE}), cross-entropy on a softmax output, cycling through the batches. ` +
      `Warm-up ${PLAN.warmupMs / 1000} s, then the median of ${PLAN.runs} runs of ${PLAN.runMs / 1000} s (at least one batch each); cases run one after another, ` +
      `except the two sides of each PyTorch target (${inTurnsText()}): those engines take turns — each warms up, then run by run each trains ${TURNS_PLAN.runMs / 1000} s, ` +
      `${TURNS_PLAN.runs} runs each, the median reported — so that a slower spell on the machine lands on both sides of the ratio instead of deciding it. ${loadText} ` +
      "Timings on a loaded machine are noisy: compare the CPU columns.",
    table: {
      headers: ["network", "MACs / sample", "engine", "samples/s", "spread", "samples / CPU-s", "CPU share", "GFLOP/s", "wasm-kernel build ×", "note"],
      align: ["left", "right", "left", "right", "right", "right", "right", "right", "right", "left"],
      rows,
    },
    notes: [
      CPU_NOTE +
        " PyTorch runs in its own process: its CPU columns stay empty. " +
        `The ${COMPILED_THREADS}-thread dlc rows count both threads' CPU time (the worker threads are this process's), so their samples / CPU-s is samples per core-second, ` +
        `not a one-core speed: about samples/s ÷ ${COMPILED_THREADS} when both threads keep busy, and a CPU share near ${100 * COMPILED_THREADS}% is expected there.`,
      "GFLOP/s = samples/s × 6 × MACs / 1e9: a forward pass is 2·MACs FLOPs and the backward pass about twice that (input and weight gradients). " +
        "Elementwise work (activations, pooling, LSTM gates), the loss and the optimizer are not counted.",
      "dlc compiled: `generateModule` + `toJavaScript` (f32) written to a temporary .mjs and imported; `trainStep(x, oneHot, batch)` per batch. Two builds of the same network: " +
        "`kernels: \"wasm\"` (the default: f32x4 WebAssembly SIMD matmul kernels generated for the network's shapes, every array in one WebAssembly memory) and " +
        "`kernels: \"js\"` (the pure-TypeScript module: the JS 4×4-tiled matmul helpers on Float32Arrays). `model.kernels` is checked after construction; a note says if the wasm build fell back to JS. " +
        "\"wasm-kernel build ×\" = the (one-thread) wasm build's samples/s ÷ this row's: under 1× where a row is faster, as the two-thread rows should be. " +
        `dlc compiled, --threads ${COMPILED_THREADS}: the wasm build generated with \`threads: ${COMPILED_THREADS}\` (\`dlc compile --threads ${COMPILED_THREADS}\`: each batch split into ${COMPILED_THREADS} shards) ` +
        `and its Model made with \`threads: ${COMPILED_THREADS}\` (the main thread and a worker thread over shared WebAssembly memory; \`model.threads\` is checked, \`model.close()\` stops the worker after the case). ` +
        "It trains the MLP, LeNet-5 and the batch-16 LSTM, the fast-path issue's networks. " +
        "\"model.fit\" rows (MLP, LeNet-5): the same two builds trained by the module's own loop, `model.fit(readData({ x, y }), { epochs, batch, lr })` (what `node net.mjs train` runs), " +
        "on the same samples with class-index targets (read once, before the timing): beyond trainStep, fit shuffles the samples every epoch, copies each batch's rows into its batch arrays, " +
        "checks each batch's loss, and every weight (capturing the training state to go back to) only every 250 ms and at each epoch's end (a divergence found there is replayed batch by batch to undo exactly the diverging batch), counts each batch's training accuracy, and yields to the event loop every 10 ms. " +
        "The warm-up calls fit one epoch at a time; each timed run is one fit call of as many epochs as should last the run time. " +
        "dlc compiled, --fma (MLP, LeNet-5, batch-16 LSTM; information only: the targets may not rely on relaxed SIMD): the wasm build generated with `fma: true` (`dlc compile --fma`), " +
        "trained as the default build is, in a child Node given relaxed SIMD (`--experimental-wasm-relaxed-simd` on Node 20; bench/fma-child.ts); `model.fma` is checked, and a note says if the plain kernels ran. " +
        "Its plan is the same; its CPU columns are the child's own. " +
        "dlc interpreter: `train()` of src/interp, float64.",
      "LSTM: the last step's hidden state feeds dense 10 softmax; TF.js is given `recurrentActivation: 'sigmoid'` (its default is hardSigmoid), as dlc and PyTorch use. " +
        "The batch-16 LSTM runs only the engines its ratios need (the dlc builds, TF.js wasm, PyTorch).",
      "TF.js: layers API (`tf.sequential`, `model.compile({optimizer: tf.train.sgd}, 'categoricalCrossentropy')`, `model.trainOnBatch` on tensors made beforehand). " +
        ("problem" in tf ? tf.problem : `@tensorflow/tfjs ${tf.version}; wasm backend: ${tf.wasmProblem ?? tf.wasmInfo ?? ""}, .wasm files loaded from node_modules.`),
      torch.ok
        ? `PyTorch ${torch.version}: bench/pytorch_train.py, CrossEntropyLoss on logits, OMP_NUM_THREADS = 1 or 2.`
        : `PyTorch columns skipped: ${torch.why}.`,
    ],
  };
}

/** "MLP 784-128-10: dlc compiled (…) with PyTorch CPU, 1 thread; …" from IN_TURNS. */
function inTurnsText(): string {
  return Object.entries(IN_TURNS)
    .map(([n, engines]) => `${WORKLOADS[n as WorkloadName].label}: ${engines.map((e) => ENGINE_LABELS[e]).join(" with ")}`)
    .join("; ");
}

const SHORT_LABELS: Partial<Record<Engine, string>> = {
  compiled: "dlc wasm-kernel build",
  "compiled-threads2": `dlc wasm-kernel build, ${COMPILED_THREADS} threads (--threads ${COMPILED_THREADS})`,
  "compiled-js": "dlc JS-kernel build",
};

const targetText = (t: number): string => `≥ ${t >= 2 && Number.isInteger(t) ? String(t) : t.toFixed(1)}×`;

/** A ratio row: label, wall-time ratio, CPU-time ratio, target, verdicts — or why it was not measured. */
function ratioRow(get: Lookup, { network, engine, over, target, label: named }: RatioSpec): string[] {
  const label = `${WORKLOADS[network].label}: ${named ?? `${SHORT_LABELS[engine] ?? ENGINE_LABELS[engine]} ÷ ${ENGINE_LABELS[over]}`}`;
  const goal = target === undefined ? "(information, no target)" : targetText(target);
  const c = get(engine, network);
  const o = get(over, network);
  if (c.status !== "ok") return [label, "—", "—", goal, `not measured: ${ENGINE_LABELS[engine]} ${c.why}`, ""];
  if (o.status !== "ok") {
    const torch = pytorchAvailable();
    const why = over.startsWith("pytorch") && !torch.ok ? "PyTorch not installed" : `${ENGINE_LABELS[over]} ${o.why}`;
    return [label, "—", "—", goal, `not measured: ${why}`, ""];
  }
  const wall = c.throughput.samplesPerSecond / o.throughput.samplesPerSecond;
  const cc = c.throughput.samplesPerCpuSecond;
  const oc = o.throughput.samplesPerCpuSecond;
  const byCpu = cc !== undefined && oc !== undefined ? cc / oc : undefined;
  const verdict = (v: number | undefined): string => (v === undefined || target === undefined ? "" : v >= target ? "pass" : "FAIL");
  return [label, ratio(wall), byCpu === undefined ? "" : ratio(byCpu), goal, verdict(wall), verdict(byCpu)];
}

const RATIO_HEADERS = {
  headers: ["comparison", "measured", "by CPU time", "target", "result", "result by CPU time"],
  align: ["left", "right", "right", "left", "left", "left"] as const,
};
const RATIO_INTRO =
  "Ratios of median samples/s measured in this same run (the throughput table above), by wall time (the issues' measure) and by CPU time (a cross-check on a busy machine).";
const TFJS_CONV_NOTE =
  "TF.js wasm cannot train a convolution: its backend registers no `Conv2DBackpropFilter` kernel. The bench tries it anyway and shows the error it gets.";

function compilerIssueRatios(get: Lookup): Section {
  const rows = COMPILER_ISSUE_RATIOS.map((r) => ratioRow(get, r));
  for (const { network } of CASES.filter((c) => c.network !== "lstm16")) {
    const c = sps(get("compiled-js", network));
    const t = sps(get("pytorch-1", network));
    if (c !== undefined && t !== undefined) rows.push(ratioRow(get, { network, engine: "compiled-js", over: "pytorch-1" }));
  }
  return {
    title: "Compiler: the compiler issue's ratios (the default f32 module)",
    intro: `${RATIO_INTRO} The targets apply to "the compiled module (f32)", the default build (WebAssembly SIMD kernels); the pure-TypeScript build (\`--kernels js\`) follows as information.`,
    table: { ...RATIO_HEADERS, rows },
    notes: [TFJS_CONV_NOTE],
  };
}

function fastPathRatios(get: Lookup): Section {
  const torch = pytorchAvailable();
  return {
    title: "Compiler: the fast-path issue's ratios (wasm SIMD kernels)",
    intro: `${RATIO_INTRO} The default build: WebAssembly SIMD matmul kernels.`,
    table: { ...RATIO_HEADERS, rows: FAST_PATH_RATIOS.map((r) => ratioRow(get, r)) },
    notes: [
      "Against TF.js: every network TF.js can train must run ≥ 10× its wasm backend (MLP, LSTM). " +
        TFJS_CONV_NOTE.replace(" The bench tries it anyway and shows the error it gets.", "") +
        " So LeNet-5 has no TF.js-wasm ratio; its ratio over TF.js cpu is shown as information only.",
      `Against PyTorch's CPU build on one thread: MLP ≥ 1.0×, LeNet-5 ≥ 0.6×, LSTM ≥ 0.6× (the issue's LSTM case is batch 16: the "batch 16" workload). ` +
        (torch.ok ? `PyTorch ${torch.version}.` : `PyTorch is not installed on this machine (${torch.why}), so these rows are not measured.`),
      `Two threads: LeNet-5 compiled with \`--threads ${COMPILED_THREADS}\` and trained on ${COMPILED_THREADS} threads must reach ≥ 1.0× PyTorch on one thread. ` +
        `The other dlc rows train on one thread unless their label says ${COMPILED_THREADS} threads. The "÷ 1 thread" rows (information) are each network's speed-up from the second thread on this machine; ` +
        `their "by CPU time" column divides samples per CPU-second, which counts both threads' CPU time: it is the second thread's efficiency (1.00× = no overhead), not a speed-up. ` +
        `The "model.fit ÷ trainStep" rows (information) are the share of trainStep's samples/s that the module's training loop keeps, on 1 and on ${COMPILED_THREADS} threads.`,
    ],
  };
}

/** `bin/dlc compile examples/resnet50.dl` as a process, and the same pipeline in process, phase by phase. */
export async function compileTimeSection(root: string): Promise<Section> {
  const file = "examples/resnet50.dl";
  const scratch = mkdtempSync(join(tmpdir(), "dlc-bench-compile-"));
  try {
    if (!existsSync(join(root, file))) {
      return { title: "Compiler: `dlc compile` time", table: { headers: ["measurement", "result"], rows: [[file, "missing: not measured"]] } };
    }
    process.stderr.write(`  dlc compile ${file}…\n`);
    const out = join(scratch, "resnet50.mjs");
    const command = {
      label: "dlc compile",
      args: ["bin/dlc", "compile", file, "-o", out],
      expect: (status: number | null, stdout: string) => (status === 0 && /wrote /.test(stdout) ? undefined : `exit ${status}: ${stdout.trim().slice(0, 300)}`),
    };
    // No warm-up round: the front end's runs have filled the file cache. A first run far over the
    // target is not repeated (it would only lengthen the bench).
    const samples = timeProcesses([command], { warmup: 0, runs: 1, cwd: root })[0]!;
    if (samples[0]! < 2.5 * COMPILER_TARGETS.compileResnet) samples.push(...timeProcesses([command], { warmup: 0, runs: 2, cwd: root })[0]!);
    const runs = samples.length;
    const size = readFileSync(out, "utf8").length;
    const phases = await compilePhases(readFileSync(join(root, file), "utf8"), file);
    const total = phases.reduce((a, p) => a + p.ms, 0);
    const target = COMPILER_TARGETS.compileResnet;
    const rows: string[][] = [
      [`\`bin/dlc compile ${file} -o OUT.mjs\` (process, ${runs === 1 ? "one run: far over the target, not repeated" : `median of ${runs}`})`, ms(median(samples)), `min ${ms(minimum(samples))}`, `< ${target} ms`, median(samples) < target ? "pass" : "FAIL"],
      ...phases.map((p) => [`  in process: ${p.name}`, ms(p.ms), `${((100 * p.ms) / total).toFixed(0)}%`, "", ""]),
      ["  in process: total", ms(total), "100%", "", ""],
    ];
    return {
      title: "Compiler: `dlc compile` time (ResNet-50)",
      intro: `Spawn to exit, writing the JavaScript target (${count(size)} characters) and its source map; then the same steps, one run in this process, to show where the time goes.`,
      table: { headers: ["measurement", "ms", "share / min", "target", "result"], align: ["left", "right", "right", "left", "left"], rows },
    };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** The steps of `dlc compile --target js`, timed one by one. */
async function compilePhases(text: string, file: string): Promise<{ name: string; ms: number }[]> {
  const out: { name: string; ms: number }[] = [];
  {
    let t = performance.now();
    const lap = (name: string): void => {
      const now = performance.now();
      out.push({ name, ms: now - t });
      t = now;
    };
    const checked = analyze(text).selected!;
    lap("analyze");
    const parts = moduleParts(plan(checked), { file, precision: "f32", version: "bench" });
    lap("generate (moduleParts)");
    await formattedRuntime("js");
    lap("the formatted runtime (cached in dist/ by the build)");
    const formattedJs = await formatModule(parts, "js");
    lap("format the network's code (stripTypes + prettier)");
    buildSourceMap(formattedJs, "resnet50.mjs", file, text);
    lap("buildSourceMap");
  }
  return out;
}

/** A network of `layers` fused `dense 64 relu` statements after `input 64`. */
function denseStack(layers: number): string {
  return `network dense_${layers} {\n  input 64\n${"  dense 64 relu\n".repeat(layers)}}\n`;
}

export function codeSizeSection(sizes: readonly number[]): Section {
  const rows: string[][] = [];
  let before: { layers: number; chars: number } | undefined;
  const added: number[] = [];
  for (const layers of sizes) {
    const a = analyze(denseStack(layers));
    if (a.hasErrors || !a.selected) throw new Error(`the generated ${layers}-layer network has errors`);
    const t = performance.now();
    const code = generateModule(a.selected, { file: "generated.dl", precision: "f32", version: "bench" });
    const took = performance.now() - t;
    const marginal = before ? (code.length - before.chars) / (layers - before.layers) : undefined;
    if (marginal !== undefined) added.push(marginal);
    rows.push([count(layers), count(code.length), count(code.split("\n").length), (code.length / layers).toFixed(0), marginal === undefined ? "" : marginal.toFixed(0), ms(took)]);
    before = { layers, chars: code.length };
  }
  const spreadOfAdded = added.length > 1 ? Math.max(...added) / Math.min(...added) : 1;
  return {
    title: "Compiler: generated code size against network size",
    intro: "`generateModule` (unformatted TypeScript, f32) of networks of N `dense 64 relu` statements after `input 64`.",
    table: {
      headers: ["dense layers", "characters", "lines", "characters / layer", "characters added / layer vs size before", "generate ms"],
      align: ["right", "right", "right", "right", "right", "right"],
      rows,
    },
    notes: [
      "The fixed part (runtime, initialisers, loss, optimizer, command line) dominates small networks; growth is linear when each added layer costs " +
        `the same: the added characters per layer vary by ${ratio(spreadOfAdded)} across the sizes (${spreadOfAdded <= 1.25 ? "linear" : "NOT linear"}).`,
    ],
  };
}
