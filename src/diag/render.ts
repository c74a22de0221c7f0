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
export function renderHuman(d: Diagnostic, file: string, text: string, colors: Colors = noColors, starts: readonly number[] = lineStarts(text)): string {
  const { span } = d;
  const head = `${visible(file)}:${span.line}:${span.column}: ${colors[d.severity](d.severity)}: ${colors.bold(visible(d.message))}`;
  const lines = [head];
  const sourceLine = lineAt(text, starts, span.line);
  if (sourceLine !== undefined) {
    const gutter = String(span.line);
    const pad = " ".repeat(gutter.length);
    const start = Math.max(1, span.column);
    const end = span.endLine === span.line ? Math.max(start + 1, span.endColumn) : sourceLine.length + 1;
    // A very long line (minified, generated, garbage) is quoted as a window around the span.
    const from = sourceLine.length > MAX_EXCERPT ? Math.max(0, Math.min(start - 1 - EXCERPT_LEAD, sourceLine.length - MAX_EXCERPT)) : 0;
    const to = Math.min(sourceLine.length, from + MAX_EXCERPT);
    const before = from > 0 ? "…" : "";
    const after = to < sourceLine.length ? "…" : "";
    const width = Math.max(1, Math.min(end, to + 1) - start);
    lines.push(`  ${gutter} | ${before}${visible(expandTabs(sourceLine.slice(from, to)))}${after}`);
    lines.push(`  ${pad} | ${" ".repeat(before.length + displayWidth(sourceLine.slice(from, start - 1)))}${colors[d.severity]("^".repeat(width))}`);
  }
  for (const note of d.notes) lines.push(`  = ${visible(note)}`);
  return lines.join("\n");
}

export function renderAll(ds: readonly Diagnostic[], file: string, text: string, colors: Colors = noColors): string {
  const starts = lineStarts(text);
  return ds.map((d) => renderHuman(d, file, text, colors, starts)).join("\n");
}

/** Source lines longer than this are quoted as a window of this many characters. */
const MAX_EXCERPT = 160;
/** How much of the line before the span such a window shows. */
const EXCERPT_LEAD = 40;

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

/** Where each line of `text` starts; lines end at "\n", as the lexer counts them. */
export function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) starts.push(i + 1);
  return starts;
}

function lineAt(text: string, starts: readonly number[], line: number): string | undefined {
  const start = starts[line - 1];
  if (start === undefined || start > text.length) return undefined;
  const next = starts[line];
  let end = next === undefined ? text.length : next - 1;
  if (end > start && text.charCodeAt(end - 1) === 13) end--; // the "\r" of a CRLF line
  return text.slice(start, end);
}

/**
 * Control characters from the source (a stray escape, a NUL) are shown as U+FFFD, one column
 * each, so that they can neither move the caret out of line nor drive the terminal. Every
 * text from outside that dlc prints goes through here: source lines, messages, and file names
 * (`$'a\x1b[31mb.dl'` is a legal name); newlines and tabs are kept.
 */
export function visible(s: string): string {
  return s.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, (c) => (c === "\r" ? " " : "\ufffd"));
}

function expandTabs(s: string): string {
  return s.replace(/\t/g, "  ");
}

function displayWidth(s: string): number {
  return expandTabs(s).length;
}
