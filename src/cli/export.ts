import { exportOnnx } from "../export/onnx/graph.js";
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
  readonly to: "onnx";
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
