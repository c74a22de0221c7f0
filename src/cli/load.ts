import { analyze, type Analysis, type AnalyzeOptions } from "../index.js";
import { colorsFor, renderAll, toJson } from "../diag/render.js";
import { readSource } from "./read-source.js";

export interface Loaded {
  readonly file: string;
  readonly text: string;
  readonly analysis: Analysis;
}

export function load(file: string, options: AnalyzeOptions): Loaded {
  const text = readSource(file);
  return { file, text, analysis: analyze(text, options) };
}

/** Human diagnostics go to stderr, so that stdout holds only the result. */
export function printDiagnostics(loaded: Loaded): void {
  const { diagnostics } = loaded.analysis;
  if (diagnostics.length === 0) return;
  process.stderr.write(renderAll(diagnostics, loaded.file, loaded.text, colorsFor(process.stderr)) + "\n");
}

export function diagnosticsJson(loaded: Loaded): object {
  return { ok: !loaded.analysis.hasErrors, diagnostics: loaded.analysis.diagnostics.map((d) => toJson(d, loaded.file)) };
}

export function countLine(loaded: Loaded): string {
  const errors = loaded.analysis.diagnostics.filter((d) => d.severity === "error").length;
  const warnings = loaded.analysis.diagnostics.filter((d) => d.severity === "warning").length;
  const plural = (n: number, w: string): string => `${n} ${w}${n === 1 ? "" : "s"}`;
  if (errors === 0 && warnings === 0) return `${loaded.file}: ok`;
  if (errors === 0) return `${loaded.file}: ok, ${plural(warnings, "warning")}`;
  return `${loaded.file}: ${plural(errors, "error")}${warnings ? `, ${plural(warnings, "warning")}` : ""}`;
}
