import { summarize, summaryJson, type Convention } from "../check/summary.js";
import { colorsFor, visible } from "../diag/render.js";
import type { Shape } from "../ir/shape.js";
import { EXIT_INPUT_ERRORS, EXIT_OK } from "./errors.js";
import { diagnosticsJson, load, printDiagnostics } from "./load.js";
import { renderSummaryTable } from "./summary-table.js";

export interface SummaryFlags {
  readonly input?: Shape;
  readonly json?: boolean;
  readonly network?: string;
  readonly convention: Convention;
  readonly batch: number;
}

/** `dlc summary FILE`: the per-layer table and totals (or §7's JSON object). */
export function runSummary(file: string, flags: SummaryFlags): number {
  const loaded = load(file, { inputShape: flags.input, network: flags.network });
  const { analysis } = loaded;
  if (analysis.hasErrors || !analysis.selected) {
    if (flags.json) process.stdout.write(JSON.stringify(diagnosticsJson(loaded)) + "\n");
    else printDiagnostics(loaded);
    return EXIT_INPUT_ERRORS;
  }
  const summary = summarize(analysis.selected, flags.convention);
  if (flags.json) {
    process.stdout.write(JSON.stringify(summaryJson(summary)) + "\n");
    return EXIT_OK;
  }
  printDiagnostics(loaded);
  process.stdout.write(renderSummaryTable(summary, { file: visible(file), batch: flags.batch, convention: flags.convention, colors: colorsFor(process.stdout) }) + "\n");
  return EXIT_OK;
}
