import { Command, CommanderError, Option } from "commander";
import type { Convention } from "../check/summary.js";
import { EXIT_INPUT_ERRORS, EXIT_USAGE, InputErrors, UsageError } from "./errors.js";
import { parsePositiveInt, parseShapeArg } from "./shape-arg.js";

const VERSION = "0.1.0";

/** Heavy modules load inside each command, so `dlc check` starts fast. */
function program(setExit: (code: number) => void): Command {
  const cli = new Command("dlc")
    .description("dlc — check, summarise, run and compile .dl neural-network descriptions")
    .version(VERSION, "-V, --version")
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });

  const inputOption = (): Option => new Option("--input <shape>", "supply or override the input shape, e.g. 28x28x1").argParser(parseShapeArg);
  const networkOption = (): Option => new Option("--network <name>", "which network of the file (default: the first)");

  cli
    .command("check")
    .description("parse and shape-check FILE; exit 0 when clean, 1 on errors")
    .argument("<file>", ".dl file")
    .addOption(inputOption())
    .addOption(networkOption())
    .option("--json", "print diagnostics as JSON")
    .action(async (file: string, opts: { input?: number[]; json?: boolean; network?: string }) => {
      const { runCheck } = await import("./check.js");
      setExit(runCheck(file, opts));
    });

  cli
    .command("summary")
    .description("per-layer table: output shapes, parameters, MACs, memory")
    .argument("<file>", ".dl file")
    .addOption(inputOption())
    .addOption(networkOption())
    .option("--json", "print the summary as one JSON object")
    .addOption(new Option("--convention <name>", "count as dlc (§4), keras or pytorch do").choices(["dlc", "keras", "pytorch"]).default("dlc"))
    .addOption(new Option("--batch <n>", "batch size for the memory estimate").argParser((v) => parsePositiveInt("--batch", v)).default(1))
    .action(async (file: string, opts: { input?: number[]; json?: boolean; network?: string; convention: Convention; batch: number }) => {
      const { runSummary } = await import("./summary.js");
      setExit(runSummary(file, opts));
    });

  return cli;
}

export async function main(argv: string[]): Promise<void> {
  process.stdout.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code === "EPIPE") process.exit(process.exitCode ?? 0);
  });
  let exitCode = 0;
  try {
    await program((code) => (exitCode = code)).parseAsync(argv);
  } catch (e) {
    exitCode = exitCodeFor(e);
  }
  process.exitCode = exitCode;
}

function exitCodeFor(e: unknown): number {
  if (e instanceof CommanderError) {
    // `--help`, `help` and `--version` exit 0; a bare `dlc` (help shown as an error) and every
    // other commander error ("error: unknown option …", already printed) are usage errors.
    return e.exitCode === 0 ? 0 : EXIT_USAGE;
  }
  if (e instanceof InputErrors) return EXIT_INPUT_ERRORS;
  if (e instanceof UsageError) {
    process.stderr.write(`dlc: ${e.message}\n`);
    return EXIT_USAGE;
  }
  // A bug in dlc, not the user's mistake: a short message, the stack only on request.
  const message = e instanceof Error ? e.message : String(e);
  process.stderr.write(`dlc: internal error: ${message}\n(this is a bug in dlc; set DLC_DEBUG=1 to see where it happened)\n`);
  if (process.env.DLC_DEBUG && e instanceof Error) process.stderr.write(`${e.stack}\n`);
  return EXIT_USAGE;
}
