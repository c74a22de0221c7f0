import type { Shape } from "../ir/shape.js";
import { EXIT_INPUT_ERRORS, EXIT_OK } from "./errors.js";
import { countLine, diagnosticsJson, load, printDiagnostics } from "./load.js";

export interface CheckFlags {
  readonly input?: Shape;
  readonly json?: boolean;
  readonly network?: string;
}

/** `dlc check FILE`: parse + shape/param lint of every network in the file. */
export function runCheck(file: string, flags: CheckFlags): number {
  const loaded = load(file, { inputShape: flags.input, network: flags.network, allNetworks: flags.network === undefined });
  if (flags.json) {
    process.stdout.write(JSON.stringify(diagnosticsJson(loaded)) + "\n");
  } else {
    printDiagnostics(loaded);
    process.stdout.write(countLine(loaded) + "\n");
  }
  return loaded.analysis.hasErrors ? EXIT_INPUT_ERRORS : EXIT_OK;
}
