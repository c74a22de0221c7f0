import { basename, extname } from "node:path";
import { unsupportedKinds } from "../codegen/compile.js";
import { formatModule } from "../codegen/format.js";
import { tooLargeToCompile, tooMuchCode } from "../codegen/limits.js";
import { moduleParts } from "../codegen/module.js";
import { plan } from "../codegen/plan.js";
import { urlInComment } from "../codegen/safe-text.js";
import { buildSourceMap } from "../codegen/sourcemap.js";
import { visible } from "../diag/render.js";
import { writeFileAtomic } from "../io/atomic-write.js";
import type { Shape } from "../ir/shape.js";
import { checkKernelFlags, threadCount } from "./engine-options.js";
import { EXIT_INPUT_ERRORS, EXIT_OK, UsageError } from "./errors.js";
import { diagnosticsJson, load, printDiagnostics } from "./load.js";
import { VERSION } from "./version.js";

export interface CompileFlags {
  readonly output?: string;
  readonly target?: "ts" | "js";
  readonly precision: "f32" | "f64";
  readonly kernels?: "wasm" | "js";
  /** Shards of each training batch, trained on up to that many threads (1: no threads). */
  readonly threads?: number | true;
  /** Also embed relaxed-SIMD (fused multiply-add) kernels, used where the engine has relaxed SIMD. */
  readonly fma?: boolean;
  readonly input?: Shape;
  readonly network?: string;
  readonly json?: boolean;
}

/** `dlc compile FILE`: a standalone TypeScript (or JavaScript) trainer module plus its source map. */
export async function runCompile(file: string, flags: CompileFlags): Promise<number> {
  checkKernelFlags(flags);
  const loaded = load(file, { inputShape: flags.input, network: flags.network });
  const { analysis } = loaded;
  if (analysis.hasErrors || !analysis.selected) {
    if (flags.json) process.stdout.write(JSON.stringify(diagnosticsJson(loaded)) + "\n");
    else printDiagnostics(loaded);
    return EXIT_INPUT_ERRORS;
  }
  if (!flags.json) printDiagnostics(loaded);
  const missing = unsupportedKinds(analysis.selected);
  if (missing.length > 0) throw new UsageError(`dlc compile cannot generate code for ${missing.join(", ")} layers yet`);
  const threads = threadCount(flags.threads);
  const target = flags.target ?? (flags.output && /\.(m?js|cjs)$/.test(flags.output) ? "js" : "ts");
  const output = flags.output ?? basename(file, extname(file)) + (target === "js" ? ".mjs" : ".ts");
  const mapFile = `${output}.map`;

  const tooLarge = tooLargeToCompile(analysis.selected, { precision: flags.precision, kernels: flags.kernels, train: analysis.train });
  if (tooLarge) throw new UsageError(`dlc compile cannot generate this module: ${tooLarge}`);
  const parts = moduleParts(plan(analysis.selected), { file, precision: flags.precision, train: analysis.train, version: VERSION, kernels: flags.kernels, threads, fma: flags.fma ?? false });
  const tooLong = tooMuchCode(parts);
  if (tooLong) throw new UsageError(`dlc compile cannot generate this module: ${tooLong}`);
  let code = await formatModule(parts, target);
  const map = buildSourceMap(code, basename(output), file, loaded.text);
  code += `//# sourceMappingURL=${urlInComment(basename(mapFile))}\n`;
  writeFileAtomic(output, code);
  writeFileAtomic(mapFile, map);
  if (flags.json) process.stdout.write(JSON.stringify({ ok: true, output, map: mapFile, target, precision: flags.precision, kernels: flags.kernels ?? (flags.precision === "f32" ? "wasm" : "js"), threads, fma: flags.fma ?? false }) + "\n");
  else process.stdout.write(visible(`wrote ${output} and ${mapFile}`) + "\n");
  return EXIT_OK;
}
