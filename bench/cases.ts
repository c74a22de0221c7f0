/**
 * One training case = one engine on one workload, measured once per process and shared by the
 * interpreter's and the compiler's sections. Cases run one after another, never in parallel.
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { cleanUpCompiled, compileWorkload, compiledFitTrainer, compiledTrainer, type Compiled } from "./compiled-engine.js";
import { interpSetup, interpTrainer } from "./interp-engine.js";
import { collector, measure, measureInTurns, type Plan, type Throughput, type Trainer } from "./measure.js";
import { pytorchCase, pytorchTrainer } from "./pytorch.js";
import { loadTf, tfTrainer } from "./tfjs.js";
import { WORKLOADS, syntheticData, type SyntheticData, type Workload, type WorkloadName } from "./workloads.js";
import { relaxedSimdSupported } from "../src/codegen/wasm/matmul.js";

export type Engine = "compiled" | "compiled-fma" | "compiled-threads2" | "compiled-fit" | "compiled-threads2-fit" | "compiled-js" | "interp" | "tfjs-cpu" | "tfjs-wasm" | "pytorch-1" | "pytorch-2";

/** Shards and threads of the "compiled-threads2" engine: `dlc compile --threads 2`, `new Model({ threads: 2 })`. */
export const COMPILED_THREADS = 2;

export const ENGINE_LABELS: Readonly<Record<Engine, string>> = {
  compiled: "dlc compiled (f32, wasm SIMD kernels)",
  "compiled-fma": "dlc compiled (f32, wasm SIMD kernels, --fma: relaxed-SIMD multiply-add)",
  "compiled-threads2": `dlc compiled (f32, wasm SIMD kernels, --threads ${COMPILED_THREADS}: ${COMPILED_THREADS} threads)`,
  "compiled-fit": "dlc compiled (f32, wasm SIMD kernels), model.fit",
  "compiled-threads2-fit": `dlc compiled (f32, wasm SIMD kernels, --threads ${COMPILED_THREADS}: ${COMPILED_THREADS} threads), model.fit`,
  "compiled-js": "dlc compiled (f32, JS kernels)",
  interp: "dlc interpreter (f64)",
  "tfjs-cpu": "TF.js cpu",
  "tfjs-wasm": "TF.js wasm",
  "pytorch-1": "PyTorch CPU, 1 thread",
  "pytorch-2": "PyTorch CPU, 2 threads",
};

export type CaseResult =
  | { readonly status: "ok"; readonly throughput: Throughput; readonly peakRss?: number; readonly peakHeapUsed?: number; readonly note?: string }
  | { readonly status: "unavailable"; readonly why: string };

/** Samples in each synthetic data set: 16 batches, cycled through. */
export const DATA_SIZE = 512;

/** Warm up 1 s, then the median of 3 runs of 2 s; the slow cases still train at least one batch each. */
export const PLAN: Plan = { warmupMs: 1000, runMs: 2000, runs: 3 };

/**
 * Engines measured together on a network, taking turns run by run (measureInTurns) rather than
 * one case after another: the two sides of each of the fast-path issue's PyTorch targets. A slow
 * spell on the machine then lands on both sides of a ratio, so it cannot decide a verdict.
 */
export const IN_TURNS: Readonly<Partial<Record<WorkloadName, readonly PreparedEngine[]>>> = {
  mlp: ["compiled", "pytorch-1"],
  lenet5: ["compiled", "compiled-threads2", "pytorch-1"],
  lstm16: ["compiled", "pytorch-1"],
};
/** The engines prepareTrainer sets up, alone or taking turns. */
type PreparedEngine = "compiled" | "compiled-threads2" | "pytorch-1";

/** The engines taking turns run more runs than PLAN: their ratios carry the targets. */
export const TURNS_PLAN: Plan = { ...PLAN, runs: 5 };

const results = new Map<string, Promise<CaseResult>>();
let queue: Promise<unknown> = Promise.resolve();

/**
 * The case's result, measured the first time it is asked for (after every earlier case has
 * finished) — with the other engines of its IN_TURNS group, if it has one.
 */
export function runCase(engine: Engine, workload: WorkloadName): Promise<CaseResult> {
  const key = `${engine}/${workload}`;
  const cached = results.get(key);
  if (cached) return cached;
  const group = IN_TURNS[workload];
  if (group?.includes(engine as PreparedEngine)) {
    const all = queue.then(() => measureGroup(group, workload));
    queue = all.catch(() => undefined);
    for (const [i, e] of group.entries()) results.set(`${e}/${workload}`, all.then((r) => r[i]!));
    return results.get(key)!;
  }
  const r = queue.then(() => measureCase(engine, workload));
  queue = r.catch(() => undefined);
  results.set(key, r);
  return r;
}

/** A trainer set up and ready to time, with the notes to add once it has run; or why there is none. */
type Prepared = { readonly ok: true; readonly trainer: Trainer; notes(): string[] } | { readonly ok: false; readonly why: string };

async function prepareTrainer(engine: PreparedEngine, w: Workload, data: SyntheticData): Promise<Prepared> {
  if (engine === "pytorch-1") return pytorchTrainer(w, data, 1).then((p) => (p.ok ? { ok: true, trainer: p.trainer, notes: () => [] } : p));
  const threads = engine === "compiled" ? 1 : COMPILED_THREADS;
  return prepareCompiled(w, threads, threads > 1 ? `on ${threads} threads` : "", async (module) => compiledTrainer(w, module, data, "f32", threads > 1 ? { threads } : {}));
}

/** The engines of an IN_TURNS group, each warmed up, then taking turns run by run. */
async function measureGroup(group: readonly PreparedEngine[], name: WorkloadName): Promise<CaseResult[]> {
  const w = WORKLOADS[name];
  const data = syntheticData(w, DATA_SIZE);
  process.stderr.write(`  training ${w.label} with ${group.map((e) => ENGINE_LABELS[e]).join(", ")}, taking turns…\n`);
  const prepared: Prepared[] = [];
  try {
    for (const e of group) prepared.push(await prepareTrainer(e, w, data));
    const ready = prepared.flatMap((p) => (p.ok ? [p] : []));
    let measured: Throughput[];
    try {
      measured = await measureInTurns(
        ready.map((p) => p.trainer),
        TURNS_PLAN,
      );
    } catch (e) {
      const why = `cannot train: ${(e instanceof Error ? e.message : String(e)).split("\n")[0]}`;
      return prepared.map((p) => ({ status: "unavailable", why: p.ok ? why : p.why }));
    }
    return prepared.map((p): CaseResult => {
      if (!p.ok) return { status: "unavailable", why: p.why };
      const notes = p.notes();
      const throughput = measured[ready.indexOf(p)]!;
      return notes.length > 0 ? { status: "ok", throughput, note: notes.join("; ") } : { status: "ok", throughput };
    });
  } finally {
    for (const p of prepared) if (p.ok) await p.trainer.dispose?.();
  }
}

async function measureCase(engine: Engine, name: WorkloadName): Promise<CaseResult> {
  const w = WORKLOADS[name];
  const data = syntheticData(w, DATA_SIZE);
  process.stderr.write(`  training ${w.label} with ${ENGINE_LABELS[engine]}…\n`);
  switch (engine) {
    case "interp": {
      collector()?.(); // peak memory then counts this case's garbage, not the cases' before it
      const setup = interpSetup(w, data);
      const throughput = await measure(interpTrainer(w, setup), PLAN);
      return { status: "ok", throughput, peakRss: setup.memory.rss, peakHeapUsed: setup.memory.heapUsed };
    }
    case "compiled":
    case "compiled-threads2":
      // The default build (WebAssembly SIMD matmul kernels); compiled with `threads: 2` (each
      // batch in 2 shards), its Model on 2 threads (the main one and a worker over shared
      // WebAssembly memory). Where they take turns with PyTorch (IN_TURNS), measureGroup times them.
      return timedPrepared(await prepareTrainer(engine, w, data));
    case "compiled-js": {
      // `kernels: "js"`: the pure-TypeScript module, no WebAssembly at all.
      const c = await compileWorkload(w, "f32", "js");
      if (!c.ok) return { status: "unavailable", why: c.why };
      return timed(compiledTrainer(w, c.module, data, "f32"));
    }
    case "compiled-fma":
      return fmaCase(name);
    case "compiled-fit":
    case "compiled-threads2-fit": {
      // The same builds as "compiled" and "compiled-threads2", trained by the module's own
      // loop: model.fit(readData({ x, y }), { epochs, batch, lr }) instead of trainStep.
      const threads = engine === "compiled-fit" ? 1 : COMPILED_THREADS;
      return timedPrepared(await prepareCompiled(w, threads, `with model.fit${threads > 1 ? ` on ${threads} threads` : ""}`, (module) => compiledFitTrainer(w, module, data, threads > 1 ? { threads } : {})));
    }
    case "tfjs-cpu":
    case "tfjs-wasm": {
      const t = await loadTf();
      if ("problem" in t) return { status: "unavailable", why: t.problem };
      const backend = engine === "tfjs-cpu" ? "cpu" : "wasm";
      if (backend === "wasm" && t.wasmProblem) return { status: "unavailable", why: t.wasmProblem };
      let trainer: Trainer;
      try {
        trainer = await tfTrainer(t, backend, w, data);
      } catch (e) {
        return { status: "unavailable", why: `cannot train: ${(e instanceof Error ? e.message : String(e)).split("\n")[0]}` };
      }
      return timed(trainer);
    }
    case "pytorch-1":
    case "pytorch-2":
      return pytorchCase(w, data, engine === "pytorch-1" ? 1 : 2, PLAN);
  }
}

type CompiledModule = Extract<Compiled, { ok: true }>["module"];

/**
 * The default (wasm-kernel) build compiled with `threads` shards and the trainer `make` gives,
 * started (its worker threads loaded); its notes say where `model.threads` or
 * `model.kernels` is not what was asked (the wasm build falls back to the JS kernels where the
 * engine lacks WebAssembly SIMD). A trainer that cannot start (worker threads failing on
 * Node < 20.16, say) makes the case unavailable, saying `what` failed.
 */
async function prepareCompiled(w: Workload, threads: number, what: string, make: (module: CompiledModule) => Promise<Trainer & { readonly threads: number; readonly kernels: string; ready?(): Promise<void> }>): Promise<Prepared> {
  const c = await compileWorkload(w, "f32", "wasm", threads);
  if (!c.ok) return { ok: false, why: c.why };
  let trainer: Awaited<ReturnType<typeof make>> | undefined;
  try {
    trainer = await make(c.module);
    await trainer.ready?.();
  } catch (e) {
    await trainer?.dispose?.();
    return { ok: false, why: `cannot train${what ? ` ${what}` : ""}: ${(e instanceof Error ? e.message : String(e)).split("\n")[0]}` };
  }
  const started = trainer;
  const notes = (): string[] => [
    ...(started.threads !== threads ? [`model.threads is ${started.threads}, not ${threads}`] : []),
    ...(started.kernels !== "wasm" ? [`model.kernels is "${started.kernels}": ran on the JS kernels (no WebAssembly SIMD here)`] : []),
  ];
  return { ok: true, trainer, notes };
}

async function timedPrepared(p: Prepared): Promise<CaseResult> {
  if (!p.ok) return { status: "unavailable", why: p.why };
  const r = await timed(p.trainer);
  const notes = p.notes();
  return r.status === "ok" && notes.length > 0 ? { ...r, note: notes.join("; ") } : r;
}

async function timed(trainer: Trainer): Promise<CaseResult> {
  try {
    return { status: "ok", throughput: await measure(trainer, PLAN) };
  } catch (e) {
    return { status: "unavailable", why: `cannot train: ${(e instanceof Error ? e.message : String(e)).split("\n")[0]}` };
  } finally {
    await trainer.dispose?.();
  }
}

/** Removes temporary files the cases made. */
export function cleanUpCases(): void {
  cleanUpCompiled();
}

/**
 * The `dlc compile --fma` build, trained in a child Node given relaxed SIMD (bench/fma-child.ts):
 * this process cannot turn it on after starting.
 */
function fmaCase(name: WorkloadName): CaseResult {
  const flags = relaxedSimdSupported() ? [] : ["--experimental-wasm-relaxed-simd"];
  const child = fileURLToPath(new URL("./fma-child.js", import.meta.url));
  const r = spawnSync(process.execPath, [...flags, child, name, JSON.stringify({ plan: PLAN, dataSize: DATA_SIZE })], { encoding: "utf8", maxBuffer: 1 << 24 });
  let out: { throughput?: Throughput; fma?: boolean; kernels?: string; why?: string };
  try {
    out = JSON.parse(r.stdout) as typeof out;
  } catch {
    return { status: "unavailable", why: `the child process failed (${r.error?.message ?? `exit ${r.status}`}): ${r.stderr.split("\n")[0]}` };
  }
  if (!out.throughput) return { status: "unavailable", why: out.why ?? "the child process measured nothing" };
  const note = out.kernels !== "wasm" ? `model.kernels is "${out.kernels}": ran on the JS kernels` : out.fma ? undefined : "model.fma is false: no relaxed SIMD in the child's engine, so the plain SIMD kernels ran";
  return { status: "ok", throughput: out.throughput, ...(note ? { note } : {}) };
}
