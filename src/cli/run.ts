import { dataSpecOf, loadData } from "../io/index.js";
import { arrayDataset } from "../interp/array-dataset.js";
import { predict } from "../interp/train.js";
import type { Tensor } from "../interp/tensor.js";
import type { Shape } from "../ir/shape.js";
import { EXIT_INPUT_ERRORS, EXIT_OK } from "./errors.js";
import { diagnosticsJson, load, printDiagnostics } from "./load.js";
import { setupModel } from "./model-setup.js";

export interface RunFlags {
  readonly weights: string;
  readonly data: string;
  readonly json?: boolean;
  readonly input?: Shape;
  readonly network?: string;
}

/** `dlc run FILE --weights W --data D`: inference, one output per sample. */
export function runRun(file: string, flags: RunFlags): number {
  const loaded = load(file, { inputShape: flags.input, network: flags.network });
  const { analysis } = loaded;
  if (analysis.hasErrors || !analysis.selected) {
    if (flags.json) process.stdout.write(JSON.stringify(diagnosticsJson(loaded)) + "\n");
    else printDiagnostics(loaded);
    return EXIT_INPUT_ERRORS;
  }
  const checked = analysis.selected;
  const model = setupModel(checked, 0, flags.weights, (m) => process.stderr.write(`warning: ${m}\n`));
  const data = loadData(flags.data, dataSpecOf(checked, { needTargets: false }));
  const batches = predict(model, arrayDataset(data));
  const outputs = batches.flatMap(splitSamples);
  if (flags.json) {
    process.stdout.write(JSON.stringify({ outputs }) + "\n");
  } else {
    const softmax = model.outputNode.kind === "softmax" || model.outputNode.activation?.kind === "softmax";
    outputs.forEach((o, i) => {
      const values = o as unknown;
      const label = softmax && Array.isArray(values) && typeof values[0] === "number" ? `  → class ${argmax(values as number[])}` : "";
      process.stdout.write(`${i}: ${JSON.stringify(values)}${label}\n`);
    });
  }
  const bad = nonFiniteSamples(batches);
  if (bad.length > 0) {
    const what = bad.length === 1 ? `sample ${bad[0]}'s output is` : `the outputs of ${bad.length} samples (the first: sample ${bad[0]}) are`;
    process.stderr.write(`dlc: ${what} not finite (NaN or infinite, printed as null): the weights or the data are out of range for this network\n`);
    return EXIT_INPUT_ERRORS;
  }
  return EXIT_OK;
}

/** The indices of the samples with an output value that is NaN or infinite. */
function nonFiniteSamples(batches: readonly Tensor[]): number[] {
  const bad: number[] = [];
  let sample = 0;
  for (const t of batches) {
    const width = t.data.length / t.shape[0]!;
    for (let b = 0; b < t.shape[0]!; b++, sample++) {
      for (let i = b * width; i < (b + 1) * width; i++) {
        if (!Number.isFinite(t.data[i]!)) {
          bad.push(sample);
          break;
        }
      }
    }
  }
  return bad;
}

/** A batch output [B, ...shape] as one nested array per sample. */
function splitSamples(t: Tensor): unknown[] {
  const shape: Shape = t.shape.slice(1);
  const width = shape.reduce((a, b) => a * b, 1);
  const out: unknown[] = [];
  for (let b = 0; b < t.shape[0]!; b++) out.push(nest(t.data, b * width, shape));
  return out;
}

function nest(data: Float64Array, offset: number, shape: Shape): unknown {
  if (shape.length === 0) return data[offset];
  if (shape.length === 1) return Array.from(data.subarray(offset, offset + shape[0]!));
  const inner = shape.slice(1);
  const width = inner.reduce((a, b) => a * b, 1);
  return Array.from({ length: shape[0]! }, (_, i) => nest(data, offset + i * width, inner));
}

function argmax(v: number[]): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i]! > v[best]!) best = i;
  return best;
}
