import { spawnSync } from "node:child_process";
import { timeOnce } from "./stats.js";

export interface Command {
  readonly label: string;
  readonly args: readonly string[];
  /** Checks one run's result; a benchmark of a failing command measures nothing. */
  readonly expect?: (status: number | null, stdout: string, stderr: string) => string | undefined;
}

/**
 * Wall time of whole `node …` processes, spawn to exit. The commands take turns run by run,
 * so a slow moment of the machine costs them alike; `warmup` rounds first fill the OS file cache.
 */
export function timeProcesses(commands: readonly Command[], options: { warmup: number; runs: number; cwd: string }): number[][] {
  const samples = commands.map(() => [] as number[]);
  for (let round = 0; round < options.warmup + options.runs; round++) {
    commands.forEach((c, i) => {
      const { ms, value } = timeOnce(() => spawnSync(process.execPath, c.args, { cwd: options.cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }));
      if (value.error) throw new Error(`${c.label}: ${value.error.message}`);
      const problem = c.expect?.(value.status, value.stdout, value.stderr);
      if (problem) throw new Error(`${c.label}: ${problem}\n${value.stderr.slice(0, 2000)}`);
      if (round >= options.warmup) samples[i]!.push(ms);
    });
  }
  return samples;
}
