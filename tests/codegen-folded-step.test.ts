/**
 * The folded SGD step: with plain SGD, a wasm-kernel build's trainStep lets each dense layer
 * step its kernel as the kernel's gradient is made (a tn matmul ending in w −= rate·AᵀB), and
 * skips that part of g. The weights must come out bit-identical to the unfolded sequence
 * (clear g, backward, step), on the SIMD kernels and on the JS fallback.
 */
import { describe, expect, it } from "vitest";
import { compileText, type CompiledModel } from "./helpers/compiled.js";

function pseudoRandom(count: number, seed: number): Float64Array {
  let s = seed >>> 0;
  return Float64Array.from({ length: count }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  });
}

/** The steps trainStep takes, one by one, without a rate: every gradient goes through g and step(). */
function unfoldedStep(m: CompiledModel, x: Float64Array, y: number[], n: number, lr: number): number {
  m.forward([x], n, true);
  const loss = m.lossAndGrad(y, n);
  m.g.fill(0);
  m.backward(n);
  m.step(lr);
  return loss;
}

/** The index of the first element that is not the same number in both, or -1. */
function firstDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return i;
  return a.length === b.length ? -1 : a.length;
}

const NETWORK = `input 4x4x1
conv 3 3 relu
flatten
dense 9 relu
dense 7 tanh frozen
dense 5 bias false
dense 4 softmax
train {
  loss cross_entropy
  optimizer sgd lr 0.05
}
`;

const FROZEN = "dense2.kernel";

describe("trainStep folds plain SGD into the weight-gradient kernels", () => {
  it("the generated module says which weights it folds, and only the wasm-kernel f32 build does", async () => {
    const { code } = await compileText(NETWORK, "f32");
    expect(code).toContain("UNFOLDED_TRAINABLE");
    expect(code).toMatch(/tn_Md_Kd_N9_sgd_t4x2/);
    // the frozen layer (N 7) keeps its gradient in g and is not stepped
    expect(code).not.toMatch(/tn_Md_Kd_N7_sgd/);
    for (const other of [await compileText(NETWORK, "f64"), await compileText(NETWORK, "f32", { kernels: "js" }), await compileText(NETWORK, "f32", { threads: 2 })]) {
      expect(other.code).not.toContain("UNFOLDED_TRAINABLE");
      expect(other.code).not.toMatch(/_sgd_t\dx\d/);
    }
  });

  for (const kernels of ["wasm", "js"] as const) {
    it(`gives the same weights as clearing g, backward and step (bit for bit, ${kernels} kernels at run time)`, async () => {
      const { mod } = await compileText(NETWORK, "f32");
      const n = 6;
      const folded = new mod.Model({ maxBatch: 8, seed: 3, kernels });
      const unfolded = new mod.Model({ maxBatch: 8, seed: 3, kernels });
      expect(folded.kernels).toBe(kernels);
      const frozenBefore = folded.getWeight(FROZEN)!.data;
      for (let step = 0; step < 3; step++) {
        const x = pseudoRandom(n * 16, 11 + step);
        const y = Array.from({ length: n }, (_, i) => (i + step) % 4);
        const a = folded.trainStep([x], y, n, 0.05);
        const b = unfoldedStep(unfolded, x, y, n, 0.05);
        expect(Object.is(a, b)).toBe(true);
        expect(firstDifference(folded.w, unfolded.w), "first differing weight").toBe(-1);
      }
      // the weights did move, and the frozen layer's did not
      expect(firstDifference(folded.w, new mod.Model({ maxBatch: 8, seed: 3, kernels }).w)).not.toBe(-1);
      expect(firstDifference(folded.getWeight(FROZEN)!.data, frozenBefore)).toBe(-1);
    });
  }

  it("momentum and Adam are not folded: trainStep matches the unfolded steps for them too", async () => {
    const { mod } = await compileText(NETWORK, "f32");
    const n = 5;
    for (const optimizer of [{ kind: "sgd", momentum: 0.9 }, { kind: "adam", momentum: 0 }] as const) {
      const folded = new mod.Model({ maxBatch: 8, seed: 4 });
      const unfolded = new mod.Model({ maxBatch: 8, seed: 4 });
      for (const m of [folded, unfolded]) m.optimizer = { ...m.optimizer, ...optimizer, lr: 0.01 };
      for (let step = 0; step < 3; step++) {
        const x = pseudoRandom(n * 16, 21 + step);
        const y = Array.from({ length: n }, (_, i) => (i * 3 + step) % 4);
        folded.trainStep([x], y, n, 0.01);
        unfoldedStep(unfolded, x, y, n, 0.01);
      }
      expect(firstDifference(folded.w, unfolded.w), `${optimizer.kind}: first differing weight`).toBe(-1);
    }
  });
});
