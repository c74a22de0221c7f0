import type { Diagnostic } from "./diagnostic.js";

export interface Colors {
  error: (s: string) => string;
  warning: (s: string) => string;
  info: (s: string) => string;
  bold: (s: string) => string;
  dim: (s: string) => string;
}

const id = (s: string): string => s;
export const noColors: Colors = { error: id, warning: id, info: id, bold: id, dim: id };
export const ansiColors: Colors = {
  error: (s) => `\x1b[1;31m${s}\x1b[0m`,
  warning: (s) => `\x1b[1;33m${s}\x1b[0m`,
  info: (s) => `\x1b[1;36m${s}\x1b[0m`,
  bold: (s) => `\x1b[1m${s}\x1b[0m`,
  dim: (s) => `\x1b[2m${s}\x1b[0m`,
};

/** Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org). */
export function colorsFor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): Colors {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== "") return noColors;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== "0") return ansiColors;
  return stream.isTTY ? ansiColors : noColors;
}

/**
 * The human form of §7:
 *   net.dl:3:3: error: conv expects …
 *     3 |   conv 3x3 stride 1 pad 0
 *       |   ^^^^^^^^^^^^^^^^^^^^^^^
 */
export function renderHuman(d: Diagnostic, file: string, text: string, colors: Colors = noColors): string {
  const { span } = d;
  const head = `${file}:${span.line}:${span.column}: ${colors[d.severity](d.severity)}: ${colors.bold(d.message)}`;
  const lines = [head];
  const sourceLine = lineAt(text, span.line);
  if (sourceLine !== undefined) {
    const gutter = String(span.line);
    const pad = " ".repeat(gutter.length);
    const start = Math.max(1, span.column);
    const end = span.endLine === span.line ? Math.max(start + 1, span.endColumn) : sourceLine.length + 1;
    const width = Math.max(1, Math.min(end, sourceLine.length + 1) - start);
    lines.push(`  ${gutter} | ${expandTabs(sourceLine)}`);
    lines.push(`  ${pad} | ${" ".repeat(displayWidth(sourceLine.slice(0, start - 1)))}${colors[d.severity]("^".repeat(width))}`);
  }
  for (const note of d.notes) lines.push(`  = ${note}`);
  return lines.join("\n");
}

export function renderAll(ds: readonly Diagnostic[], file: string, text: string, colors: Colors = noColors): string {
  return ds.map((d) => renderHuman(d, file, text, colors)).join("\n");
}

export interface JsonDiagnostic {
  severity: string;
  code: string;
  message: string;
  file: string;
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
  notes?: string[];
}

export function toJson(d: Diagnostic, file: string): JsonDiagnostic {
  const out: JsonDiagnostic = {
    severity: d.severity,
    code: d.code,
    message: d.message,
    file,
    line: d.span.line,
    column: d.span.column,
    endLine: d.span.endLine,
    endColumn: d.span.endColumn,
  };
  if (d.notes.length > 0) out.notes = [...d.notes];
  return out;
}

function lineAt(text: string, line: number): string | undefined {
  let start = 0;
  for (let i = 1; i < line; i++) {
    const next = text.indexOf("\n", start);
    if (next < 0) return undefined;
    start = next + 1;
  }
  if (start > text.length) return undefined;
  const end = text.indexOf("\n", start);
  return text.slice(start, end < 0 ? text.length : end).replace(/\r$/, "");
}

function expandTabs(s: string): string {
  return s.replace(/\t/g, "  ");
}

function displayWidth(s: string): number {
  return expandTabs(s).length;
}
