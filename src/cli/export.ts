import { exportOnnx } from "../export/onnx/graph.js";
import { pytorchModel } from "../export/pytorch/model.js";
import { checkProjectTarget, projectFiles, writeProject } from "../export/pytorch/project.js";
import type { Shape } from "../ir/shape.js";
import { writeFileAtomic } from "../io/atomic-write.js";
import { colorsFor, renderAll, visible } from "../diag/render.js";
import { EXIT_INPUT_ERRORS, EXIT_OK, UsageError } from "./errors.js";
import { load, printDiagnostics } from "./load.js";
import { setupModel } from "./model-setup.js";
import { checkOutputTarget } from "./output-target.js";
import { VERSION } from "./version.js";
import { bytes, thousands } from "./format.js";

/** Opsets 17 to 21 use the operators below with one meaning (17 brings LayerNormalization). */
const DEFAULT_OPSET = 17;
/** A protobuf message is at most 2 GiB; leave room for the graph itself. */
const MAX_ONNX_WEIGHT_BYTES = 2 ** 31 - 2 ** 24;

export interface ExportFlags {
  readonly to: "onnx" | "pytorch";
  readonly output: string;
  readonly weights?: string;
  readonly seed?: number;
  readonly opset?: number;
  readonly input?: Shape;
  readonly network?: string;
}

/**
 * `dlc export FILE --to onnx -o OUT.onnx`: the inference graph with its weights (from --weights,
 * or initialised from --seed as `dlc train` would). Nothing is written unless every layer exports.
 */
export function runExport(file: string, flags: ExportFlags): number {
  if (flags.to === "pytorch") return runPytorchExport(file, flags);
  if (flags.weights !== undefined && flags.seed !== undefined) throw new UsageError("--weights and --seed exclude each other: the weights come from the file, or are initialised from the seed");
  checkOutputTarget(flags.output, "write");
  const loaded = load(file, { inputShape: flags.input, network: flags.network });
  const { analysis } = loaded;
  printDiagnostics(loaded);
  if (analysis.hasErrors || !analysis.selected) return EXIT_INPUT_ERRORS;
  const checked = analysis.selected;
  const weights = checked.facts.reduce((n, f) => n + f.paramCount + f.stateCount, 0);
  if (weights * 4 > MAX_ONNX_WEIGHT_BYTES) {
    throw new UsageError(`this network has ${thousands(weights)} weights (${bytes(weights * 4)} in float32): one ONNX file holds at most 2 GiB, and dlc does not write ONNX's external data yet`);
  }
  const seed = flags.seed ?? analysis.train?.seed ?? 1;
  const model = setupModel(checked, seed, flags.weights, (m) => process.stderr.write(`warning: ${m}\n`));
  const opset = flags.opset ?? DEFAULT_OPSET;
  const result = exportOnnx(checked, model, { opset, producerVersion: VERSION });
  if (!result.bytes) {
    process.stderr.write(renderAll(result.diagnostics, loaded.file, loaded.text, colorsFor(process.stderr)) + "\n");
    return EXIT_INPUT_ERRORS;
  }
  writeFileAtomic(flags.output, result.bytes);
  process.stdout.write(visible(`wrote ${flags.output} (ONNX opset ${opset}, ${bytes(result.bytes.length)})`) + "\n");
  return EXIT_OK;
}

/**
 * `dlc export FILE --to pytorch -o DIR`: a PyTorch project (model.py generated, run.py, train.py
 * and dlc_support.py beside it). It holds code only: weights move with Net.load_dlc/save_dlc.
 */
function runPytorchExport(file: string, flags: ExportFlags): number {
  const onnxOnly = (["weights", "seed", "opset"] as const).filter((f) => flags[f] !== undefined);
  if (onnxOnly.length > 0) {
    throw new UsageError(`--${onnxOnly[0]} is for --to onnx: a PyTorch export is code; load weights with run.py/train.py --weights or Net.load_dlc, and Net(seed=N) starts from dlc's initial weights`);
  }
  checkProjectTarget(flags.output);
  const loaded = load(file, { inputShape: flags.input, network: flags.network });
  const { analysis } = loaded;
  printDiagnostics(loaded);
  if (analysis.hasErrors || !analysis.selected) return EXIT_INPUT_ERRORS;
  const result = pytorchModel(analysis.selected, { file: loaded.file, version: VERSION, train: analysis.train });
  if (!result.text) {
    process.stderr.write(renderAll(result.diagnostics, loaded.file, loaded.text, colorsFor(process.stderr)) + "\n");
    return EXIT_INPUT_ERRORS;
  }
  const files = projectFiles(result.text);
  writeProject(flags.output, files);
  process.stdout.write(visible(`wrote ${flags.output}: ${[...files.keys()].join(", ")} (PyTorch 1.13 or newer)`) + "\n");
  return EXIT_OK;
}
