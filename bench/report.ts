import { renameSync, unlinkSync, writeFileSync } from "node:fs";
import { cpus, loadavg, totalmem, type as osType, release } from "node:os";

/**
 * What every benchmark produces: titled sections of markdown tables. A later benchmark
 * (interpreter, compiler) adds a module that returns `Section`s; `run.ts` prints them and
 * writes them all to bench/RESULTS.md.
 */
export interface Table {
  readonly headers: readonly string[];
  /** Per column: numbers read best right-aligned. Defaults to left. */
  readonly align?: readonly ("left" | "right")[];
  readonly rows: readonly (readonly string[])[];
}

export interface Section {
  readonly title: string;
  /** A sentence or two above the table: what is measured, how. */
  readonly intro?: string;
  readonly table: Table;
  /** Lines under the table (caveats, what a target means). */
  readonly notes?: readonly string[];
}

export interface Machine {
  readonly cpu: string;
  readonly cores: number;
  readonly memory: string;
  readonly os: string;
  readonly node: string;
}

export function machine(): Machine {
  const list = cpus();
  return {
    cpu: list[0]?.model.trim() ?? "unknown",
    cores: list.length,
    memory: `${(totalmem() / 1024 ** 3).toFixed(1)} GiB`,
    os: `${osType()} ${release()}`,
    node: process.version,
  };
}

export function renderTable(t: Table): string {
  const cell = (s: string): string => s.replace(/\|/g, "\\|");
  const head = `| ${t.headers.map(cell).join(" | ")} |`;
  const rule = `|${t.headers.map((_, i) => (t.align?.[i] === "right" ? "---:" : "---")).join("|")}|`;
  const body = t.rows.map((r) => `| ${r.map(cell).join(" | ")} |`);
  return [head, rule, ...body].join("\n");
}

export function renderSection(s: Section): string {
  const parts = [`## ${s.title}`, ""];
  if (s.intro) parts.push(s.intro, "");
  parts.push(renderTable(s.table));
  if (s.notes && s.notes.length > 0) parts.push("", ...s.notes.map((n) => `- ${n}`));
  return parts.join("\n") + "\n";
}

/** The 1-minute load average, and whether other work competed for the cores (timings then run high). */
export function load(m: Machine = machine()): { value: number; busy: boolean; text: string } {
  const value = loadavg()[0] ?? 0;
  const busy = value > m.cores * 0.75;
  return { value, busy, text: `${value.toFixed(2)}${busy ? ` (busy: above ${(m.cores * 0.75).toFixed(1)} on ${m.cores} cores, so other work competed; timings run high)` : ""}` };
}

export interface RunInfo {
  readonly machine: Machine;
  readonly dlcVersion: string;
  readonly date: Date;
  /** 1-minute load average before and after the run. */
  readonly loadBefore: string;
  readonly loadAfter: string;
}

export function renderResults(sections: readonly Section[], info: RunInfo): string {
  const m = info.machine;
  const header = [
    "# dlc benchmarks",
    "",
    "Written by `npm run bench` (bench/run.ts); rerun it to refresh. Numbers are for the machine below only.",
    "",
    `- date: ${info.date.toISOString()}`,
    `- machine: ${m.cpu}, ${m.cores} cores, ${m.memory} memory, ${m.os}`,
    `- Node ${m.node}, dlc ${info.dlcVersion}`,
    `- load average (1 min): ${info.loadBefore} before, ${info.loadAfter} after`,
    "",
  ].join("\n");
  return [header, ...sections.map(renderSection)].join("\n");
}

/** Writes `text` to `path` through a temporary file and a rename, so no reader sees half a file. */
export function writeAtomically(path: string, text: string): void {
  const temp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(temp, text);
    renameSync(temp, path);
  } catch (e) {
    try {
      unlinkSync(temp);
    } catch {
      // the temporary file was never written
    }
    throw e;
  }
}

// Number formatting shared by the sections.
export const ms = (v: number): string => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
export const ratio = (v: number): string => `${v.toFixed(2)}×`;
export const count = (n: number): string => n.toLocaleString("en-US");
export const verdict = (value: number, target: number): string => (value <= target ? "pass" : "FAIL");
