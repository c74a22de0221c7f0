/**
 * `npm run bench`: runs the benchmarks, prints their markdown tables, and writes them to
 * bench/RESULTS.md. A benchmark is a named function returning sections (front end, interpreter,
 * compiler, the SIMD matmul kernels, the compiled modules' per-block profiles, inference beside
 * ONNX Runtime, the exported PyTorch trainer); add later ones
 * to `BENCHMARKS`. They run in this order; name some to run only those (RESULTS.md is then
 * written with only their sections, unless --no-write; with --update their sections replace
 * the same sections of the existing RESULTS.md and the others are kept):
 *
 *   node dist/bench/run.js [NAME…] [--only NAME]… [--no-write | --update]
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { cleanUpCases } from "./cases.js";
import { compilerSections } from "./compiled.js";
import { engineSections } from "./engine.js";
import { frontendScalingSections, frontendSections } from "./frontend.js";
import { interpreterSections } from "./interp.js";
import { onnxSections } from "./onnx.js";
import { profileSections } from "./profile-compiled.js";
import { pytorchExportSections } from "./pytorch-export.js";
import { wasmMatmulSections } from "./wasm-matmul.js";
import { updateResults } from "./results-update.js";
import { load, machine, renderResults, renderSection, writeAtomically, type Section } from "./report.js";

/** Compiled to dist/bench/run.js, so the repository root is two folders up. */
const root = fileURLToPath(new URL("../..", import.meta.url));

interface Benchmark {
  readonly name: string;
  readonly run: () => Section[] | Promise<Section[]>;
}

const BENCHMARKS: readonly Benchmark[] = [
  { name: "frontend", run: () => frontendSections({ root }) },
  // The front end at 1,000 to a million layers, time and peak memory per layer: a few minutes.
  { name: "frontend-scaling", run: () => frontendScalingSections({ root }) },
  { name: "interp", run: () => interpreterSections() },
  { name: "compiler", run: () => compilerSections({ root }) },
  // The in-memory engine of dlc run/train: compile vs cache-hit time, MLP and LeNet-5 (under a minute).
  { name: "engine", run: () => engineSections() },
  // Quick: the default tiles only (a few seconds). Its best GFLOP/s is the peak the profiles compare with.
  { name: "matmul", run: () => wasmMatmulSections({ quick: true }) },
  {
    name: "profile",
    run: () =>
      profileSections([
        { network: "lenet5", kernels: "wasm" },
        { network: "lenet5", kernels: "js" },
        { network: "lstm", kernels: "wasm" },
      ]),
  },
  // Inference beside ONNX Runtime web (WASM), for information: about a minute and a half.
  { name: "onnx", run: () => onnxSections() },
  // LeNet-5's exported train.py on 1 and 2 processes beside the compiled trainer, for information: about a minute.
  { name: "pytorch", run: () => pytorchExportSections() },
];

async function main(argv: readonly string[]): Promise<void> {
  const only = argv.flatMap((a, i) => (a === "--only" && argv[i + 1] ? [argv[i + 1]!] : !a.startsWith("--") && argv[i - 1] !== "--only" ? [a] : []));
  const write = !argv.includes("--no-write");
  const unknown = only.filter((n) => !BENCHMARKS.some((b) => b.name === n));
  if (unknown.length > 0) throw new Error(`unknown benchmark ${unknown.join(", ")}; there are: ${BENCHMARKS.map((b) => b.name).join(", ")}`);
  const chosen = only.length > 0 ? BENCHMARKS.filter((b) => only.includes(b.name)) : BENCHMARKS;

  const m = machine();
  const version = (JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string }).version;
  const date = new Date();
  const loadBefore = load(m).text;
  process.stdout.write(`dlc ${version} on ${m.cpu} (${m.cores} cores, ${m.memory}), Node ${m.node}; load average ${loadBefore}\n\n`);
  const sections: Section[] = [];
  try {
    for (const b of chosen) {
      for (const s of await b.run()) {
        process.stdout.write(renderSection(s) + "\n");
        sections.push(s);
      }
    }
  } finally {
    cleanUpCases();
  }
  const loadAfter = load(m).text;
  process.stdout.write(`load average after: ${loadAfter}\n`);
  if (write) {
    const path = join(root, "bench", "RESULTS.md");
    const info = { machine: m, dlcVersion: version, date, loadBefore, loadAfter };
    const update = argv.includes("--update") && existsSync(path);
    writeAtomically(path, update ? updateResults(readFileSync(path, "utf8"), sections, info) : renderResults(sections, info));
    process.stdout.write(`written to ${path}\n`);
  }
}

main(process.argv.slice(2)).catch((e: unknown) => {
  process.stderr.write(`bench: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
