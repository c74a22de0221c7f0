import { BleuAccumulator, hasAccuracy, MetricAccumulator } from "../codegen/runtime/metrics.js";
import { evaluate } from "../codegen/runtime/trainer.js";
import { dataSpecOf, loadData, toRuntimeDataset } from "../io/index.js";
import type { LossKind } from "../ir/types.js";
import { usesCompiledEngine, type EngineRequest } from "./engine.js";
import { checkEngineFlags } from "./engine-options.js";
import { EXIT_INPUT_ERRORS, EXIT_OK, UsageError } from "./errors.js";
import { loadNetwork } from "./load.js";
import { compiledModel, interpretedModel } from "./train.js";

export interface EvalFlags extends EngineRequest {
  readonly weights: string;
  readonly data: string;
  readonly json?: boolean;
  readonly top?: number;
  readonly metric?: "bleu";
  readonly bleuN?: number;
}

/** Samples per inference pass. */
const EVAL_BATCH = 64;

/**
 * `dlc eval FILE --weights W --data D`: the loss (the train block's) over a labelled data set,
 * and for classification losses the accuracy (top-K with --top) and the confusion matrix (rows:
 * the true class); `--metric bleu` adds corpus BLEU-N of per-position token outputs.
 */
export async function runEval(file: string, flags: EvalFlags): Promise<number> {
  checkEngineFlags(flags);
  const loaded = loadNetwork(file, flags);
  if (!loaded) return EXIT_INPUT_ERRORS;
  const { analysis } = loaded;
  const { checked } = loaded;
  const loss: LossKind | undefined = analysis.train?.loss;
  if (!loss) throw new UsageError(`${file} has no loss: add 'train { loss squared|cross_entropy|binary_cross_entropy }' (eval reports the loss)`);
  if (flags.top !== undefined && flags.top > 1 && loss !== "cross_entropy") throw new UsageError(`--top counts a class among the K highest outputs: it needs cross_entropy, not ${loss}`);
  const output = checked.facts[checked.network.output!]!.shape!;
  if (flags.metric === "bleu" && (output.length < 2 || loss !== "cross_entropy")) throw new UsageError(`--metric bleu scores per-position token outputs [T, V] trained with cross_entropy; this network's output is [${output.join(",")}] with ${loss}`);
  if (flags.bleuN !== undefined && flags.metric !== "bleu") throw new UsageError("--bleu-n sets BLEU's longest n-gram: give --metric bleu with it");
  const data = loadData(flags.data, dataSpecOf(checked, { loss, needTargets: true }));
  if (data.size === 0) throw new UsageError(`${flags.data} holds no samples`);
  const warn = (m: string): void => void process.stderr.write(`warning: ${m}\n`);
  const settings = { loss, optimizer: { kind: "sgd" as const, lr: 0 }, seed: 0, batch: Math.min(EVAL_BATCH, data.size), weights: flags.weights, warn };
  const trained = usesCompiledEngine(checked, flags, analysis.train) ? await compiledModel(loaded, flags, data, settings) : interpretedModel(checked, data, settings);
  try {
    const metrics = hasAccuracy(loss) ? new MetricAccumulator(loss, output, flags.top ?? 1) : undefined;
    const bleu = flags.metric === "bleu" ? new BleuAccumulator(flags.bleuN ?? 4) : undefined;
    const r = evaluate(trained.engine, toRuntimeDataset(data), loss, output, flags.top ?? 1, metrics, bleu ? (outputs, targets, n) => bleu.add(outputs, targets, n, output) : undefined);
    const result = {
      loss: r.loss,
      ...(metrics ? { accuracy: metrics.accuracy() } : {}),
      ...(metrics && flags.top !== undefined && flags.top > 1 ? { top: flags.top, topAccuracy: metrics.topKAccuracy() } : {}),
      ...(bleu ? { bleu: bleu.score(), bleuN: bleu.maxN } : {}),
      samples: data.size,
      ...(metrics?.confusion() ? { confusion: metrics.confusion() } : {}),
    };
    if (flags.json) process.stdout.write(JSON.stringify(result) + "\n");
    else process.stdout.write(textOf(result));
  } finally {
    await trained.close();
  }
  return EXIT_OK;
}

function textOf(r: { loss: number; accuracy?: number; top?: number; topAccuracy?: number; bleu?: number; bleuN?: number; samples: number; confusion?: number[][] }): string {
  const pct = (x: number): string => `${(100 * x).toFixed(2)}%`;
  const lines = [`samples   ${r.samples}`, `loss      ${r.loss.toFixed(6)}`];
  if (r.accuracy !== undefined) lines.push(`accuracy  ${pct(r.accuracy)}`);
  if (r.topAccuracy !== undefined) lines.push(`top-${r.top}     ${pct(r.topAccuracy)}`);
  if (r.bleu !== undefined) lines.push(`BLEU-${r.bleuN}    ${r.bleu.toFixed(4)}`);
  if (r.confusion) {
    const c = r.confusion;
    const width = Math.max(4, ...c.flat().map((x) => String(x).length), String(c.length - 1).length + 1);
    const cell = (x: string | number): string => String(x).padStart(width);
    lines.push("", "confusion (rows: true class, columns: predicted)", `${cell("")} ${c.map((_, j) => cell(j)).join(" ")}`);
    c.forEach((row, i) => lines.push(`${cell(i)} ${row.map(cell).join(" ")}`));
  }
  return lines.join("\n") + "\n";
}
