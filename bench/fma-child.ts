/**
 * The "compiled-fma" bench case (bench/cases.ts), run in a child Node that has relaxed SIMD
 * (Node 20: `--experimental-wasm-relaxed-simd`, which the bench's own process lacks): trains a
 * workload's `dlc compile --fma` build as the "compiled" case trains the default build, and prints
 * the throughput and what `model.fma` and `model.kernels` said, as JSON on stdout.
 *
 *   node [--experimental-wasm-relaxed-simd] dist/bench/fma-child.js WORKLOAD '{"plan":…,"dataSize":…}'
 */
import { cleanUpCompiled, compileWorkload, compiledTrainer } from "./compiled-engine.js";
import { measure, type Plan } from "./measure.js";
import { WORKLOADS, syntheticData, type WorkloadName } from "./workloads.js";

async function main(name: string, settings: { plan: Plan; dataSize: number }): Promise<void> {
  const w = WORKLOADS[name as WorkloadName];
  if (!w) throw new Error(`no workload ${name}`);
  const c = await compileWorkload(w, "f32", "wasm", 1, true);
  if (!c.ok) {
    process.stdout.write(JSON.stringify({ why: c.why }));
    return;
  }
  const trainer = compiledTrainer(w, c.module, syntheticData(w, settings.dataSize), "f32");
  const throughput = await measure(trainer, settings.plan);
  process.stdout.write(JSON.stringify({ throughput, fma: trainer.fma, kernels: trainer.kernels }));
}

main(process.argv[2] ?? "", JSON.parse(process.argv[3] ?? "{}") as { plan: Plan; dataSize: number })
  .catch((e: unknown) => {
    process.stdout.write(JSON.stringify({ why: e instanceof Error ? e.message.split("\n")[0] : String(e) }));
  })
  .finally(cleanUpCompiled);
