import { divergenceMessage } from "../codegen/runtime/divergence.js";
import { compiledEngine } from "../codegen/runtime/fit.js";
import { EXIT_INTERRUPTED } from "../codegen/runtime/interrupt.js";
import { Progress, progressMode } from "../codegen/runtime/progress.js";
import type { Dataset as RuntimeDataset, EpochReport, OptimizerState } from "../codegen/runtime/public-types.js";
import { plotSvg } from "../codegen/runtime/plot-svg.js";
import { ResumeMismatch, runTrainer, type LoopState, type TrainEngine } from "../codegen/runtime/trainer.js";
import { dataSpecOf, expectedWeights, loadData, readWeights, toRuntimeDataset, weightsFormat, writeFileAtomic, writeWeights } from "../io/index.js";
import type { Dataset } from "../io/index.js";
import { arrayDataset } from "../interp/array-dataset.js";
import { interpEngine } from "../interp/engine.js";
import { DEFAULT_LR, type OptimizerConfig } from "../interp/optimizers.js";
import type { Shape } from "../ir/shape.js";
import type { LossKind, TrainConfig } from "../ir/types.js";
import { readCheckpoint, writeCheckpoint, type Checkpoint, type CheckpointWeight } from "./checkpoint.js";
import { CtrlC } from "./ctrl-c.js";
import { splitForValidation } from "./datasets.js";
import { openCompiledEngine, setModelWeights, usesCompiledEngine, type EngineRequest } from "./engine.js";
import { checkEngineFlags } from "./engine-options.js";
import { EXIT_INPUT_ERRORS, EXIT_OK, UsageError } from "./errors.js";
import { loadNetwork, printDiagnostics, type Loaded } from "./load.js";
import { assertFitsInMemory, assertRunnable, setupModel } from "./model-setup.js";
import { checkOutputTarget } from "./output-target.js";
import { saveTestHooks } from "./save-test-hooks.js";

export interface TrainFlags extends EngineRequest {
  readonly data: string;
  readonly weights?: string;
  readonly save?: string;
  /** safetensors saves: F32 (default) or F64. */
  readonly dtype?: "f32" | "f64";
  readonly epochs?: number;
  readonly batch?: number;
  readonly lr?: number;
  readonly seed?: number;
  readonly bptt?: number;
  readonly json?: boolean;
  readonly input?: Shape;
  readonly network?: string;
  readonly val?: string;
  readonly valSplit?: number;
  readonly top?: number;
  readonly patience?: number;
  readonly schedule?: TrainConfig["schedule"];
  readonly warmup?: number;
  readonly weightDecay?: number;
  readonly clip?: number;
  readonly checkpoint?: string;
  readonly resume?: string;
  readonly saveBest?: string;
  readonly plot?: string;
}

/** What the CLI needs of a trained model beyond the loop's engine: its weights and state for saves and checkpoints. */
export interface TrainedModel {
  readonly engine: TrainEngine;
  /** "interpreter" or "compiled f32|f64": a checkpoint's engine. */
  readonly engineName: string;
  weights(): CheckpointWeight[];
  setWeights(values: ReadonlyMap<string, Float64Array>): void;
  optimizerState(): OptimizerState;
  setOptimizerState(state: OptimizerState): void;
  randomState(): number[];
  setRandomState(state: readonly number[]): void;
  close(): Promise<void>;
}

/**
 * `dlc train FILE --data D`: the one training loop (runtime/trainer.ts) on the compiled engine
 * (default) or the float64 interpreter (--interpret); flags override `train { }`.
 */
export async function runTrain(file: string, flags: TrainFlags): Promise<number> {
  checkEngineFlags(flags);
  const loaded = loadNetwork(file, flags);
  if (!loaded) return EXIT_INPUT_ERRORS;
  const { analysis } = loaded;
  if (!flags.json) printDiagnostics(loaded);
  const fileConfig = analysis.train ?? {};
  const loss: LossKind | undefined = fileConfig.loss;
  if (!loss) throw new UsageError(`${file} has no loss: add 'train { loss squared|cross_entropy|binary_cross_entropy }'`);
  const base = fileConfig.optimizer ?? { kind: "sgd" as const };
  const optimizer: OptimizerConfig = {
    ...base,
    lr: flags.lr ?? base.lr ?? DEFAULT_LR[base.kind],
    ...(flags.weightDecay ?? fileConfig.weightDecay) !== undefined ? { weightDecay: flags.weightDecay ?? fileConfig.weightDecay } : {},
    ...(flags.clip ?? fileConfig.clip) !== undefined ? { clip: flags.clip ?? fileConfig.clip } : {},
  };
  const schedule = flags.schedule ?? fileConfig.schedule;
  const warmup = flags.warmup ?? fileConfig.warmup;
  const patience = flags.patience ?? fileConfig.patience;
  const epochs = flags.epochs ?? fileConfig.epochs ?? 1;
  const { checked } = loaded;
  checkTargets(flags);
  if (flags.top !== undefined && flags.top > 1 && loss !== "cross_entropy") throw new UsageError(`--top counts a class among the K highest outputs: it needs cross_entropy, not ${loss}`);

  const progress = new Progress(progressMode(flags.json, process), epochs, process, Boolean(schedule || warmup));
  const interpreted = !usesCompiledEngine(checked, flags, analysis.train);
  // A network the interpreter cannot hold is refused before the data is read.
  if (interpreted) {
    assertRunnable(checked);
    assertFitsInMemory(checked, { optimizer });
  }
  const spec = dataSpecOf(checked, { loss, needTargets: true });
  const all = loadData(flags.data, spec);
  if (all.size === 0) throw new UsageError(`${flags.data} holds no samples`);
  let train: Dataset = all;
  let validation: Dataset | undefined;
  if (flags.val !== undefined) {
    validation = loadData(flags.val, spec);
    if (validation.size === 0) throw new UsageError(`${flags.val} holds no samples`);
  } else if (flags.valSplit !== undefined) ({ train, validation } = splitForValidation(all, flags.valSplit));

  const engineName = interpreted ? "interpreter" : `compiled ${flags.precision ?? "f32"}`;
  const identity = { network: checked.network.name ?? "(unnamed)", engine: engineName, optimizer: optimizer.kind, weights: expectedWeights(checked).map((w) => ({ name: w.name, shape: w.shape })) };
  const resumed: Checkpoint | undefined = flags.resume === undefined ? undefined : readCheckpoint(flags.resume, identity);
  if (resumed && resumed.loop.epoch >= epochs) throw new UsageError(`${flags.resume} is at epoch ${resumed.loop.epoch}, the last of this run's ${epochs}: nothing is left to train (give --epochs more than ${resumed.loop.epoch})`);
  // A resumed run shuffles, and draws dropout, as the run it continues: its seed and batch.
  const seed = resumed?.seed ?? flags.seed ?? fileConfig.seed ?? 1;
  const batch = Math.min(resumed?.batch ?? flags.batch ?? fileConfig.batch ?? 32, train.size);

  const warn = (m: string): void => progress.note(`warning: ${m}`);
  const trained = interpreted
    ? interpretedModel(checked, train, { loss, optimizer, seed, batch, bptt: flags.bptt ?? fileConfig.bptt, weights: flags.weights, warn })
    : await compiledModel(loaded, flags, train, { loss, optimizer, seed, batch, weights: flags.weights, warn });
  if (resumed) {
    trained.setWeights(new Map(resumed.weights.map((w) => [w.name, w.data as Float64Array])));
    try {
      trained.setOptimizerState(resumed.optimizer);
    } catch (e) {
      throw new UsageError(`${flags.resume}: ${(e as Error).message}`);
    }
    trained.setRandomState(resumed.random);
  }

  const history: EpochReport[] = [];
  const ctrlC = new CtrlC((m) => progress.note(m));
  ctrlC.install();
  let diverged = false;
  try {
    let outcome;
    try {
      outcome = await runTrainer(trained.engine, train.size, toRuntimeDataset(train).targets, {
        loss,
        output: checked.facts[checked.network.output!]!.shape!,
        epochs,
        batch,
        seed,
        lr: optimizer.lr,
        ...(schedule || warmup ? { schedule: { ...(schedule ? { schedule } : {}), ...(warmup ? { warmup } : {}) } } : {}),
        ...(validation ? { validation: toRuntimeDataset(validation) } : {}),
        top: flags.top,
        patience,
        resume: resumed?.loop,
        onBatch: (r) => progress.batch(r),
        onEpoch: (report, state) => {
          progress.epoch(report);
          history.push(report);
          if (flags.plot !== undefined) writeFileAtomic(flags.plot, plotSvg(history, `${file}: training`));
          if (!state) return;
          if (flags.checkpoint !== undefined) writeCheckpoint(flags.checkpoint, checkpointOf(trained, identity, seed, batch, state));
          if (flags.saveBest !== undefined && state.epochsWithoutImprovement === 0) writeWeights(flags.saveBest, weightTensors(trained), { dtype: flags.dtype });
        },
        shouldStop: () => ctrlC.pressed,
      });
    } catch (e) {
      if (e instanceof ResumeMismatch) throw new UsageError(`${flags.resume}: ${e.message}`);
      throw e;
    }
    diverged = outcome.status === "diverged";
    if (outcome.status === "diverged") progress.note(`dlc: ${divergenceMessage(outcome, flags.save)}`);
    else if (outcome.status === "interrupted") progress.note(`interrupted in epoch ${outcome.epochs.at(-1)?.epoch ?? 1}`);
    else if (outcome.status === "stopped") progress.note(`stopped early after epoch ${outcome.epochs.at(-1)?.epoch}: the validation loss has not improved for ${patience} epochs`);
    // A run that diverged at its first batch has nothing worth keeping: the old file stays.
    const keep = outcome.status !== "diverged" || outcome.goodBatches > 0;
    if (flags.save !== undefined && keep) {
      ctrlC.startSaving();
      writeWeights(flags.save, weightTensors(trained), { dtype: flags.dtype, hooks: saveTestHooks() });
      progress.note(`saved weights to ${flags.save}`);
    }
  } finally {
    await ctrlC.finish();
    await trained.close();
  }
  if (ctrlC.pressed) return EXIT_INTERRUPTED;
  return diverged ? EXIT_INPUT_ERRORS : EXIT_OK;
}

function weightTensors(trained: TrainedModel): [string, { shape: readonly number[]; data: Float64Array }][] {
  return trained.weights().map((w) => [w.name, { shape: w.shape, data: Float64Array.from(w.data) }]);
}

function checkpointOf(trained: TrainedModel, identity: { network: string; engine: string }, seed: number, batch: number, loop: LoopState): Checkpoint {
  return { network: identity.network, engine: identity.engine, seed, batch, loop, weights: trained.weights(), optimizer: trained.optimizerState(), random: trained.randomState() };
}

/** Refuses, before training, flags that cannot work and output paths that can never be written. */
function checkTargets(flags: TrainFlags): void {
  if (flags.val !== undefined && flags.valSplit !== undefined) throw new UsageError("--val and --val-split both name validation data: give one");
  if (flags.saveBest !== undefined && flags.val === undefined && flags.valSplit === undefined) throw new UsageError("--save-best keeps the epoch with the lowest validation loss: it needs --val or --val-split");
  if (flags.patience !== undefined && flags.val === undefined && flags.valSplit === undefined) throw new UsageError("--patience stops on the validation loss: it needs --val or --val-split");
  if (flags.resume !== undefined && flags.weights !== undefined) throw new UsageError("--resume continues from the checkpoint's weights: --weights cannot be given with it");
  for (const [flag, path] of [["--save", flags.save], ["--save-best", flags.saveBest]] as const) {
    if (path === undefined) continue;
    weightsFormat(path);
    checkOutputTarget(path, flag === "--save" ? "save to" : "save the best weights to");
  }
  if (flags.checkpoint !== undefined) checkOutputTarget(flags.checkpoint, "write the checkpoint");
  if (flags.plot !== undefined) checkOutputTarget(flags.plot, "write the plot");
  if (flags.dtype !== undefined && [flags.save, flags.saveBest].every((p) => p === undefined || weightsFormat(p) !== "safetensors")) {
    const save = flags.save ?? flags.saveBest;
    throw new UsageError(`--dtype chooses the number type of a .safetensors save${save === undefined ? "; there is no --save" : `; ${save} is JSON, which always holds the exact float64 weights`}`);
  }
}

export interface ModelSettings {
  readonly loss: LossKind;
  readonly optimizer: OptimizerConfig;
  readonly seed: number;
  readonly batch: number;
  readonly weights?: string;
  readonly warn: (message: string) => void;
}

export function interpretedModel(checked: NonNullable<Loaded["analysis"]["selected"]>, train: Dataset, o: ModelSettings & { bptt?: number }): TrainedModel {
  const model = setupModel(checked, o.seed, o.weights, o.warn, { optimizer: o.optimizer });
  const engine = interpEngine(model, arrayDataset(train), { loss: o.loss, optimizer: o.optimizer, seed: o.seed, bptt: o.bptt, maxBatch: o.batch });
  const named = model.namedWeights();
  const slots = model.trainableSlots();
  return {
    engine,
    engineName: "interpreter",
    weights: () => [...named].map(([name, t]) => ({ name, shape: t.shape.length ? t.shape : [t.data.length], data: t.data })),
    setWeights: (values) => model.loadWeights(new Map([...values].map(([k, v]) => [k, { data: v }]))),
    optimizerState: () => engine.optimizer.state(slots),
    setOptimizerState: (s) => engine.optimizer.setState(s, slots),
    randomState: () => [engine.randomState()],
    setRandomState: (s) => engine.setRandomState(s[0] ?? 0),
    close: async () => {},
  };
}

export async function compiledModel(loaded: Loaded, flags: TrainFlags, train: Dataset, o: ModelSettings): Promise<TrainedModel> {
  const checked = loaded.analysis.selected!;
  const initial = o.weights === undefined ? undefined : readWeights(o.weights, expectedWeights(checked), { onWarning: o.warn });
  const { module, threads } = await openCompiledEngine(loaded, flags);
  const model = new module.Model({ maxBatch: o.batch, seed: o.seed, loss: o.loss, ...(threads > 1 ? { threads: typeof flags.threads === "number" ? flags.threads : threads } : {}) });
  const opt = (model as unknown as { optimizer: Record<string, unknown> }).optimizer;
  Object.assign(opt, { lr: o.optimizer.lr, ...(o.optimizer.weightDecay !== undefined ? { weightDecay: o.optimizer.weightDecay } : {}), ...(o.optimizer.clip !== undefined ? { clip: o.optimizer.clip } : {}) });
  if (initial) setModelWeights(module, model, initial);
  const data: RuntimeDataset = toRuntimeDataset(train);
  const widths = module.NETWORK.inputs.map((i) => i.shape.reduce((a, b) => a * b, 1));
  const engine = compiledEngine(model, module.WEIGHTS, widths, module.NETWORK.output.reduce((a, b) => a * b, 1), data, o.batch);
  const m = model as unknown as { optimizerState(): OptimizerState; setOptimizerState(s: OptimizerState): void; randomState(): number[]; setRandomState(s: readonly number[]): void };
  return {
    engine,
    engineName: `compiled ${module.NETWORK.precision}`,
    weights: () => module.WEIGHTS.map((w) => ({ name: w.name, shape: w.shape, data: model.w.subarray(w.offset, w.offset + w.size) })),
    setWeights: (values) => setModelWeights(module, model, values),
    optimizerState: () => m.optimizerState(),
    setOptimizerState: (s) => m.setOptimizerState(s),
    randomState: () => m.randomState(),
    setRandomState: (s) => m.setRandomState(s),
    close: async () => model.close?.(),
  };
}
