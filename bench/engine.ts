/**
 * What the compiled engine adds to a short `dlc run` / `dlc train` (issue 14): compiling the
 * network in memory (code generation and type stripping, no formatting, the runtime pre-built)
 * on a cache miss, and reading and importing the cached module on a hit. Each run is a fresh
 * process (engine-child.ts), so module loading and a cold JIT count as they do for the user.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { load, ms, type Section } from "./report.js";
import { median } from "./stats.js";
import { WORKLOADS, type WorkloadName } from "./workloads.js";

const NETWORKS: readonly WorkloadName[] = ["mlp", "lenet5"];
const RUNS = 5;
const CHILD = fileURLToPath(new URL("./engine-child.js", import.meta.url));

function once(file: string, cache: string): { seconds: number; fromCache: boolean } {
  const r = spawnSync(process.execPath, [CHILD, file, cache], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`engine-child failed: ${r.stderr.slice(0, 2000)}`);
  return JSON.parse(r.stdout) as { seconds: number; fromCache: boolean };
}

export function engineSections(): Section[] {
  const dir = mkdtempSync(join(tmpdir(), "dlc-bench-engine-"));
  const loadBefore = load().text;
  const rows: string[][] = [];
  try {
    for (const name of NETWORKS) {
      const w = WORKLOADS[name];
      const file = join(dir, `${name}.dl`);
      writeFileSync(file, w.text);
      const miss: number[] = [];
      const hit: number[] = [];
      for (let run = 0; run < RUNS; run++) {
        // Misses and hits take turns, so a slow moment of the machine costs them alike.
        const cache = join(dir, `cache-${name}-${run}`);
        const first = once(file, cache);
        const second = once(file, cache);
        if (first.fromCache || !second.fromCache) throw new Error(`${name}: expected a miss, then a hit`);
        miss.push(first.seconds * 1000);
        hit.push(second.seconds * 1000);
      }
      const m = median(miss);
      const h = median(hit);
      rows.push([w.label, ms(m), ms(h), `${(m / h).toFixed(1)}×`]);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return [
    {
      title: "Compiled engine: what dlc run / dlc train add before the first batch",
      intro:
        "`openCompiledEngine` (src/cli/engine.ts) in a fresh process: on a cache miss it generates the module, strips its types (not formatted) " +
        "beside the pre-built runtime, writes the cache entry and imports it; on a hit it checks the entry's SHA-256 and imports it. " +
        `Median of ${RUNS} fresh processes each, misses and hits taking turns. Load average (1 min): ${loadBefore} before, ${load().text} after.`,
      table: { headers: ["network", "compile in memory (ms)", "cache hit (ms)", "saved"], align: ["left", "right", "right", "right"], rows },
      notes: ["Not counted: Node's start and dlc's front end (parse and check), which every command pays with either engine."],
    },
  ];
}
