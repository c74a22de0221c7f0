// Shared by the robustness tests: the invariants every analysis must keep, whatever the input.
import { expect } from "vitest";
import { analyze, summarize, type AnalyzeOptions, type Diagnostic } from "../../src/index.js";
import { renderAll, toJson } from "../../src/diag/render.js";

/** Offsets where each line starts; lines end at "\n" only (a "\r" before it belongs to the line). */
export function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) starts.push(i + 1);
  return starts;
}

/** Independent of src/: the 1-based line and column of an offset. */
export function positionOf(starts: readonly number[], offset: number): { line: number; column: number } {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid]! <= offset) lo = mid;
    else hi = mid - 1;
  }
  return { line: lo + 1, column: offset - starts[lo]! + 1 };
}

/**
 * Everything wrong with the spans of `diagnostics` against `text`, as readable lines
 * (empty when all is well). A span is in range, ordered, and its line/column pairs name
 * the same places as its offsets. Only a span at the very end of the text may be empty.
 */
export function spanProblems(text: string, diagnostics: readonly Diagnostic[]): string[] {
  const starts = lineStarts(text);
  const lines = starts.length;
  const problems: string[] = [];
  for (const d of diagnostics) {
    const s = d.span;
    const where = `${d.code} ${JSON.stringify(s)} "${d.message.slice(0, 80)}"`;
    const bad = (what: string): void => void problems.push(`${what}: ${where}`);
    for (const k of ["line", "column", "endLine", "endColumn", "offset", "endOffset"] as const) {
      if (!Number.isSafeInteger(s[k])) bad(`${k} is not an integer`);
    }
    if (s.line < 1 || s.line > lines) bad(`line outside 1..${lines}`);
    if (s.endLine < s.line || s.endLine > lines) bad(`endLine outside line..${lines}`);
    if (s.column < 1) bad("column < 1");
    if (s.endColumn < 1) bad("endColumn < 1");
    if (s.offset < 0 || s.endOffset > text.length) bad(`offsets outside 0..${text.length}`);
    if (s.endOffset < s.offset) bad("endOffset before offset");
    if (s.endOffset === s.offset && s.offset !== text.length) bad("empty span before the end of the text");
    if (s.endLine === s.line && s.endColumn < s.column) bad("end before start on one line");
    if (s.offset >= 0 && s.offset <= text.length) {
      const p = positionOf(starts, s.offset);
      if (p.line !== s.line || p.column !== s.column) bad(`start ${s.line}:${s.column} is not offset ${s.offset} (${p.line}:${p.column})`);
    }
    if (s.endOffset >= 0 && s.endOffset <= text.length) {
      const p = positionOf(starts, s.endOffset);
      // Just past a newline has two names: the next line's column 1, or one past the newline
      // on its own line (how a span that ends with a newline token is written).
      const alt = s.endOffset > 0 && text[s.endOffset - 1] === "\n" ? positionOf(starts, s.endOffset - 1) : undefined;
      const sameLine = alt !== undefined && alt.line === s.endLine && alt.column + 1 === s.endColumn;
      if ((p.line !== s.endLine || p.column !== s.endColumn) && !sameLine) bad(`end ${s.endLine}:${s.endColumn} is not endOffset ${s.endOffset} (${p.line}:${p.column})`);
    }
    if (typeof d.message !== "string" || d.message.length === 0) bad("no message");
    if (!["error", "warning", "info"].includes(d.severity)) bad(`severity ${d.severity}`);
  }
  return problems;
}

/**
 * Runs `analyze` on `text` and checks every invariant: no throw, spans right, rendering and
 * JSON never throw, and a clean analysis has a countable selected network.
 */
export function checkInvariants(text: string, options: AnalyzeOptions = {}): ReturnType<typeof analyze> {
  const analysis = analyze(text, options);
  const problems = spanProblems(text, analysis.diagnostics);
  expect(problems, `input: ${JSON.stringify(text.length > 400 ? text.slice(0, 400) + "…" : text)}`).toEqual([]);
  const rendered = renderAll(analysis.diagnostics, "input.dl", text);
  expect(typeof rendered).toBe("string");
  const heads = rendered.split("\n").filter((l) => l.startsWith("input.dl:"));
  expect(heads).toHaveLength(analysis.diagnostics.length);
  analysis.diagnostics.forEach((d, i) => {
    const j = toJson(d, "input.dl");
    expect(JSON.parse(JSON.stringify(j))).toEqual(j);
    expect(heads[i]!.startsWith(`input.dl:${d.span.line}:${d.span.column}: ${d.severity}: `), heads[i]).toBe(true);
  });
  for (let i = 1; i < analysis.diagnostics.length; i++) {
    expect(analysis.diagnostics[i]!.span.offset, "diagnostics are sorted by position").toBeGreaterThanOrEqual(analysis.diagnostics[i - 1]!.span.offset);
  }
  const errors = analysis.diagnostics.filter((d) => d.severity === "error").length;
  expect(analysis.hasErrors).toBe(errors > 0);
  if (!analysis.hasErrors) {
    expect(analysis.selected, "a clean analysis selects a network").toBeDefined();
    const summary = summarize(analysis.selected!);
    expect(Number.isSafeInteger(summary.totalParams) && summary.totalParams >= 0, `totalParams ${summary.totalParams}`).toBe(true);
    for (const row of summary.rows) {
      expect(row.outputShape, `${row.name} has a known shape`).not.toBeNull();
      expect(row.outputShape!.every((d) => Number.isSafeInteger(d) && d >= 1), `${row.name} ${JSON.stringify(row.outputShape)}`).toBe(true);
    }
  }
  return analysis;
}

export function codesOf(analysis: { diagnostics: readonly Diagnostic[] }): string[] {
  return analysis.diagnostics.map((d) => d.code);
}

/** The codes of the errors (not warnings) `checkInvariants` finds in `text`. */
export function errorsOf(text: string): string[] {
  return checkInvariants(text)
    .diagnostics.filter((d) => d.severity === "error")
    .map((d) => d.code);
}

/** How many nodes the selected network of `text` has (0 when none is selected). */
export function nodeCount(text: string): number {
  return analyze(text).selected?.network.nodes.length ?? 0;
}
