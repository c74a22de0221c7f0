import { decodeCheckpoint, encodeCheckpoint, type Checkpoint, type CheckpointIdentity } from "./checkpoint.js";
import { divergenceMessage } from "./divergence.js";
import { closest, sizeOfShape, terminalText } from "./errors.js";
import { fitModel } from "./fit.js";
import { nodeBuiltin, nodeProcess } from "./host.js";
import { CtrlC, EXIT_INTERRUPTED } from "./interrupt.js";
import type { ModelLike, ModuleInfo } from "./internal-types.js";
import { checkSaveTarget, loadNodeHost, readDataFile, readRegularFile, readWeightsFile, writeFileAtomic, type FsLike, type NodeHost } from "./node-files.js";
import { Progress, progressMode } from "./progress.js";
import type { Dataset, OptimizerState } from "./public-types.js";
import { ResumeMismatch, type LoopState } from "./trainer.js";
import { encodeWeights, namedWeights, weightsFormatOf } from "./weights.js";
import { inShardWorker } from "./threads.js";

/**
 * The generated module's command line: `node net.mjs run --weights W --data D [--json]` and
 * `node net.mjs train --data D [--weights INIT] [--save OUT] [--dtype f32|f64] [--epochs N]
 * [--batch N] [--lr X] [--seed N] [--val D] [--checkpoint P] [--resume P] [--save-best P] [--json]`, behaving as `dlc run` / `dlc train` do
 * (src/cli/run.ts, train.ts; one progress printer, progress.ts): the same outputs, messages and exit codes (0 ok, 1
 * diverged or non-finite outputs, 2 usage or a bad file, 130 Ctrl-C), atomic saves, Ctrl-C
 * stopping after the current batch. Node built-ins are loaded here only, when a command runs.
 */

const EXIT_OK = 0;
/** The data or the weights are at fault: training diverged, or outputs are not finite. */
const EXIT_INPUT_ERRORS = 1;
const EXIT_USAGE = 2;

/** A mistake in how the command line was called: exit code 2, the message alone. */
class UsageError extends Error {
  constructor(
    message: string,
    /** commander's form (`error: unknown option '--x'`), printed without the program's name. */
    readonly bare = false,
  ) {
    super(message);
    this.name = "UsageError";
  }
}

interface Flags {
  readonly data?: string;
  readonly weights?: string;
  readonly save?: string;
  readonly dtype?: "f32" | "f64";
  readonly epochs?: number;
  readonly batch?: number;
  readonly lr?: number;
  readonly seed?: number;
  readonly threads?: number;
  readonly val?: string;
  readonly top?: number;
  readonly patience?: number;
  readonly checkpoint?: string;
  readonly resume?: string;
  readonly saveBest?: string;
  readonly json?: boolean;
}

const COMMANDS = {
  run: { required: ["weights", "data"], options: ["weights", "data", "json"], about: "inference: print the network's outputs for each sample" },
  train: { required: ["data"], options: ["data", "weights", "save", "dtype", "epochs", "batch", "lr", "seed", "threads", "val", "top", "patience", "checkpoint", "resume", "save-best", "json"], about: "train the network on a data set" },
} as const;

type Command = keyof typeof COMMANDS;

const OPTION_HELP: Readonly<Record<string, [string, string]>> = {
  data: ["--data <path>", "data: JSON {x, y}, CSV (last column the label) or IDX (MNIST)"],
  weights: ["--weights <path>", "weights (.json or .safetensors)"],
  save: ["--save <path>", "write the trained weights here (.json or .safetensors), atomically"],
  dtype: ["--dtype <type>", "number type of a .safetensors save (JSON is always exact) (choices: \"f32\", \"f64\")"],
  epochs: ["--epochs <n>", "epochs (default from the .dl file's train { })"],
  batch: ["--batch <n>", "batch size (default from train { })"],
  lr: ["--lr <x>", "learning rate (default from train { })"],
  seed: ["--seed <n>", "seed for initial weights, shuffling and dropout"],
  val: ["--val <path>", "validation data: its loss and accuracy after each epoch"],
  top: ["--top <k>", "accuracy counts the target among the K highest outputs"],
  patience: ["--patience <n>", "stop when the validation loss has not improved for N epochs (default from train { })"],
  checkpoint: ["--checkpoint <path>", "after every epoch, write weights, optimizer state and position here (atomically)"],
  resume: ["--resume <path>", "continue the run a --checkpoint file holds, bit for bit"],
  "save-best": ["--save-best <path>", "keep the weights of the epoch with the lowest validation loss (needs --val)"],
  threads: ["--threads <n>", "worker threads (modules compiled with dlc compile --threads; default: the cores, at most that many)"],
  json: ["--json", ""],
};

function optionHelp(command: Command, option: string): string {
  if (option === "json") return command === "run" ? 'print {"outputs": [...]}' : "one JSON object per epoch on stdout";
  if (option === "weights" && command === "train") return "initial weights (.json or .safetensors)";
  return OPTION_HELP[option]![1];
}

function usage(program: string, info: ModuleInfo, only?: Command): string {
  const lines = [`Usage: node ${program} ${only ?? "<command>"} [options]`, "", `The network of ${info.source}, compiled by dlc.`];
  if (!only) {
    lines.push("", "Commands:");
    for (const [name, c] of Object.entries(COMMANDS)) lines.push(`  ${name.padEnd(6)} ${c.about}`);
  }
  for (const name of only ? [only] : (Object.keys(COMMANDS) as Command[])) {
    const c = COMMANDS[name];
    lines.push("", `Options of ${name}:`);
    for (const o of c.options) lines.push(`  ${OPTION_HELP[o]![0].padEnd(20)} ${optionHelp(name, o)}${(c.required as readonly string[]).includes(o) ? " (required)" : ""}`);
  }
  return lines.join("\n") + "\n";
}

function positiveInt(flag: string, text: string, min = 1): number {
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(Number(text)) || Number(text) < min) throw new UsageError(`${flag} expects a whole number ≥ ${min}, got '${text}'`);
  return Number(text);
}

function positiveNumber(flag: string, text: string): number {
  const x = Number(text);
  if (text.trim() === "" || !Number.isFinite(x) || x <= 0) throw new UsageError(`${flag} expects a positive number, got '${text}'`);
  return x;
}

/** `train --data d.json --epochs=3` → the command and its flags; commander's messages for mistakes. */
function parseArgs(command: Command, args: readonly string[]): Flags {
  const allowed: readonly string[] = COMMANDS[command].options;
  const flags: Record<string, string | number | boolean> = {};
  const extra: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith("--") || arg === "--") {
      extra.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    if (!allowed.includes(name)) {
      const guess = closest(name, allowed);
      throw new UsageError(`error: unknown option '${eq < 0 ? arg : arg.slice(0, eq)}'${guess ? `\n(Did you mean --${guess}?)` : ""}`, true);
    }
    if (name === "json") {
      flags.json = true;
      continue;
    }
    let text: string;
    if (eq >= 0) text = arg.slice(eq + 1);
    else if (i + 1 < args.length) text = args[++i]!;
    else throw new UsageError(`error: option '${OPTION_HELP[name]![0]}' argument missing`, true);
    const flag = `--${name}`;
    if (name === "epochs" || name === "batch" || name === "threads" || name === "top" || name === "patience") flags[name] = positiveInt(flag, text);
    else if (name === "seed") flags[name] = positiveInt(flag, text, 0);
    else if (name === "lr") flags[name] = positiveNumber(flag, text);
    else if (name === "dtype") {
      if (text !== "f32" && text !== "f64") throw new UsageError(`error: option '${OPTION_HELP.dtype![0]}' argument '${text}' is invalid. Allowed choices are f32, f64.`, true);
      flags[name] = text;
    }
    else flags[name.replace(/-(\w)/g, (_m, c: string) => c.toUpperCase())] = text;
  }
  for (const r of COMMANDS[command].required) {
    if (flags[r] === undefined) throw new UsageError(`error: required option '${OPTION_HELP[r]![0]}' not specified`, true);
  }
  if (extra.length > 0) throw new UsageError(`error: too many arguments for '${command}'. Expected 0 arguments but got ${extra.length}.`, true);
  return flags as Flags;
}

/** Writes text for a terminal (terminalText: no control characters, no line of megabytes). */
function write(stream: { write(text: string): unknown }, text: string): void {
  stream.write(terminalText(text));
}

/** Runs one command line (without `node` and the script); resolves to the exit code. */
export async function runCli(info: ModuleInfo, argv: readonly string[], program: string): Promise<number> {
  const proc = nodeProcess();
  if (!proc) throw new Error("the command line needs Node.js");
  const [command, ...args] = argv;
  try {
    if (command === undefined) {
      write(proc.stderr, usage(program, info));
      return EXIT_USAGE;
    }
    if (command === "--help" || command === "-h" || command === "help") {
      write(proc.stdout, usage(program, info));
      return EXIT_OK;
    }
    if (command !== "run" && command !== "train") {
      const sorted = (w: string): string => [...w].sort().join("");
      const guess = closest(command, Object.keys(COMMANDS)) ?? Object.keys(COMMANDS).find((c) => sorted(c) === sorted(command));
      throw new UsageError(`error: unknown command '${command}'${guess ? `\n(Did you mean ${guess}?)` : ""}`, true);
    }
    if (args.includes("--help") || args.includes("-h")) {
      write(proc.stdout, usage(program, info, command));
      return EXIT_OK;
    }
    const flags = parseArgs(command, args);
    const node = await loadNodeHost(proc);
    return command === "run" ? runCommand(info, flags, node) : await trainCommand(info, flags, node, program);
  } catch (e) {
    if (e instanceof UsageError) {
      write(proc.stderr, e.bare ? `${e.message}\n` : `${program}: ${e.message}\n`);
      return EXIT_USAGE;
    }
    if (e instanceof OutputError) {
      write(proc.stderr, `${program}: ${e.message}\n`);
      return EXIT_INPUT_ERRORS;
    }
    if (e instanceof Error && e.name === "DataError") {
      write(proc.stderr, `${program}: ${e.message}\n`);
      return EXIT_USAGE;
    }
    const message = e instanceof Error ? e.message : String(e);
    write(proc.stderr, `${program}: internal error: ${message}\n`);
    if (e instanceof Error && proc.env.DLC_DEBUG) proc.stderr.write(`${e.stack}\n`);
    return EXIT_USAGE;
  }
}

// ---- run -----------------------------------------------------------------------------------

function runCommand(info: ModuleInfo, flags: Flags, node: NodeHost): number {
  const out = node.process.stdout;
  const weights = readWeightsFile(info, flags.weights!, node, (m) => write(node.process.stderr, `warning: ${m}\n`));
  const data = readDataFile(flags.data!, { inputs: info.inputs, output: info.output, needTargets: false }, node);
  const model = info.create({ maxBatch: Math.min(64, data.size), seed: 0 });
  setWeights(info, model, weights);
  const { outputs, nonFinite } = predictAll(info, model, data);
  if (flags.json) out.write(JSON.stringify({ outputs }) + "\n");
  else {
    outputs.forEach((values, i) => {
      const label = info.outputSoftmax && Array.isArray(values) && typeof values[0] === "number" ? `  → class ${argmax(values as number[])}` : "";
      out.write(`${i}: ${JSON.stringify(values)}${label}\n`);
    });
  }
  if (nonFinite.length > 0) {
    const what = nonFinite.length === 1 ? `sample ${nonFinite[0]}'s output is` : `the outputs of ${nonFinite.length} samples (the first: sample ${nonFinite[0]}) are`;
    throw new OutputError(`${what} not finite (NaN or infinite, printed as null): the weights or the data are out of range for this network`);
  }
  return EXIT_OK;
}

/** Outputs that are not finite (rule: `run` exits 1 after printing them, as null). */
class OutputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "OutputError";
  }
}

/** Inference over the whole data set in file order, one nested array per sample; the samples with a NaN or infinite output. */
function predictAll(info: ModuleInfo, model: ModelLike, data: Dataset): { outputs: unknown[]; nonFinite: number[] } {
  const widths = info.inputs.map((i) => sizeOfShape(i.shape));
  const outWidth = sizeOfShape(info.output);
  const outputs: unknown[] = [];
  const nonFinite: number[] = [];
  for (let start = 0; start < data.size; start += model.maxBatch) {
    const n = Math.min(model.maxBatch, data.size - start);
    const y = model.predict(data.inputs.map((x, k) => x.subarray(start * widths[k]!, (start + n) * widths[k]!)), n);
    for (let b = 0; b < n; b++) {
      outputs.push(nest(y, b * outWidth, info.output));
      for (let e = b * outWidth; e < (b + 1) * outWidth; e++) {
        if (!Number.isFinite(y[e]!)) {
          nonFinite.push(start + b);
          break;
        }
      }
    }
  }
  return { outputs, nonFinite };
}

function nest(data: ArrayLike<number>, offset: number, shape: readonly number[]): unknown {
  if (shape.length === 0) return data[offset];
  const inner = shape.slice(1);
  const width = sizeOfShape(inner);
  return Array.from({ length: shape[0]! }, (_, i) => nest(data, offset + i * width, inner));
}

function argmax(v: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i]! > v[best]!) best = i;
  return best;
}

// ---- train ---------------------------------------------------------------------------------

async function trainCommand(info: ModuleInfo, flags: Flags, node: NodeHost, program: string): Promise<number> {
  const proc = node.process;
  const loss = info.defaults.loss;
  if (!loss) throw new UsageError(`${info.source} has no loss: add 'train { loss squared|cross_entropy|binary_cross_entropy }'`);
  const epochs = flags.epochs ?? info.defaults.epochs;
  if (flags.saveBest !== undefined && flags.val === undefined) throw new UsageError("--save-best keeps the epoch with the lowest validation loss: it needs --val");
  if (flags.resume !== undefined && flags.weights !== undefined) throw new UsageError("--resume continues from the checkpoint's weights: --weights cannot be given with it");
  for (const path of [flags.save, flags.saveBest]) if (path !== undefined) checkSaveTarget(path, node);
  if (flags.checkpoint !== undefined) checkSaveTarget(flags.checkpoint, node, false);
  if (flags.dtype !== undefined && [flags.save, flags.saveBest].every((p) => p === undefined || weightsFormatOf(p) !== "safetensors")) {
    const save = flags.save ?? flags.saveBest;
    throw new UsageError(`--dtype chooses the number type of a .safetensors save${save === undefined ? "; there is no --save" : `; ${save} is JSON, which always holds the exact float64 weights`}`);
  }
  // The run's identity as dlc train's compiled engine records it: a checkpoint of either resumes in the other.
  const identity: CheckpointIdentity = { network: info.network ?? "(unnamed)", engine: `compiled ${info.precision}`, optimizer: info.defaults.optimizer, weights: info.weights };
  const resumed: Checkpoint | undefined = flags.resume === undefined ? undefined : decodeCheckpoint(readRegularFile(flags.resume, "checkpoint", node), flags.resume, identity);
  if (resumed && resumed.loop.epoch >= epochs) throw new UsageError(`${flags.resume} is at epoch ${resumed.loop.epoch}, the last of this run's ${epochs}: nothing is left to train (give --epochs more than ${resumed.loop.epoch})`);
  // A resumed run shuffles, and draws dropout, as the run it continues: its seed and batch.
  const seed = resumed?.seed ?? flags.seed ?? info.defaults.seed;
  const progress = new Progress(progressMode(flags.json, proc), epochs, proc, Boolean(info.defaults.schedule || info.defaults.warmup));
  const initial = flags.weights === undefined ? undefined : readWeightsFile(info, flags.weights, node, (m) => progress.note(`warning: ${m}`));
  const data = readDataFile(flags.data!, { inputs: info.inputs, output: info.output, loss, needTargets: true }, node);
  if (data.size === 0) throw new UsageError(`${flags.data} holds no samples`);
  const batch = Math.min(resumed?.batch ?? flags.batch ?? info.defaults.batch, data.size);
  if (flags.threads !== undefined && flags.threads > info.shards) {
    throw new UsageError(info.shards === 1 ? `--threads ${flags.threads}: this module was compiled without threads (compile it with dlc compile --threads ${flags.threads})` : `--threads ${flags.threads}: this module was compiled for at most ${info.shards} threads (dlc compile --threads ${info.shards})`);
  }
  const validation = flags.val === undefined ? undefined : readDataFile(flags.val, { inputs: info.inputs, output: info.output, loss, needTargets: true }, node);
  if (validation && validation.size === 0) throw new UsageError(`${flags.val} holds no samples`);
  if (flags.top !== undefined && flags.top > 1 && loss !== "cross_entropy") throw new UsageError(`--top counts a class among the K highest outputs: it needs cross_entropy, not ${loss}`);
  const model = info.create({ maxBatch: batch, seed, threads: flags.threads });
  if (initial) setWeights(info, model, initial);
  const trainable = model as unknown as TrainableState;
  if (resumed) {
    setWeights(info, model, new Map(resumed.weights.map((w) => [w.name, w.data as Float64Array])));
    try {
      trainable.setOptimizerState(resumed.optimizer);
    } catch (e) {
      throw new UsageError(`${flags.resume}: ${(e as Error).message}`);
    }
    trainable.setRandomState(resumed.random);
  }
  const onEpochState = (state: LoopState | undefined): void => {
    if (!state) return;
    if (flags.checkpoint !== undefined) {
      const weights = info.weights.map((w) => ({ name: w.name, shape: w.shape, data: model.w.subarray(w.offset, w.offset + w.size) }));
      const checkpoint: Checkpoint = { network: identity.network, engine: identity.engine, seed, batch, loop: state, weights, optimizer: trainable.optimizerState(), random: trainable.randomState() };
      writeFileAtomic(flags.checkpoint, encodeCheckpoint(checkpoint, flags.checkpoint), node);
    }
    if (flags.saveBest !== undefined && state.epochsWithoutImprovement === 0) writeFileAtomic(flags.saveBest, encodeWeights(namedWeights(info.weights, model), weightsFormatOf(flags.saveBest), { file: flags.saveBest, dtype: flags.dtype }), node);
  };

  const ctrlC = new CtrlC(proc, (m) => progress.note(m));
  ctrlC.install();
  let diverged = false;
  try {
    const d = info.defaults;
    let outcome;
    try {
      outcome = await fitModel(model, info, data, { epochs, batch, seed }, {
        lr: flags.lr ?? d.lr,
        schedule: d.schedule ?? undefined,
        warmup: d.warmup || undefined,
        validation,
        top: flags.top,
        patience: validation ? flags.patience ?? d.patience ?? undefined : undefined,
        onBatch: (r) => progress.batch(r),
        onEpoch: (r) => progress.epoch(r),
        resume: resumed?.loop,
        onEpochState: (_r, state) => onEpochState(state),
        shouldStop: () => ctrlC.pressed,
      });
    } catch (e) {
      if (e instanceof ResumeMismatch) throw new UsageError(`${flags.resume}: ${e.message}`);
      throw e;
    }
    diverged = outcome.status === "diverged";
    if (outcome.status === "diverged") progress.note(`${program}: ${divergenceMessage(outcome, flags.save)}`);
    else if (outcome.status === "interrupted") progress.note(`interrupted in epoch ${outcome.epochs[outcome.epochs.length - 1]?.epoch ?? 1}`);
    else if (outcome.status === "stopped") progress.note(`stopped early after epoch ${outcome.epochs[outcome.epochs.length - 1]?.epoch}: the validation loss has not improved for ${flags.patience ?? info.defaults.patience} epochs`);
    // A run that diverged at its first batch has nothing worth keeping: the old file stays.
    const keep = outcome.status !== "diverged" || outcome.goodBatches > 0;
    if (flags.save !== undefined && keep) {
      const format = weightsFormatOf(flags.save);
      ctrlC.startSaving();
      writeFileAtomic(flags.save, encodeWeights(namedWeights(info.weights, model), format, { file: flags.save, dtype: flags.dtype }), node);
      progress.note(`saved weights to ${flags.save}`);
    }
  } finally {
    await ctrlC.uninstall();
  }
  if (ctrlC.pressed) return EXIT_INTERRUPTED;
  return diverged ? EXIT_INPUT_ERRORS : EXIT_OK;
}

/** A generated Model's training state (its internal methods). */
interface TrainableState {
  optimizerState(): OptimizerState;
  setOptimizerState(state: OptimizerState): void;
  randomState(): number[];
  setRandomState(state: readonly number[]): void;
}

function setWeights(info: ModuleInfo, model: ModelLike, values: ReadonlyMap<string, Float64Array>): void {
  for (const w of info.weights) model.w.set(values.get(w.name)!, w.offset);
}

// ---- starting ------------------------------------------------------------------------------

/** `seed.mjs` for file:///…/seed.mjs: the name messages start with. */
export function programName(moduleUrl: string): string {
  const last = moduleUrl.slice(moduleUrl.lastIndexOf("/") + 1);
  try {
    return decodeURIComponent(last);
  } catch {
    return last;
  }
}

/** Runs the command line when this module is the script Node was started with (`node net.mjs …`). */
export function startIfMain(info: ModuleInfo, moduleUrl: string): void {
  const proc = nodeProcess();
  const script = proc?.argv[1];
  if (!proc || !script || !moduleUrl.startsWith("file:") || inShardWorker()) return;
  void (async () => {
    const fs = await nodeBuiltin<FsLike>("fs");
    const url = await nodeBuiltin<{ pathToFileURL(path: string): { href: string } }>("url");
    let real: string;
    try {
      real = fs.realpathSync(script);
    } catch {
      return;
    }
    if (url.pathToFileURL(real).href !== moduleUrl || !writtenByDlc(fs, real)) return;
    proc.stdout.on("error", (e) => {
      if (e.code === "EPIPE") proc.exit(Number(proc.exitCode ?? 0));
    });
    proc.exitCode = await runCli(info, proc.argv.slice(2), programName(moduleUrl));
  })();
}

/**
 * Whether the script is a file dlc wrote (it starts with the banner). Bundled into an app's
 * script (esbuild …), the module has the app's URL: then the app, not this command line, runs.
 */
function writtenByDlc(fs: FsLike, path: string): boolean {
  const banner = "// Generated by dlc ";
  const head = new Uint8Array(banner.length);
  let fd: number | undefined;
  try {
    fd = fs.openSync(path, "r");
    const got = fs.readSync(fd, head, 0, head.length, 0);
    return got === head.length && String.fromCharCode(...head) === banner;
  } catch {
    return false;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}
