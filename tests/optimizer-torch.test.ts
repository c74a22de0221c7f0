// An independent engine: PyTorch's own torch.optim (SGD with momentum and weight_decay, Adam with
// weight_decay, AdamW, clip_grad_norm_) and lr_scheduler (StepLR, CosineAnnealingLR, LinearLR
// warmup chained with StepLR), in float64, against the interpreter's optimizers and
// learningRateAt — all in one Python process. Skipped where no Python imports torch.
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { learningRateAt, type LrSettings } from "../src/codegen/runtime/schedule.js";
import { analyze } from "../src/index.js";
import { Model as InterpModel } from "../src/interp/model.js";
import { makeOptimizer, type OptimizerConfig } from "../src/interp/optimizers.js";
import { seededRandom } from "../src/interp/random.js";
import { expectClose, interpreterStepWith } from "./helpers/compiled.js";

/** The first of $DLC_PYTHON, python3, /usr/bin/python3 that imports torch (Debian's python3-torch is /usr/bin/python3's). */
function torchPython(): string | undefined {
  const candidates = [process.env.DLC_PYTHON, "python3", "/usr/bin/python3"].filter((p): p is string => !!p);
  return candidates.find((p) => spawnSync(p, ["-c", "import torch"], { stdio: "ignore", timeout: 120_000 }).status === 0);
}

const python = torchPython();
const F = 4;
const N = 3;

function values(count: number, seed: number, scale = 1): number[] {
  const r = seededRandom(seed);
  return Array.from({ length: count }, () => scale * (2 * r() - 1));
}
const KERNEL0 = values(F * N, 51);
const BIAS0 = values(N, 52);
// Targets of different sizes, so that clipping bites at some steps and not at others.
const BATCHES = [3, 5, 2, 4, 5, 3].map((n, i) => ({ n, x: values(n * F, 60 + i), y: values(n * N, 70 + i, i % 2 ? 3 : 0.2) }));

const ADAM = { beta1: 0.9, beta2: 0.999, eps: 1e-8 };
const OPTIMIZERS: readonly (OptimizerConfig & { name: string })[] = [
  { name: "sgd, momentum 0.9, weight_decay 0.1", kind: "sgd", lr: 0.05, momentum: 0.9, weightDecay: 0.1 },
  { name: "sgd, clip 2.5", kind: "sgd", lr: 0.1, clip: 2.5 },
  { name: "adam, weight_decay 0.2", kind: "adam", lr: 0.05, ...ADAM, weightDecay: 0.2 },
  { name: "adamw, weight_decay 0.3, clip 2.5", kind: "adamw", lr: 0.05, beta1: 0.8, beta2: 0.95, eps: 1e-6, weightDecay: 0.3, clip: 2.5 },
  { name: "adamw, torch's default weight_decay", kind: "adamw", lr: 0.05, ...ADAM },
];

interface ScheduleCase {
  readonly name: string;
  readonly lr: number;
  readonly epochs: number;
  readonly batches: number;
  readonly settings: LrSettings;
}
const SCHEDULES: readonly ScheduleCase[] = [
  { name: "StepLR(step_size=2, gamma=0.5)", lr: 0.1, epochs: 6, batches: 2, settings: { schedule: { kind: "step", every: 2, gamma: 0.5 } } },
  { name: "CosineAnnealingLR(T_max=5)", lr: 0.3, epochs: 5, batches: 3, settings: { schedule: { kind: "cosine" } } },
  { name: "LinearLR warmup 5 chained with StepLR(1, 0.7)", lr: 0.2, epochs: 3, batches: 3, settings: { schedule: { kind: "step", every: 1, gamma: 0.7 }, warmup: 5 } },
  { name: "LinearLR warmup 4 alone", lr: 0.05, epochs: 2, batches: 3, settings: { warmup: 4 } },
];

interface TorchResults {
  readonly optimizers: { readonly weights: number[][]; readonly norms: number[] }[];
  readonly schedules: number[][];
}

function torchResults(): TorchResults {
  const job = {
    kernel0: KERNEL0,
    bias0: BIAS0,
    features: F,
    outputs: N,
    batches: BATCHES,
    // torch's AdamW defaults weight_decay to 0.01, as dlc's adamw does: leave it out to check that
    optimizers: OPTIMIZERS.map(({ name: _name, ...c }) => ({ ...ADAM, ...c })),
    schedules: SCHEDULES.map((s) => ({ lr: s.lr, epochs: s.epochs, batches: s.batches, schedule: s.settings.schedule?.kind, every: s.settings.schedule?.kind === "step" ? s.settings.schedule.every : undefined, gamma: s.settings.schedule?.kind === "step" ? s.settings.schedule.gamma : undefined, warmup: s.settings.warmup })),
  };
  const script = join(dirname(fileURLToPath(import.meta.url)), "helpers", "optimizer_torch.py");
  const r = spawnSync(python!, [script], { input: JSON.stringify(job), encoding: "utf8", timeout: 300_000, maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`${script} failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as TorchResults;
}

describe.skipIf(python === undefined)("against PyTorch (float64)", () => {
  const results = python === undefined ? undefined : torchResults();

  describe.each(OPTIMIZERS.map((o, i) => ({ ...o, index: i })))("$name", (o) => {
    it("the interpreter's weights after each step are torch.optim's", () => {
      const interp = new InterpModel(analyze(`network l {\n  input ${F}\n  dense ${N}\n}\n`).selected!, seededRandom(1));
      interp.loadWeights(new Map([["dense1.kernel", { data: Float64Array.from(KERNEL0) }], ["dense1.bias", { data: Float64Array.from(BIAS0) }]]));
      const optimizer = makeOptimizer(o);
      const { weights: want, norms } = results!.optimizers[o.index]!;
      expect(want[0]).not.toEqual([...KERNEL0, ...BIAS0]);
      // clip: the gradient norm was above the limit at some steps and below at others
      if (o.clip) expect(new Set(norms.map((x) => x > o.clip!))).toEqual(new Set([true, false]));
      BATCHES.forEach((b, step) => {
        interpreterStepWith(interp, [{ shape: [b.n, F], data: Float64Array.from(b.x) }], { kind: "values", tensor: { shape: [b.n, N], data: Float64Array.from(b.y) } }, "squared", optimizer, seededRandom(0));
        const got = [...interp.namedWeights().get("dense1.kernel")!.data, ...interp.namedWeights().get("dense1.bias")!.data];
        expectClose(got, want[step]!, 1e-12, `weights after step ${step + 1}`);
      });
    });
  });

  it.each(SCHEDULES.map((s, i) => ({ ...s, index: i })))("$name: learningRateAt gives the scheduler's rate at every batch", (s) => {
    const got: number[] = [];
    for (let epoch = 1; epoch <= s.epochs; epoch++) for (let batch = 0; batch < s.batches; batch++) got.push(learningRateAt(s.lr, s.settings, { epoch, batch, batchesPerEpoch: s.batches, epochs: s.epochs }));
    const want = results!.schedules[s.index]!;
    expect(new Set(want).size).toBeGreaterThan(2);
    expectClose(got, want, 1e-13, "rates");
  });
});
