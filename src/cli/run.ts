import type { CheckedNetwork } from "../check/infer.js";
import { dataSpecOf, expectedWeights, loadData, readWeights } from "../io/index.js";
import { arrayDataset } from "../interp/array-dataset.js";
import { predict } from "../interp/train.js";
import type { Tensor } from "../interp/tensor.js";
import type { Shape } from "../ir/shape.js";
import { openCompiledEngine, setModelWeights, usesCompiledEngine, type EngineRequest } from "./engine.js";
import { checkEngineFlags } from "./engine-options.js";
import { EXIT_INPUT_ERRORS, EXIT_OK } from "./errors.js";
import { loadNetwork, type Loaded } from "./load.js";
import { setupModel } from "./model-setup.js";

export interface RunFlags extends EngineRequest {
  readonly weights: string;
  readonly data: string;
  readonly json?: boolean;
}

/** Samples per forward pass, as the interpreter's predict and the generated module's `run` take them. */
const RUN_BATCH = 64;

/**
 * `dlc run FILE --weights W --data D`: inference, one output per sample, on the compiled engine
 * (float32 by default) or, with --interpret, the float64 interpreter. A network the compiled
 * engine cannot take (a layer kind without generated code, too large to compile) runs on the
 * interpreter, unless compiled-engine flags were given.
 */
export async function runRun(file: string, flags: RunFlags): Promise<number> {
  checkEngineFlags(flags);
  const loaded = loadNetwork(file, flags);
  if (!loaded) return EXIT_INPUT_ERRORS;
  const { analysis } = loaded;
  const { checked } = loaded;
  const interpreted = !usesCompiledEngine(checked, flags, analysis.train);
  const warn = (m: string): void => void process.stderr.write(`warning: ${m}\n`);
  const batches = interpreted ? interpretedOutputs(checked, flags, warn) : await compiledOutputs(loaded, flags, warn);
  printOutputs(checked, batches, flags.json);

  const bad = nonFiniteSamples(batches);
  if (bad.length > 0) {
    const what = bad.length === 1 ? `sample ${bad[0]}'s output is` : `the outputs of ${bad.length} samples (the first: sample ${bad[0]}) are`;
    // Float32 overflows at 3.4e38, where float64 would not: say how to get float64's range.
    const hint = interpreted || flags.precision === "f64" ? "" : " (the compiled engine computes in float32: --precision f64 or --interpret compute in float64)";
    process.stderr.write(`dlc: ${what} not finite (NaN or infinite, printed as null): the weights or the data are out of range for this network${hint}\n`);
    return EXIT_INPUT_ERRORS;
  }
  return EXIT_OK;
}

/** The float64 interpreter's outputs, one tensor [B, ...output] per batch. */
function interpretedOutputs(checked: CheckedNetwork, flags: RunFlags, warn: (m: string) => void): Tensor[] {
  const model = setupModel(checked, 0, flags.weights, warn);
  const data = loadData(flags.data, dataSpecOf(checked, { needTargets: false }));
  return predict(model, arrayDataset(data), RUN_BATCH);
}

/** The compiled engine's outputs (float32 by default, as float64 numbers), batched as the interpreter's. */
async function compiledOutputs(loaded: Loaded, flags: RunFlags, warn: (m: string) => void): Promise<Tensor[]> {
  const checked = loaded.analysis.selected!;
  const weights = readWeights(flags.weights, expectedWeights(checked), { onWarning: warn });
  const data = loadData(flags.data, dataSpecOf(checked, { needTargets: false }));
  const { module } = await openCompiledEngine(loaded, flags);
  const inputs = data.inputs.map(samplesOf);
  const widths = module.NETWORK.inputs.map((i) => i.shape.reduce((a, b) => a * b, 1));
  const outShape = module.NETWORK.output;
  const outWidth = outShape.reduce((a, b) => a * b, 1);
  const model = new module.Model({ maxBatch: Math.max(1, Math.min(RUN_BATCH, data.size)), seed: 0, loss: null });
  try {
    setModelWeights(module, model, weights);
    const batches: Tensor[] = [];
    for (let start = 0; start < data.size; start += model.maxBatch) {
      const n = Math.min(model.maxBatch, data.size - start);
      const y = model.predict(inputs.map((x, k) => x.subarray(start * widths[k]!, (start + n) * widths[k]!)), n);
      batches.push({ shape: [n, ...outShape], data: Float64Array.from(y.subarray(0, n * outWidth)) });
    }
    return batches;
  } finally {
    await model.close?.();
  }
}

/** One input's samples as one flat array, whether src/io gives `{ data }` per input or the arrays themselves. */
function samplesOf(input: Float64Array | { readonly data: Float64Array }): Float64Array {
  return input instanceof Float64Array ? input : input.data;
}

/** Prints the outputs (`i: [...]  → class k` lines, or one JSON object). */
function printOutputs(checked: CheckedNetwork, batches: readonly Tensor[], json: boolean | undefined): void {
  const outputs = batches.flatMap(splitSamples);
  if (json) {
    process.stdout.write(JSON.stringify({ outputs }) + "\n");
    return;
  }
  const { network } = checked;
  const outNode = network.nodes[network.output!]!;
  const softmax = outNode.kind === "softmax" || outNode.activation?.kind === "softmax";
  outputs.forEach((o, i) => {
    const values = o as unknown;
    const label = softmax && Array.isArray(values) && typeof values[0] === "number" ? `  → class ${argmax(values as number[])}` : "";
    process.stdout.write(`${i}: ${JSON.stringify(values)}${label}\n`);
  });
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
