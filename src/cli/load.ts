import { analyze, type Analysis, type AnalyzeOptions } from "../index.js";
import { colorsFor, renderAll, toJson, visible } from "../diag/render.js";
import { UsageError } from "./errors.js";
import { readSource } from "./read-source.js";

export interface Loaded {
  readonly file: string;
  readonly text: string;
  readonly analysis: Analysis;
}

export function load(file: string, options: AnalyzeOptions): Loaded {
  const text = readSource(file);
  const analysis = analyze(text, options);
  // `--network NAME` naming no network is a mistake in the command (exit 2), unless the file's
  // own errors may have lost that network, which are then reported as they are (exit 1).
  const otherErrors = analysis.diagnostics.some((d) => d.severity === "error" && d.code !== "no-network");
  if (analysis.unknownNetwork !== undefined && !otherErrors) throw new UsageError(`--network: ${file} has ${analysis.unknownNetwork}`);
  return { file, text, analysis };
}

/** Human diagnostics go to stderr, so that stdout holds only the result. */
export function printDiagnostics(loaded: Loaded): void {
  const { diagnostics } = loaded.analysis;
  if (diagnostics.length === 0) return;
  process.stderr.write(renderAll(diagnostics, loaded.file, loaded.text, colorsFor(process.stderr)) + "\n");
}

/** A loaded file whose selected network checked without errors. */
export interface LoadedNetwork extends Loaded {
  readonly checked: NonNullable<Analysis["selected"]>;
}

/**
 * The prologue of the commands that need a checked network (run, eval, train): loads FILE and,
 * when it has errors or selects no network, prints them (one JSON object on stdout with --json)
 * and gives undefined, for the command to exit 1.
 */
export function loadNetwork(file: string, flags: { readonly input?: AnalyzeOptions["inputShape"]; readonly network?: string; readonly json?: boolean }): LoadedNetwork | undefined {
  const loaded = load(file, { inputShape: flags.input, network: flags.network });
  const checked = loaded.analysis.selected;
  if (!loaded.analysis.hasErrors && checked) return { ...loaded, checked };
  if (flags.json) process.stdout.write(JSON.stringify(diagnosticsJson(loaded)) + "\n");
  else printDiagnostics(loaded);
  return undefined;
}

export function diagnosticsJson(loaded: Loaded): object {
  return { ok: !loaded.analysis.hasErrors, diagnostics: loaded.analysis.diagnostics.map((d) => toJson(d, loaded.file)) };
}

export function countLine(loaded: Loaded): string {
  const errors = loaded.analysis.diagnostics.filter((d) => d.severity === "error").length;
  const warnings = loaded.analysis.diagnostics.filter((d) => d.severity === "warning").length;
  const plural = (n: number, w: string): string => `${n} ${w}${n === 1 ? "" : "s"}`;
  const file = visible(loaded.file);
  if (errors === 0 && warnings === 0) return `${file}: ok`;
  if (errors === 0) return `${file}: ok, ${plural(warnings, "warning")}`;
  return `${file}: ${plural(errors, "error")}${warnings ? `, ${plural(warnings, "warning")}` : ""}`;
}
