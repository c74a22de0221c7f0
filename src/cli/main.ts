import { Command, CommanderError, Option } from "commander";
import type { Convention } from "../check/summary.js";
import { visible } from "../diag/render.js";
import { kernelsOption, precisionOption, threadsOption, withEngineOptions } from "./engine-options.js";
import { EXIT_INPUT_ERRORS, EXIT_USAGE, InputErrors, UsageError } from "./errors.js";
import { MAX_BATCH, parsePositiveInt, parseShapeArg } from "./shape-arg.js";

import { VERSION } from "./version.js";

/** Heavy modules load inside each command, so `dlc check` starts fast. */
function program(setExit: (code: number) => void): Command {
  const cli = new Command("dlc")
    .description("dlc — check, summarise, run and compile .dl neural-network descriptions")
    .version(VERSION, "-V, --version")
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(visible(s)) });

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
    .addOption(new Option("--batch <n>", "batch size for the memory estimate").argParser((v) => parsePositiveInt("--batch", v, 1, MAX_BATCH)).default(1))
    .action(async (file: string, opts: { input?: number[]; json?: boolean; network?: string; convention: Convention; batch: number }) => {
      const { runSummary } = await import("./summary.js");
      setExit(runSummary(file, opts));
    });

  const number = (flag: string) => (v: string): number => {
    const x = Number(v);
    if (v.trim() === "" || !Number.isFinite(x) || x <= 0) throw new UsageError(`${flag} expects a positive number, got '${v}'`);
    return x;
  };

  const fraction = (flag: string) => (v: string): number => {
    const x = Number(v);
    if (v.trim() === "" || !(x > 0 && x < 1)) throw new UsageError(`${flag} expects a fraction between 0 and 1, got '${v}'`);
    return x;
  };
  const nonNegative = (flag: string) => (v: string): number => {
    const x = Number(v);
    if (v.trim() === "" || !Number.isFinite(x) || x < 0) throw new UsageError(`${flag} expects a number ≥ 0, got '${v}'`);
    return x;
  };
  const parseSchedule = (v: string): { kind: "cosine" } | { kind: "step"; every: number; gamma: number } => {
    const words = v.trim().split(/\s+/);
    if (words.length === 1 && words[0] === "cosine") return { kind: "cosine" };
    if (words.length === 3 && words[0] === "step") return { kind: "step", every: parsePositiveInt("--schedule step's epochs", words[1]!), gamma: number("--schedule step's factor")(words[2]!) };
    throw new UsageError(`--schedule expects 'step E G' (multiply the rate by G every E epochs) or 'cosine', got '${v}'`);
  };

  const train = cli
    .command("train")
    .description("train FILE on a data set (the compiled engine; --interpret: the float64 interpreter)")
    .argument("<file>", ".dl file")
    .requiredOption("--data <path>", "data: JSON {x, y}, CSV (last column the label) or IDX (MNIST)")
    .option("--weights <path>", "initial weights (.json or .safetensors)")
    .option("--save <path>", "write the trained weights here (.json or .safetensors), atomically")
    .addOption(new Option("--dtype <type>", "number type of a .safetensors save (JSON is always exact)").choices(["f32", "f64"]))
    .addOption(new Option("--epochs <n>", "epochs (overrides train { })").argParser((v) => parsePositiveInt("--epochs", v)))
    .addOption(new Option("--batch <n>", "batch size (overrides train { })").argParser((v) => parsePositiveInt("--batch", v, 1, MAX_BATCH)))
    .addOption(new Option("--lr <x>", "learning rate (overrides train { })").argParser(number("--lr")))
    .addOption(new Option("--seed <n>", "seed for initial weights, shuffling and dropout").argParser((v) => parsePositiveInt("--seed", v, 0)))
    .addOption(new Option("--bptt <k>", "truncated backpropagation through time, K steps").argParser((v) => parsePositiveInt("--bptt", v)))
    .option("--val <path>", "validation data (any data format): its loss and accuracy after each epoch")
    .addOption(new Option("--val-split <f>", "validate on the last fraction F of --data (not trained on)").argParser(fraction("--val-split")))
    .addOption(new Option("--top <k>", "accuracy counts the target among the K highest outputs").argParser((v) => parsePositiveInt("--top", v)))
    .addOption(new Option("--patience <n>", "stop when the validation loss has not improved for N epochs (overrides train { })").argParser((v) => parsePositiveInt("--patience", v)))
    .addOption(new Option("--schedule <s>", "learning-rate schedule: 'step E G' or 'cosine' (overrides train { })").argParser(parseSchedule))
    .addOption(new Option("--warmup <n>", "linear learning-rate warmup over N batches (overrides train { })").argParser((v) => parsePositiveInt("--warmup", v)))
    .addOption(new Option("--weight-decay <x>", "weight decay: L2 for sgd/adam, decoupled for adamw (overrides train { })").argParser(nonNegative("--weight-decay")))
    .addOption(new Option("--clip <x>", "clip the global gradient norm to X (overrides train { })").argParser(number("--clip")))
    .option("--checkpoint <path>", "after every epoch, write weights, optimizer state and position here (atomically) for --resume")
    .option("--resume <path>", "continue the run a --checkpoint file holds (same network, optimizer and engine)")
    .option("--save-best <path>", "keep the weights of the epoch with the lowest validation loss here (atomically)")
    .option("--plot <file.svg>", "write the loss and accuracy curves as an SVG after every epoch (atomically)")
    .addOption(inputOption())
    .addOption(networkOption())
    .option("--json", "one JSON object per epoch on stdout");
  withEngineOptions(train, "train with the float64 interpreter (the reference)")
    .action(async (file: string, opts: import("./train.js").TrainFlags) => {
      const { runTrain } = await import("./train.js");
      setExit(await runTrain(file, opts));
    });

  const run = cli
    .command("run")
    .description("inference: print the network's outputs for each sample (compiled, float32; --interpret: the float64 interpreter)")
    .argument("<file>", ".dl file")
    .requiredOption("--weights <path>", "weights (.json or .safetensors)")
    .requiredOption("--data <path>", "data: JSON {x}, CSV or IDX")
    .addOption(inputOption())
    .addOption(networkOption())
    .option("--json", 'print {"outputs": [...]}');
  withEngineOptions(run)
    .action(async (file: string, opts: import("./run.js").RunFlags) => {
      const { runRun } = await import("./run.js");
      setExit(await runRun(file, opts));
    });

  const evaluation = cli
    .command("eval")
    .description("evaluate trained weights on labelled data: loss, accuracy, confusion matrix (compiled; --interpret: the interpreter)")
    .argument("<file>", ".dl file")
    .requiredOption("--weights <path>", "weights (.json or .safetensors)")
    .requiredOption("--data <path>", "labelled data: JSON {x, y}, CSV or IDX")
    .addOption(new Option("--top <k>", "also the top-K accuracy (cross_entropy)").argParser((v) => parsePositiveInt("--top", v)))
    .addOption(new Option("--metric <name>", "also BLEU of per-position token outputs").choices(["bleu"]))
    .addOption(new Option("--bleu-n <n>", "BLEU's longest n-gram (default 4)").argParser((v) => parsePositiveInt("--bleu-n", v)))
    .addOption(inputOption())
    .addOption(networkOption())
    .option("--json", "print one JSON object (loss, accuracy, confusion, …)");
  withEngineOptions(evaluation)
    .action(async (file: string, opts: import("./eval.js").EvalFlags) => {
      const { runEval } = await import("./eval.js");
      setExit(await runEval(file, opts));
    });

  cli
    .command("compile")
    .description("generate a standalone TypeScript/JavaScript trainer module (+ source map)")
    .argument("<file>", ".dl file")
    .option("-o, --output <path>", "output file (default: FILE.ts, or FILE.mjs for --target js)")
    .addOption(new Option("--target <target>", "ts or js (default: from -o's extension, else ts)").choices(["ts", "js"]))
    .addOption(precisionOption("number type of the generated arenas").default("f32"))
    .addOption(kernelsOption())
    .addOption(threadsOption())
    .option("--fma", "also embed matmul kernels on relaxed SIMD's fused multiply-add, used where the engine has it (Node 22+, Chrome 114+; results may then differ in the last bits between engines)")
    .addOption(inputOption())
    .addOption(networkOption())
    .option("--json", "print the result as JSON")
    .action(async (file: string, opts: import("./compile.js").CompileFlags) => {
      const { runCompile } = await import("./compile.js");
      setExit(await runCompile(file, opts));
    });

  cli
    .command("export")
    .description("write the network for another engine: its inference graph with weights (ONNX), or a PyTorch project that runs and trains it (a folder)")
    .argument("<file>", ".dl file")
    .addOption(new Option("--to <format>", "what to write").choices(["onnx", "pytorch"]).makeOptionMandatory())
    .requiredOption("-o, --output <path>", "output file (onnx) or folder (pytorch), written atomically")
    .option("--weights <path>", "weights (.json or .safetensors; default: initialised from --seed as dlc train would)")
    .addOption(new Option("--seed <n>", "seed for the initial weights when there is no --weights").argParser((v) => parsePositiveInt("--seed", v, 0)))
    .addOption(new Option("--opset <n>", "ONNX opset version, 17 to 21 (default 17)").argParser((v) => parsePositiveInt("--opset", v, 17, 21)))
    .addOption(inputOption())
    .addOption(networkOption())
    .action(async (file: string, opts: import("./export.js").ExportFlags) => {
      const { runExport } = await import("./export.js");
      setExit(runExport(file, opts));
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
  // Messages quote file names and flag values, which may hold terminal escapes.
  if (e instanceof Error && e.name === "DataError") {
    process.stderr.write(`dlc: ${visible(e.message)}\n`);
    return EXIT_USAGE;
  }
  if (e instanceof UsageError) {
    process.stderr.write(`dlc: ${visible(e.message)}\n`);
    return EXIT_USAGE;
  }
  // A bug in dlc, not the user's mistake: a short message, the stack only on request.
  const message = e instanceof Error ? e.message : String(e);
  process.stderr.write(`dlc: internal error: ${visible(message)}\n(this is a bug in dlc; set DLC_DEBUG=1 to see where it happened)\n`);
  if (process.env.DLC_DEBUG && e instanceof Error) process.stderr.write(`${e.stack}\n`);
  return EXIT_USAGE;
}
