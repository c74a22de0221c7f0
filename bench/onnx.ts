/**
 * ONNX Runtime beside dlc's compiled module, for information (issue 13): inference only. Each
 * network is compiled (f32, WebAssembly SIMD kernels, one thread) and exported in process
 * (`exportOnnx`, as `dlc export --to onnx` does) from the same weights; ONNX Runtime web (its
 * WASM build, one thread) runs the exported bytes. The two take turns run by run on the same
 * batches, and their outputs are compared on every one of those batches first.
 */
import type * as Ort from "onnxruntime-web";
import { exportOnnx } from "../src/export/onnx/graph.js";
import { Model } from "../src/interp/model.js";
import { seededRandom } from "../src/interp/random.js";
import { encodeWeights } from "../src/codegen/runtime/weights.js";
import { compileWorkload } from "./compiled-engine.js";
import { measureInTurns, perSecond, spread, timeSteps, type Plan, type Trainer } from "./measure.js";
import { ratio, type Section } from "./report.js";
import { WORKLOADS, checkedWorkload, syntheticData, type Workload, type WorkloadName } from "./workloads.js";

const NETWORKS: readonly WorkloadName[] = ["mlp", "lenet5", "lstm"];
const BATCHES: readonly number[] = [1, 32];
/** Samples cycled through: 64 batches of 1, 2 of 32. */
const SAMPLES = 64;
/** Largest accepted max |ORT − dlc| ÷ max |dlc| over a batch (float32 both sides). */
const TOLERANCE = 1e-4;
const PLAN: Plan = { warmupMs: 1000, runMs: 1000, runs: 5 };
const OPSET = 17;

/** What the bench uses of a generated module for inference. */
interface InferenceModule {
  readonly Model: new (options?: { maxBatch?: number; seed?: number }) => InferenceModel;
  loadWeights(model: InferenceModel, source: string, options?: { file?: string; strict?: boolean }): string[];
}
interface InferenceModel {
  predict(inputs: ArrayLike<number>, n: number): Float32Array | Float64Array;
  readonly kernels?: string;
}

type Row = readonly string[];

let ortLoading: Promise<typeof Ort | string> | undefined;

/** onnxruntime-web (a devDependency), numThreads 1; or why it is missing. */
function loadOrt(): Promise<typeof Ort | string> {
  ortLoading ??= import("onnxruntime-web").then(
    (ort) => {
      ort.env.wasm.numThreads = 1;
      return ort;
    },
    (e: unknown) => `onnxruntime-web is not installed (${(e instanceof Error ? e.message : String(e)).split("\n")[0]})`,
  );
  return ortLoading;
}

/** One engine's predictions on every batch of the data, as a Trainer for measureInTurns. */
function inferrer(batch: number, batches: number, predict: (b: number) => unknown): Trainer {
  let b = 0;
  const step = (): unknown => {
    const r = predict(b);
    b = (b + 1) % batches;
    return r;
  };
  return { run: (ms) => timeSteps(step, batch, ms) };
}

/** max |got − want| ÷ max |want| over one batch's outputs. */
function relativeDifference(want: ArrayLike<number>, got: ArrayLike<number>): number {
  let scale = 0;
  let diff = 0;
  for (let i = 0; i < want.length; i++) {
    scale = Math.max(scale, Math.abs(want[i]!));
    diff = Math.max(diff, Math.abs(got[i]! - want[i]!));
  }
  return scale > 0 ? diff / scale : diff;
}

async function measureNetwork(ort: typeof Ort, w: Workload): Promise<Row[]> {
  const checked = checkedWorkload(w);
  // Seeded apart from the compiled model's own initial weights, so that only loading them makes the outputs agree.
  const reference = new Model(checked, seededRandom(7));
  const exported = exportOnnx(checked, reference, { opset: OPSET, producerVersion: "bench" });
  if (!exported.bytes) return BATCHES.map((batch) => unavailableRow(w, batch, `does not export: ${exported.diagnostics.map((d) => d.message).join("; ")}`));
  const compiled = await compileWorkload(w, "f32", "wasm");
  if (!compiled.ok) return BATCHES.map((batch) => unavailableRow(w, batch, compiled.why));
  const module = compiled.module as unknown as InferenceModule;
  const model = new module.Model({ maxBatch: Math.max(...BATCHES), seed: 1 });
  // The compiled model gets the weights the ONNX file was exported with (f64 → f32 on both sides).
  module.loadWeights(model, encodeWeights([...reference.namedWeights()], "json", { file: "bench weights" }) as string, { file: "bench weights", strict: true });
  const session = await ort.InferenceSession.create(exported.bytes, { executionProviders: ["wasm"], graphOptimizationLevel: "all" });
  const inputName = session.inputNames[0]!;
  const outputName = session.outputNames[0]!;
  const width = w.inputShape.reduce((a, b) => a * b, 1);
  const x = Float32Array.from(syntheticData(w, SAMPLES).x);
  const rows: Row[] = [];
  try {
    for (const batch of BATCHES) {
      const batches = SAMPLES / batch;
      const slice = (b: number): Float32Array => x.subarray(b * batch * width, (b + 1) * batch * width);
      const feeds = Array.from({ length: batches }, (_, b) => ({ [inputName]: new ort.Tensor("float32", slice(b).slice(), [batch, ...w.inputShape]) }));
      let worst = 0;
      for (let b = 0; b < batches; b++) {
        const want = model.predict(slice(b), batch);
        const got = (await session.run(feeds[b]!))[outputName]!;
        if (got.dims.join("x") !== [batch, w.classes].join("x")) throw new Error(`ONNX Runtime's output is [${got.dims.join(", ")}], not [${batch}, ${w.classes}]`);
        worst = Math.max(worst, relativeDifference(want, got.data as Float32Array));
      }
      process.stderr.write(`  inference of ${w.label} at batch ${batch}: dlc compiled and ONNX Runtime taking turns…\n`);
      const [dlc, onnx] = await measureInTurns(
        [inferrer(batch, batches, (b) => model.predict(slice(b), batch)), inferrer(batch, batches, (b) => session.run(feeds[b]!))],
        PLAN,
      );
      rows.push([
        w.label,
        String(batch),
        `${perSecond(dlc!.samplesPerSecond)} ${spread(dlc!)}`,
        `${perSecond(onnx!.samplesPerSecond)} ${spread(onnx!)}`,
        ratio(dlc!.samplesPerSecond / onnx!.samplesPerSecond),
        `${worst.toExponential(1)}${worst <= TOLERANCE ? "" : " (MISMATCH)"}`,
      ]);
    }
  } finally {
    await session.release();
  }
  if (model.kernels !== undefined && model.kernels !== "wasm") rows.push([w.label, "", `model.kernels is "${model.kernels}": the JS kernels ran (no WebAssembly SIMD here)`, "", "", ""]);
  return rows;
}

function unavailableRow(w: Workload, batch: number, why: string): Row {
  return [w.label, String(batch), why, "", "", ""];
}

export async function onnxSections(): Promise<Section[]> {
  const ort = await loadOrt();
  const rows: Row[] = [];
  for (const name of NETWORKS) {
    const w = WORKLOADS[name];
    if (typeof ort === "string") rows.push(...BATCHES.map((batch) => unavailableRow(w, batch, ort)));
    else rows.push(...(await measureNetwork(ort, w)));
  }
  const version = typeof ort === "string" ? "" : ` ${ort.env.versions.web ?? ""}`;
  return [
    {
      title: "ONNX Runtime (WASM) inference beside dlc's compiled module",
      intro:
        `For information: samples/s of inference (median of ${PLAN.runs} runs of ${PLAN.runMs / 1000} s after ${PLAN.warmupMs / 1000} s of warm-up), ` +
        `dlc's compiled module (\`model.predict\`, f32, WebAssembly SIMD kernels, 1 thread) and ONNX Runtime web${version} (WASM, numThreads 1, ` +
        `graph optimisation "all") running the same network exported in process as \`dlc export --to onnx\` does (opset ${OPSET}), with the same weights, ` +
        "taking turns run by run on the same batches of synthetic data.",
      table: {
        headers: ["network", "batch", "dlc compiled, samples/s", "ONNX Runtime web, samples/s", "dlc ÷ ORT", "max rel. difference"],
        align: ["left", "right", "right", "right", "right", "right"],
        rows,
      },
      notes: [
        `Before timing, both engines ran every batch that is timed and their outputs were compared: max |ORT − dlc| ÷ max |dlc| per batch, the worst shown; above ${TOLERANCE} it reads MISMATCH.`,
        "ONNX Runtime's time includes its per-call overhead (a promise, an output tensor per run); dlc's predict returns a copy of its output too.",
      ],
    },
  ];
}
