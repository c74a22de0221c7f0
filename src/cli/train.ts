import { statSync } from "node:fs";
import { dirname } from "node:path";
import { DataError, dataSpecOf, loadData, weightsFormat, writeWeights } from "../io/index.js";
import { arrayDataset } from "../interp/array-dataset.js";
import { optimizerConfigOf, type OptimizerConfig } from "../interp/optimizers.js";
import { divergenceMessage } from "../codegen/runtime/divergence.js";
import { EXIT_INTERRUPTED } from "../codegen/runtime/interrupt.js";
import { train } from "../interp/train.js";
import type { Shape } from "../ir/shape.js";
import type { LossKind } from "../ir/types.js";
import { CtrlC } from "./ctrl-c.js";
import { EXIT_INPUT_ERRORS, EXIT_OK, UsageError } from "./errors.js";
import { diagnosticsJson, load, printDiagnostics } from "./load.js";
import { setupModel } from "./model-setup.js";
import { Progress, progressMode } from "../codegen/runtime/progress.js";
import { saveTestHooks } from "./save-test-hooks.js";
import { checkOutputTarget } from "./output-target.js";

export interface TrainFlags {
  readonly data: string;
  readonly weights?: string;
  readonly save?: string;
  /** safetensors saves: F32 (default) or F64. */
  readonly dtype?: "f32" | "f64";
  readonly interpret?: boolean;
  readonly epochs?: number;
  readonly batch?: number;
  readonly lr?: number;
  readonly seed?: number;
  readonly bptt?: number;
  readonly json?: boolean;
  readonly input?: Shape;
  readonly network?: string;
}

/** `dlc train FILE --data D`: the interpreter's training loop; flags override `train { }`. */
export async function runTrain(file: string, flags: TrainFlags): Promise<number> {
  const loaded = load(file, { inputShape: flags.input, network: flags.network });
  const { analysis } = loaded;
  if (analysis.hasErrors || !analysis.selected) {
    if (flags.json) process.stdout.write(JSON.stringify(diagnosticsJson(loaded)) + "\n");
    else printDiagnostics(loaded);
    return EXIT_INPUT_ERRORS;
  }
  if (!flags.json) printDiagnostics(loaded);
  const config = analysis.train ?? {};
  const loss: LossKind | undefined = config.loss;
  if (!loss) throw new UsageError(`${file} has no loss: add 'train { loss squared|cross_entropy|binary_cross_entropy }'`);
  const optimizer: OptimizerConfig = optimizerConfigOf(config, { lr: flags.lr });
  const epochs = flags.epochs ?? config.epochs ?? 1;
  const seed = flags.seed ?? config.seed ?? 1;
  const checked = analysis.selected;
  if (flags.save !== undefined) checkSaveTarget(flags.save);
  if (flags.dtype !== undefined && (flags.save === undefined || weightsFormat(flags.save) !== "safetensors")) {
    throw new UsageError(`--dtype chooses the number type of a .safetensors save${flags.save === undefined ? "; there is no --save" : `; ${flags.save} is JSON, which always holds the exact float64 weights`}`);
  }

  const progress = new Progress(progressMode(flags.json, process), epochs, process);
  const model = setupModel(checked, seed, flags.weights, (m) => progress.note(`warning: ${m}`), { optimizer });
  const data = loadData(flags.data, dataSpecOf(checked, { loss, needTargets: true }));
  if (data.size === 0) throw new UsageError(`${flags.data} holds no samples`);
  const batch = Math.min(flags.batch ?? config.batch ?? 32, data.size);

  const ctrlC = new CtrlC((m) => progress.note(m));
  ctrlC.install();
  let diverged = false;
  try {
    const outcome = await train(model, arrayDataset(data), {
      loss,
      optimizer,
      epochs,
      batch,
      seed,
      bptt: flags.bptt ?? config.bptt,
      lrSettings: { schedule: config.schedule, warmup: config.warmup },
      onBatch: (info) => progress.batch(info),
      onEpoch: (r) => progress.epoch(r),
      shouldStop: () => ctrlC.pressed,
    });
    diverged = outcome.status === "diverged";
    if (outcome.status === "diverged") progress.note(`dlc: ${divergenceMessage(outcome, flags.save)}`);
    else if (outcome.status === "interrupted") progress.note(`interrupted in epoch ${outcome.epochs.at(-1)?.epoch ?? 1}`);
    // A run that diverged at its first batch has nothing worth keeping: the old file stays.
    const keep = outcome.status !== "diverged" || outcome.goodBatches > 0;
    if (flags.save !== undefined && keep) {
      ctrlC.startSaving();
      writeWeights(flags.save, model.namedWeights(), { dtype: flags.dtype, hooks: saveTestHooks() });
      progress.note(`saved weights to ${flags.save}`);
    }
  } finally {
    await ctrlC.finish();
  }
  if (ctrlC.pressed) return EXIT_INTERRUPTED;
  return diverged ? EXIT_INPUT_ERRORS : EXIT_OK;
}

/**
 * Refuses a `--save` path that can never be written before training starts, not after it: an
 * extension that names no weights format, a folder that does not exist, a folder as the target.
 * (Other failures, such as a full disk, still surface at the end; the write is atomic.)
 */
function checkSaveTarget(path: string): void {
  weightsFormat(path);
  checkOutputTarget(path, "save to");
}
