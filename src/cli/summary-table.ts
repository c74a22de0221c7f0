import type { Colors } from "../diag/render.js";
import { formatShape } from "../ir/shape.js";
import type { Group } from "../ir/types.js";
import type { Summary, SummaryRow } from "../check/summary.js";
import { bytes, compact, thousands } from "./format.js";

export interface TableOptions {
  readonly file: string;
  readonly batch: number;
  readonly convention: string;
  readonly colors: Colors;
  /** Bytes per value: 4 for float32. */
  readonly bytesPerValue?: number;
}

interface Line {
  readonly cells: [string, string, string, string, string];
  readonly style?: "group" | "subtotal";
}

function groupPath(g: Group | undefined): Group[] {
  const path: Group[] = [];
  for (let x = g; x; x = x.parent) path.unshift(x);
  return path;
}

/** A Keras/torchinfo-style table; block calls become indented groups with subtotals. */
export function renderSummaryTable(s: Summary, o: TableOptions): string {
  const lines: Line[] = [];
  const open: { group: Group; params: number; macs: number }[] = [];
  const close = (): void => {
    const g = open.pop()!;
    const indent = "  ".repeat(open.length + 1);
    lines.push({ cells: [`${indent}subtotal ${g.group.name}`, "", "", thousands(g.params), compact(g.macs)], style: "subtotal" });
  };
  for (const row of s.rows) {
    const path = groupPath(row.group);
    let common = 0;
    while (common < open.length && common < path.length && open[common]!.group === path[common]) common++;
    while (open.length > common) close();
    for (const g of path.slice(common)) {
      lines.push({ cells: [`${"  ".repeat(open.length)}${g.name}`, `(${g.block}, line ${g.span.line})`, "", "", ""], style: "group" });
      open.push({ group: g, params: 0, macs: 0 });
    }
    for (const g of open) {
      g.params += row.params ?? 0;
      g.macs += row.macs ?? 0;
    }
    lines.push({ cells: [`${"  ".repeat(open.length)}${row.name}`, kindLabel(row), formatShape(row.outputShape ?? undefined), row.params === null ? "?" : thousands(row.params), row.macs === null ? "?" : compact(row.macs)] });
  }
  while (open.length > 0) close();

  const header: Line["cells"] = ["Layer", "Kind", "Output shape", "Params", "MACs"];
  // A reduce, not Math.max(...lines): one argument per row overflows the stack past ~100,000 rows.
  const widths = header.map((h, i) => lines.reduce((w, l) => Math.max(w, l.cells[i]!.length), h.length));
  const fmt = (cells: readonly string[]): string =>
    cells.map((c, i) => (i >= 3 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join("  ").trimEnd();
  const rule = "─".repeat(widths.reduce((a, b) => a + b, 0) + 2 * (widths.length - 1));
  const c = o.colors;
  const out: string[] = [];
  out.push(`${c.bold(s.network ? `Network ${s.network}` : "Network (anonymous)")}  ${c.dim(`${o.file}, input ${formatShape(s.input ?? undefined)}`)}`);
  out.push(rule, c.bold(fmt(header)), rule);
  for (const l of lines) {
    const text = fmt(l.cells);
    out.push(l.style === "group" ? c.bold(text) : l.style === "subtotal" ? c.dim(text) : text);
  }
  out.push(rule);
  const bpv = o.bytesPerValue ?? 4;
  const conventionNote = o.convention === "dlc" ? "" : ` (${o.convention} convention)`;
  out.push(`Total params: ${thousands(s.totalParams)}${conventionNote}`);
  out.push(`Trainable params: ${thousands(s.trainableParams)}`);
  out.push(`Non-trainable params: ${thousands(s.nonTrainableParams)}`);
  if (s.stateSize > 0 || o.convention !== "keras") out.push(`State (batchnorm running statistics): ${thousands(s.stateSize)}`);
  const shortMacs = compact(s.macs);
  out.push(`MACs per sample: ${thousands(s.macs)}${shortMacs === thousands(s.macs) ? "" : ` (${shortMacs})`}`);
  const paramBytes = (s.totalParams + s.stateSize) * bpv;
  const gradBytes = s.trainableParams * bpv;
  const activationBytes = s.activationValues * o.batch * bpv;
  out.push(rule);
  out.push(`Memory, float32, batch ${o.batch}:`);
  out.push(`  params ${bytes(paramBytes)}, gradients ${bytes(gradBytes)}, activations ${bytes(activationBytes)}, total ${bytes(paramBytes + gradBytes + activationBytes)}`);
  return out.join("\n");
}

function kindLabel(row: SummaryRow): string {
  let k = row.activation ? `${row.kind}+${row.activation}` : row.kind;
  if (!row.trainable && (row.params ?? 0) > 0) k += " (frozen)";
  return k;
}
