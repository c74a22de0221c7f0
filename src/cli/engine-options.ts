import { Option, type Command } from "commander";
import { availableParallelism } from "node:os";
import { UsageError } from "./errors.js";
import { parsePositiveInt } from "./shape-arg.js";

/*
 * The engine choice, one definition for every command that compiles or runs a network:
 * `dlc compile` takes --precision, --kernels and --threads for the module it writes; `dlc run`,
 * `dlc train` and `dlc eval` take the same three for the module they compile in memory
 * (src/cli/engine.ts), plus --interpret (the float64 interpreter) and --cache DIR.
 */

export type Precision = "f32" | "f64";
export type Kernels = "wasm" | "js";

/** What the compiled engine (and dlc compile) is asked for, as commander parses it. */
export interface KernelFlags {
  readonly precision?: Precision;
  readonly kernels?: Kernels;
  /** Shards of each training batch; `true`: `--threads` alone, this machine's cores. */
  readonly threads?: number | true;
}

/** The engine flags of run, train and eval. */
export interface EngineFlags extends KernelFlags {
  /** The float64 interpreter instead of the compiled engine. */
  readonly interpret?: boolean;
  /** Where compiled modules are cached (default: $XDG_CACHE_HOME/dlc or ~/.cache/dlc). */
  readonly cache?: string;
}

export const precisionOption = (help = "number type of the compiled engine's arenas (default f32)"): Option => new Option("--precision <p>", help).choices(["f32", "f64"]);
export const kernelsOption = (): Option =>
  new Option("--kernels <k>", "matrix products as generated WebAssembly SIMD (f32 default) or JavaScript (f64 always)").choices(["wasm", "js"]);
export const threadsOption = (): Option =>
  new Option("--threads [n]", "split each training batch into N shards, trained on up to N worker threads with the same results for any thread count (alone: this machine's cores; default 1)").argParser((v) =>
    parsePositiveInt("--threads", v),
  );

/** Adds --interpret, --precision, --kernels, --threads and --cache to a command that runs a network. */
export function withEngineOptions(command: Command, interpretHelp = "use the float64 interpreter (the reference) instead of the compiled engine"): Command {
  return command
    .option("--interpret", interpretHelp)
    .addOption(precisionOption())
    .addOption(kernelsOption())
    .addOption(threadsOption())
    .option("--cache <dir>", "where compiled networks are cached (default: $XDG_CACHE_HOME/dlc or ~/.cache/dlc)");
}

/** The thread count a `--threads` value asks for (1 without the flag). */
export function threadCount(threads: number | true | undefined): number {
  return threads === true ? availableParallelism() : threads ?? 1;
}

/** The kernels a precision runs on when --kernels is not given. */
export function defaultKernels(precision: Precision): Kernels {
  return precision === "f32" ? "wasm" : "js";
}

/** Refuses a combination no compiled module can have (dlc compile and the in-memory engine alike). */
export function checkKernelFlags(flags: KernelFlags & { readonly fma?: boolean }): void {
  const precision = flags.precision ?? "f32";
  if (flags.kernels === "wasm" && precision === "f64") throw new UsageError("--kernels wasm needs --precision f32 (float64 always runs on the JavaScript kernels)");
  const threads = threadCount(flags.threads);
  if (threads > 1 && (precision === "f64" || flags.kernels === "js")) {
    throw new UsageError(`--threads ${threads} needs the WebAssembly kernels (--precision f32 without --kernels js): the threads share one WebAssembly memory`);
  }
  if (flags.fma && (precision === "f64" || flags.kernels === "js")) throw new UsageError("--fma needs the WebAssembly kernels (--precision f32 without --kernels js)");
}

/** Refuses engine flags that contradict each other: the compiled engine's flags with --interpret, or a bad combination. */
export function checkEngineFlags(flags: EngineFlags): void {
  if (flags.interpret) {
    const given = (["precision", "kernels", "threads", "cache"] as const).filter((k) => flags[k] !== undefined).map((k) => `--${k}`);
    if (given.length > 0) throw new UsageError(`${given.join(", ")} ${given.length === 1 ? "chooses" : "choose"} how the compiled engine runs; --interpret runs the float64 interpreter instead (drop one or the other)`);
    return;
  }
  checkKernelFlags(flags);
}

/** Whether the user asked for anything of the compiled engine explicitly (then it cannot quietly fall back to the interpreter). */
export function compiledEngineAskedFor(flags: EngineFlags): boolean {
  return flags.precision !== undefined || flags.kernels !== undefined || flags.threads !== undefined;
}
