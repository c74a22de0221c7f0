/**
 * Throughput measurement for the training benchmarks: warm up, then several timed runs of a
 * fixed length, samples/s from each, the median reported. Cases run one after another.
 */
import { runInNewContext } from "node:vm";
import { setFlagsFromString } from "node:v8";
import { median } from "./stats.js";

/** An engine set up to train one network: `run` trains for about `ms` milliseconds (at least one batch). */
export interface Trainer {
  run(ms: number): Promise<{ samples: number; seconds: number }>;
  /** Frees what the engine holds (TensorFlow.js tensors, a compiled model's worker threads). */
  dispose?(): void | Promise<void>;
  /** Trains in another process (PyTorch): this process's CPU time says nothing about it. */
  readonly cpuElsewhere?: boolean;
}

export interface Plan {
  /** Untimed training first: the JIT compiles the hot paths, buffers are allocated. */
  readonly warmupMs: number;
  readonly runMs: number;
  readonly runs: number;
}

export interface Throughput {
  /** Median samples/s over the runs. */
  readonly samplesPerSecond: number;
  readonly perRun: readonly number[];
  /** Total samples trained in the timed runs. */
  readonly samples: number;
  /**
   * Median samples per second of this process's CPU time (all its threads): close to samples/s
   * on an idle machine for one-threaded engines, and less disturbed by other work competing for the cores.
   */
  readonly samplesPerCpuSecond?: number;
  /** CPU time ÷ wall time over the timed runs: well under 1 for a one-threaded engine means it waited for a core. */
  readonly cpuShare?: number;
}

/** Runs a trainer step-by-step to time: the loop every engine but the interpreter uses. */
export async function timeSteps(step: () => unknown, samplesPerStep: number, ms: number): Promise<{ samples: number; seconds: number }> {
  const start = performance.now();
  let samples = 0;
  do {
    const r = step();
    if (r instanceof Promise) await r;
    samples += samplesPerStep;
  } while (performance.now() - start < ms);
  return { samples, seconds: (performance.now() - start) / 1000 };
}

export async function measure(trainer: Trainer, plan: Plan): Promise<Throughput> {
  return (await measureInTurns([trainer], plan))[0]!;
}

/**
 * Several trainers taking turns: each warms up, then run by run each trains `plan.runMs` in
 * order, so that all of them meet the same machine — a slower spell (another process, a busy
 * neighbour on a shared host) lands on every one of them, not on whichever ran then, and their
 * ratio stays put.
 */
export async function measureInTurns(trainers: readonly Trainer[], plan: Plan): Promise<Throughput[]> {
  for (const t of trainers) await t.run(plan.warmupMs);
  const tallies = trainers.map(() => ({ perRun: [] as number[], perCpu: [] as number[], samples: 0, wall: 0, cpu: 0 }));
  for (let i = 0; i < plan.runs; i++) {
    for (const [j, trainer] of trainers.entries()) {
      const tally = tallies[j]!;
      const before = process.cpuUsage();
      const r = await trainer.run(plan.runMs);
      const used = process.cpuUsage(before);
      const cpuSeconds = (used.user + used.system) / 1e6;
      tally.perRun.push(r.samples / r.seconds);
      tally.perCpu.push(r.samples / cpuSeconds);
      tally.samples += r.samples;
      tally.wall += r.seconds;
      tally.cpu += cpuSeconds;
    }
  }
  return trainers.map((trainer, j) => {
    const { perRun, perCpu, samples, wall, cpu } = tallies[j]!;
    const base = { samplesPerSecond: median(perRun), perRun, samples };
    return trainer.cpuElsewhere ? base : { ...base, samplesPerCpuSecond: median(perCpu), cpuShare: cpu / wall };
  });
}

/** Spread of the runs around the median, for the tables: ±x% covers the slowest and fastest run. */
export function spread(t: Throughput): string {
  const lo = Math.min(...t.perRun);
  const hi = Math.max(...t.perRun);
  const m = t.samplesPerSecond;
  return `±${((100 * Math.max(m - lo, hi - m)) / m).toFixed(0)}%`;
}

let gcFunction: (() => void) | undefined | null = null;

/**
 * A full garbage collection: `global.gc` under `node --expose-gc`, otherwise the flag is set
 * at run time and the function fetched from a fresh context. Undefined if neither works.
 */
export function collector(): (() => void) | undefined {
  if (gcFunction !== null) return gcFunction;
  const g = (globalThis as { gc?: () => void }).gc;
  if (typeof g === "function") return (gcFunction = g);
  try {
    setFlagsFromString("--expose-gc");
    const f = runInNewContext("gc") as unknown;
    gcFunction = typeof f === "function" ? (f as () => void) : undefined;
  } catch {
    gcFunction = undefined;
  }
  return gcFunction;
}

/** Peak rss and heapUsed seen by `sample`, which polls at most every `everyMs` milliseconds. */
export class MemoryPeak {
  rss = 0;
  heapUsed = 0;
  private last = 0;
  constructor(private readonly everyMs = 20) {}

  sample(force = false): void {
    const now = performance.now();
    if (!force && now - this.last < this.everyMs) return;
    this.last = now;
    const m = process.memoryUsage();
    if (m.rss > this.rss) this.rss = m.rss;
    if (m.heapUsed > this.heapUsed) this.heapUsed = m.heapUsed;
  }
}

export const mib = (bytes: number): string => `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
export const perSecond = (v: number): string => (v >= 1000 ? Math.round(v).toLocaleString("en-US") : v >= 10 ? v.toFixed(0) : v.toFixed(1));
export const gflops = (v: number): string => (v >= 10 ? v.toFixed(1) : v >= 0.1 ? v.toFixed(2) : v.toFixed(3));

/** "samples / CPU-s" and "CPU share" cells. */
export function cpuColumns(t: Throughput): [string, string] {
  return [t.samplesPerCpuSecond === undefined ? "" : perSecond(t.samplesPerCpuSecond), t.cpuShare === undefined ? "" : `${Math.round(100 * t.cpuShare)}%`];
}

export const CPU_NOTE =
  "samples / CPU-s divides by this process's CPU time (all its threads) instead of wall time: on a busy machine it stays near what an idle one " +
  "would give for a one-threaded engine. CPU share = CPU time ÷ wall time; well under 100% means the case waited for a core and its samples/s reads low; " +
  "over 100% means other threads (V8's garbage collector and compiler, a backend's workers) ran beside it: then samples/s is the fairer measure.";
