import { parseDataset } from "./data.js";
import { fitModel } from "./fit.js";
import type { ModelLike, ModuleInfo } from "./internal-types.js";
import type { Dataset, FitOptions, FitOutcome, LoadWeightsOptions, ReadDataOptions, SaveWeightsOptions, TrainingData, WeightsFormat } from "./public-types.js";
import { encodeWeights, loadWeightsInto, namedWeights } from "./weights.js";

/**
 * The generated module's runtime API, given what the module knows of itself (`ModuleInfo`);
 * the module exports thin wrappers that pass its own.
 */

export function readDataFor(info: ModuleInfo, source: string | Uint8Array | object, options: ReadDataOptions = {}): Dataset {
  const file = options.file ?? "data";
  const spec = { inputs: info.inputs, output: info.output, loss: options.loss, needTargets: options.needTargets };
  const labels = options.labels ? { bytes: options.labels, file: options.labelsFile ?? "labels" } : undefined;
  return parseDataset(source, spec, file, options.format, labels);
}

export function loadWeightsFor(info: ModuleInfo, model: ModelLike, source: string | Uint8Array, options?: LoadWeightsOptions): string[] {
  return loadWeightsInto(info.weights, model, source, options);
}

export function saveWeightsFor(info: ModuleInfo, model: ModelLike, format: WeightsFormat, options?: SaveWeightsOptions): string | Uint8Array {
  return encodeWeights(namedWeights(info.weights, model), format, options);
}

export function fitFor(info: ModuleInfo, model: ModelLike, data: TrainingData, options: FitOptions = {}): Promise<FitOutcome> {
  const dataset = isDataset(data) ? data : readDataFor(info, data, { file: "data", needTargets: true, loss: model.loss });
  const settings = { epochs: options.epochs ?? info.defaults.epochs, batch: options.batch ?? Math.min(info.defaults.batch, model.maxBatch), seed: options.seed ?? info.defaults.seed };
  const validation = options.validation === undefined || isDataset(options.validation) ? options.validation : readDataFor(info, options.validation, { file: "validation data", needTargets: true, loss: model.loss });
  const d = info.defaults;
  const schedule = options.schedule === undefined ? d.schedule ?? undefined : options.schedule ?? undefined;
  const warmup = options.warmup ?? (d.warmup || undefined);
  const patience = options.patience ?? d.patience ?? undefined;
  return fitModel(model, info, dataset, settings, { ...options, validation, schedule, warmup, patience });
}

function isDataset(data: TrainingData): data is Dataset {
  return typeof (data as Dataset).size === "number" && Array.isArray((data as Dataset).inputs);
}
