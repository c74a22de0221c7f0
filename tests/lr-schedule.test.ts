// learningRateAt against hand-computed sequences (PyTorch's StepLR, CosineAnnealingLR and
// LinearLR give the same numbers: tests/optimizer-torch.test.ts checks that against torch itself).
import { describe, expect, it } from "vitest";
import { learningRateAt, type LrSettings } from "../src/codegen/runtime/schedule.js";

/** The rate of every batch of a run: epochs × batchesPerEpoch values, epoch by epoch. */
function sequence(baseLr: number, settings: LrSettings, epochs: number, batchesPerEpoch: number): number[] {
  const out: number[] = [];
  for (let epoch = 1; epoch <= epochs; epoch++) for (let batch = 0; batch < batchesPerEpoch; batch++) out.push(learningRateAt(baseLr, settings, { epoch, batch, batchesPerEpoch, epochs }));
  return out;
}

function expectSequence(got: readonly number[], want: readonly number[]): void {
  expect(got.length).toBe(want.length);
  got.forEach((x, i) => expect(Math.abs(x - want[i]!), `batch ${i}: ${x} vs ${want[i]}`).toBeLessThanOrEqual(1e-15 * Math.max(1, Math.abs(want[i]!))));
}

describe("learningRateAt", () => {
  it("no schedule, no warmup: the base rate throughout", () => {
    expectSequence(sequence(0.1, {}, 3, 2), [0.1, 0.1, 0.1, 0.1, 0.1, 0.1]);
  });

  it("schedule step 2 0.5: halved every two epochs, constant within an epoch", () => {
    expectSequence(sequence(0.8, { schedule: { kind: "step", every: 2, gamma: 0.5 } }, 5, 2), [0.8, 0.8, 0.8, 0.8, 0.4, 0.4, 0.4, 0.4, 0.2, 0.2]);
  });

  it("schedule step 1 0.1: every epoch", () => {
    expectSequence(sequence(1, { schedule: { kind: "step", every: 1, gamma: 0.1 } }, 3, 1), [1, 0.1, 0.1 * 0.1]);
  });

  it("schedule cosine over 4 epochs: (1 + cos(π·e/4)) / 2 for e = 0 … 3", () => {
    const h = Math.SQRT1_2 / 2; // cos(π/4) / 2
    expectSequence(sequence(2, { schedule: { kind: "cosine" } }, 4, 1), [2, 2 * (0.5 + h), 1, 2 * (0.5 - h)]);
  });

  it("schedule cosine over 1 epoch: the base rate", () => {
    expectSequence(sequence(0.3, { schedule: { kind: "cosine" } }, 1, 3), [0.3, 0.3, 0.3]);
  });

  it("warmup 4 over 3 batches per epoch: lr/4, 2lr/4, 3lr/4, then lr, across the epoch boundary", () => {
    expectSequence(sequence(0.4, { warmup: 4 }, 2, 3), [0.1, 0.2, 0.3, 0.4, 0.4, 0.4]);
  });

  it("warmup 1 is no warmup", () => {
    expectSequence(sequence(0.4, { warmup: 1 }, 1, 2), [0.4, 0.4]);
  });

  it("warmup composes with the schedule by multiplication", () => {
    // step 1 0.5 with warmup 3, two batches per epoch: epoch factors 1, 0.5; warmup 1/3, 2/3, 1, 1
    expectSequence(sequence(0.6, { schedule: { kind: "step", every: 1, gamma: 0.5 }, warmup: 3 }, 2, 2), [0.6 / 3, (0.6 * 2) / 3, 0.3, 0.3]);
    // cosine over 2 epochs of two batches with warmup 2: factors 1·½, 1·1, ½·1, ½·1
    expectSequence(sequence(1, { schedule: { kind: "cosine" }, warmup: 2 }, 2, 2), [0.5, 1, 0.5, 0.5]);
  });
});
