/**
 * Where a compiled module's training step spends its time, step by step: the generated
 * JavaScript is instrumented with a timer call before every `// @dl` block marker (and around
 * the loss, gradient clearing and optimizer in `trainStep`), then trained for a few seconds.
 * Each lap is charged to the block that was running. Blocks with a FLOP count are compared with
 * the machine's SIMD matmul peak (the best GFLOP/s of bench/wasm-matmul.ts's kernels). Also
 * runnable alone:
 *
 *   node dist/bench/profile-compiled.js lenet5|mlp|lstm [seconds] [wasm|js]
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { generateModule, unsupportedKinds } from "../src/codegen/compile.js";
import { toJavaScript } from "../scripts/transpile.js";
import { MARKER } from "../src/codegen/module.js";
import type { CheckedNetwork } from "../src/index.js";
import type { IrNode } from "../src/ir/types.js";
import type { RecurrentArgs } from "../src/layers/recurrent.js";
import type { Kernels } from "./compiled-engine.js";
import { gflops } from "./measure.js";
import { count, ms, type Section } from "./report.js";
import { measuredSimdPeak, type SimdPeak } from "./wasm-matmul.js";
import { LEARNING_RATE, WORKLOADS, checkedWorkload, syntheticData, type Workload, type WorkloadName } from "./workloads.js";

const LAP_RUNTIME = `
const __laps = new Map();
let __lapLabel = "";
let __lapStart = 0;
function __lap(next) {
  const now = performance.now();
  if (__lapLabel) __laps.set(__lapLabel, (__laps.get(__lapLabel) ?? 0) + now - __lapStart);
  __lapLabel = next;
  __lapStart = now;
}
export function __lapTimes() { return __laps; }
export function __lapReset() { __laps.clear(); __lapLabel = ""; }
`;

/** Adds the timer calls; throws if the module does not have the shape this relies on. */
export function instrument(js: string): string {
  const marker = new RegExp(`^(\\s*)// ${MARKER} \\S+ \\S+ (forward|backward) (.*?): `);
  const lines = js.split("\n").map((line) => {
    const m = marker.exec(line);
    return m ? `${m[1]}__lap(${JSON.stringify(`${m[2]} ${m[3]}`)});\n${line}` : line;
  });
  let out = lines.join("\n");
  const start = out.indexOf("trainStep(inputs");
  if (start < 0) throw new Error("instrument: no trainStep in the module");
  const head = out.slice(0, start);
  let body = out.slice(start);
  const patches: [string, string, "folded"?][] = [
    ["this.forward(inputs, n, true);", '__lap("input copy, call overhead"); this.forward(inputs, n, true);'],
    ["const loss = this.lossAndGrad(", '__lap("loss and its gradient"); const loss = this.lossAndGrad('],
    // Plain SGD folded into the backward pass (module.ts): its branch of trainStep comes first.
    ["for (const [start, end] of UNFOLDED_GRADIENTS)", '__lap("clear weight gradients"); for (const [start, end] of UNFOLDED_GRADIENTS)', "folded"],
    ["this.backward(n, lr ?? o.lr);", '__lap("clear activation gradients"); this.backward(n, lr ?? o.lr);', "folded"],
    ["this.step(lr, UNFOLDED_TRAINABLE);", '__lap("optimizer step"); this.step(lr, UNFOLDED_TRAINABLE);', "folded"],
    ["return loss;", '__lap(""); return loss;', "folded"],
    ["this.g.fill(0);", '__lap("clear weight gradients"); this.g.fill(0);'],
    ["this.backward(n);", '__lap("clear activation gradients"); this.backward(n);'],
    ["this.step(lr);", '__lap("optimizer step"); this.step(lr);'],
    ["return loss;", '__lap(""); return loss;'],
  ];
  let from = 0;
  const folded = body.includes("UNFOLDED_GRADIENTS");
  for (const [text, patched, only] of patches) {
    if (only === "folded" && !folded) continue;
    const at = body.indexOf(text, from);
    if (at < 0) throw new Error(`instrument: trainStep has no \`${text}\``);
    body = body.slice(0, at) + patched + body.slice(at + text.length);
    from = at + patched.length;
  }
  out = head + body;
  return `${LAP_RUNTIME}\n${out}`;
}

interface Instrumented {
  readonly Model: new (o: { maxBatch: number; seed: number; loss: string }) => {
    trainStep(x: ArrayLike<number>, y: ArrayLike<number>, n: number, lr?: number): number;
    readonly kernels?: Kernels;
  };
  __lapTimes(): Map<string, number>;
  __lapReset(): void;
}

export interface StepTime {
  readonly label: string;
  readonly msPerBatch: number;
  readonly share: number;
  /** FLOPs of the block per batch, for blocks with MACs: 2·MACs forward, 4·MACs backward less the input gradient a first layer skips. */
  readonly flops?: number;
}

/** `kernels`: which build to profile (the default, WebAssembly SIMD matmul kernels, or JS only); the result says which the model used. */
export async function profileCompiled(
  w: Workload,
  seconds: number,
  kernels: Kernels = "wasm",
): Promise<{ steps: StepTime[]; samplesPerSecond: number; kernels: Kernels; folded: boolean } | { why: string }> {
  const BATCH = w.batch;
  const checked = checkedWorkload(w);
  const missing = unsupportedKinds(checked);
  if (missing.length > 0) return { why: `not compiled yet (no emitter for ${missing.join(", ")})` };
  const dir = mkdtempSync(join(tmpdir(), "dlc-bench-profile-"));
  try {
    const js = instrument(await toJavaScript(generateModule(checked, { file: `${w.name}.dl`, precision: "f32", version: "bench", kernels })));
    const path = join(dir, `${w.name}-${kernels}-laps.mjs`);
    writeFileSync(path, js);
    const mod = (await import(pathToFileURL(path).href)) as Instrumented;
    const data = syntheticData(w, 512);
    const x = Float32Array.from(data.x);
    const y = Float32Array.from(data.oneHot);
    const inWidth = x.length / data.size;
    const model = new mod.Model({ maxBatch: BATCH, seed: 1, loss: w.loss });
    const batches = data.size / BATCH;
    let b = 0;
    const train = (ms: number): number => {
      const start = performance.now();
      let steps = 0;
      do {
        model.trainStep(x.subarray(b * BATCH * inWidth, (b + 1) * BATCH * inWidth), y.subarray(b * BATCH * w.classes, (b + 1) * BATCH * w.classes), BATCH, LEARNING_RATE);
        b = (b + 1) % batches;
        steps++;
      } while (performance.now() - start < ms);
      return steps;
    };
    train(Math.min(1000, seconds * 1000));
    mod.__lapReset();
    const start = performance.now();
    const steps = train(seconds * 1000);
    const elapsed = performance.now() - start;
    const laps = mod.__lapTimes();
    const total = [...laps.values()].reduce((a, v) => a + v, 0);
    const byName = new Map(checked.network.nodes.map((n) => [n.name, n]));
    const out: StepTime[] = [...laps.entries()].map(([label, t]) => {
      const m = /^(forward|backward) (\S+)$/.exec(label);
      const node = m ? byName.get(m[2]!) : undefined;
      const macs = node ? checked.facts[node.id]!.macs : 0;
      let flops: number | undefined;
      if (node && macs > 0) flops = BATCH * (m![1] === "forward" ? 2 * macs : 2 * (2 * macs - skippedInputGradientMacs(checked, node)));
      return { label, msPerBatch: t / steps, share: t / total, flops };
    });
    return { steps: out, samplesPerSecond: (steps * BATCH) / (elapsed / 1000), kernels: model.kernels ?? "js", folded: js.includes("UNFOLDED_GRADIENTS") };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const GATES: Readonly<Record<string, number>> = { rnn: 1, lstm: 4, gru: 3 };

/**
 * MACs of the input gradient a layer that reads the network input skips: all of a dense or
 * conv layer's MACs, the input-projection part (T·G·H·F per direction) of a recurrent one.
 */
function skippedInputGradientMacs(checked: CheckedNetwork, node: IrNode): number {
  if (!node.inputs.every((i) => checked.network.nodes[i]!.kind === "input")) return 0;
  const macs = checked.facts[node.id]!.macs;
  if (node.kind === "dense" || node.kind === "conv") return macs;
  const gates = GATES[node.kind];
  const shape = checked.facts[node.inputs[0]!]!.shape;
  if (gates === undefined || !shape || shape.length !== 2) return 0;
  const a = node.args as RecurrentArgs;
  return (a.bidirectional ? 2 : 1) * shape[0]! * gates * a.units * shape[1]!;
}

export interface ProfileCase {
  readonly network: WorkloadName;
  /** Which build: the default WebAssembly SIMD matmul kernels, or JS only. */
  readonly kernels: Kernels;
}

const KERNEL_LABELS: Readonly<Record<Kernels, string>> = { wasm: "wasm SIMD kernels", js: "JS kernels" };

/**
 * A section per case: the blocks of one training step, slowest first. `peak` is the SIMD matmul
 * peak the "% of SIMD peak" column divides by: by default what bench/wasm-matmul.ts measured in
 * this process (measured now, quick, if it has not run).
 */
export async function profileSections(cases: readonly ProfileCase[], seconds = 3, peak: SimdPeak | undefined = measuredSimdPeak()): Promise<Section[]> {
  const sections: Section[] = [];
  for (const { network, kernels } of cases) {
    const w = WORKLOADS[network];
    const title = `Compiler: where ${w.label}'s training step goes (${KERNEL_LABELS[kernels]})`;
    process.stderr.write(`  profiling the compiled ${w.label} (${KERNEL_LABELS[kernels]})…\n`);
    const p = await profileCompiled(w, seconds, kernels);
    if ("why" in p) {
      sections.push({ title, table: { headers: ["block", "result"], rows: [["all", p.why]] } });
      continue;
    }
    const sorted = [...p.steps].sort((a, b) => b.msPerBatch - a.msPerBatch);
    const total = p.steps.reduce((a, s) => a + s.msPerBatch, 0);
    const rate = (s: StepTime): number | undefined => (s.flops ? s.flops / (s.msPerBatch * 1e6) : undefined);
    const ofPeak = (v: number | undefined): string => (v === undefined || peak === undefined ? "" : `${((100 * v) / peak.gflops).toFixed(0)}%`);
    const matmulFlops = p.steps.reduce((a, s) => a + (s.flops ?? 0), 0);
    const overall = matmulFlops / (total * 1e6);
    sections.push({
      title,
      intro:
        `The compiled module (f32, \`kernels: "${kernels}"\`; \`model.kernels\` says "${p.kernels}") with a timer call before each generated block, ` +
        `trained ${seconds} s after a warm-up of ${Math.min(1, seconds)} s ` +
        `(${count(Math.round(p.samplesPerSecond))} samples/s instrumented); ms per batch of ${w.batch}, slowest first.`,
      table: {
        headers: ["block", "ms / batch", "share", "GFLOP/s", "% of SIMD peak"],
        align: ["left", "right", "right", "right", "right"],
        rows: [
          ...sorted.map((s) => [s.label, ms(s.msPerBatch), `${(100 * s.share).toFixed(1)}%`, rate(s) === undefined ? "" : gflops(rate(s)!), ofPeak(rate(s))]),
          ["total", ms(total), "100%", gflops(overall), ofPeak(overall)],
        ],
      },
      notes: [
        "GFLOP/s of a block: 2·MACs·batch forward; backward 4·MACs·batch, less the input gradient a layer reading the network input skips " +
          "(all of it for dense and conv: 2·MACs·batch; the input projection T·G·H·F for a recurrent layer). The total row: all the counted FLOPs over the whole step's time.",
        peak
          ? `% of SIMD peak: the block's GFLOP/s ÷ ${gflops(peak.gflops)} GFLOP/s, the best a dlc WebAssembly SIMD matmul kernel reached alone on this machine ` +
            `(${peak.shape}, tile ${peak.tile}${peak.quick ? ", default tiles only" : ""}: the matmul kernel section). A block does more than its matmuls (im2col, activations, gate arithmetic), so 100% is out of reach.`
          : "% of SIMD peak: not measured (no WebAssembly SIMD kernel ran here).",
        ...(p.folded
          ? ["Plain SGD is folded into the backward pass (the module's trainStep): each dense layer's kernel is stepped by the kernel that makes its gradient, inside that layer's backward block; “optimizer step” is the update of the other weights (biases, convolutions) and “clear weight gradients” clears only their gradients."]
          : []),
      ],
    });
  }
  return sections;
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain) {
  const name = (process.argv[2] ?? "lenet5") as WorkloadName;
  if (!(name in WORKLOADS)) throw new Error(`unknown network ${name}; there are ${Object.keys(WORKLOADS).join(", ")}`);
  const kernels = (process.argv[4] ?? "wasm") as Kernels;
  if (kernels !== "wasm" && kernels !== "js") throw new Error(`kernels: wasm or js, not ${String(kernels)}`);
  const { renderSection } = await import("./report.js");
  for (const s of await profileSections([{ network: name, kernels }], Number(process.argv[3] ?? 3))) process.stdout.write(renderSection(s) + "\n");
}
