/** Timing samples and the few statistics the benchmark tables show. All times in milliseconds. */
import { PerformanceObserver, performance, type PerformanceEntry } from "node:perf_hooks";
import { setImmediate as nextTurn } from "node:timers/promises";

export interface Samples {
  readonly ms: readonly number[];
}

export interface TimingOptions {
  /** Untimed runs first, so the JIT has compiled the hot paths. */
  readonly warmup: number;
  readonly runs: number;
}

/** Runs `fn` `warmup` times untimed, then `runs` times timed, one sample per call. */
export function timeRuns(fn: () => unknown, options: TimingOptions): Samples {
  for (let i = 0; i < options.warmup; i++) fn();
  const ms: number[] = [];
  for (let i = 0; i < options.runs; i++) {
    const start = process.hrtime.bigint();
    fn();
    ms.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return { ms };
}

/**
 * Like `timeRuns`, and also the garbage collector's pause time inside each timed run. Node
 * reports GC pauses on a later turn of the event loop, so the runs' time windows are kept and
 * the pauses are matched to them afterwards.
 */
export async function timeRunsWithGc(fn: () => unknown, options: TimingOptions): Promise<Samples & { readonly gcMs: readonly number[] }> {
  const pauses: PerformanceEntry[] = [];
  const observer = new PerformanceObserver((list) => pauses.push(...list.getEntries()));
  observer.observe({ entryTypes: ["gc"] });
  try {
    for (let i = 0; i < options.warmup; i++) fn();
    const windows: [number, number][] = [];
    for (let i = 0; i < options.runs; i++) {
      const start = performance.now();
      fn();
      windows.push([start, performance.now()]);
    }
    await nextTurn();
    await nextTurn();
    const gcMs = windows.map(([from, to]) => pauses.filter((p) => p.startTime >= from && p.startTime < to).reduce((sum, p) => sum + p.duration, 0));
    return { ms: windows.map(([from, to]) => to - from), gcMs };
  } finally {
    observer.disconnect();
  }
}

/** Wall time of one call, in ms. */
export function timeOnce<T>(fn: () => T): { ms: number; value: T } {
  const start = process.hrtime.bigint();
  const value = fn();
  return { ms: Number(process.hrtime.bigint() - start) / 1e6, value };
}

/** The q-quantile (0 ≤ q ≤ 1) by linear interpolation between the closest ranks. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const at = (sorted.length - 1) * q;
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (at - lo);
}

export const median = (values: readonly number[]): number => quantile(values, 0.5);
export const p90 = (values: readonly number[]): number => quantile(values, 0.9);
export const minimum = (values: readonly number[]): number => Math.min(...values);
