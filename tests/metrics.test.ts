// The trainer's metrics (src/codegen/runtime/metrics.ts) against hand-computed cases: every
// expected number below is worked out in the comment beside it, not taken from the code.
import { describe, expect, it } from "vitest";
import { argmaxOf, BleuAccumulator, bleuCounts, hasAccuracy, MAX_CONFUSION_CLASSES, MetricAccumulator, sentenceBleu } from "../src/codegen/runtime/metrics.js";
import type { Targets } from "../src/codegen/runtime/public-types.js";

const classes = (perSample: number, ids: number[]): Targets => ({ kind: "classes", perSample, data: Int32Array.from(ids) });
const values = (v: number[]): Targets => ({ kind: "values", data: Float64Array.from(v) });

describe("accuracy and confusion: cross_entropy", () => {
  // Four samples of a [3] output; predictions (argmax) 1, 0, 2, 2; true classes 1, 0, 1, 2.
  const outputs = [0.1, 0.7, 0.2, /**/ 0.6, 0.3, 0.1, /**/ 0.2, 0.3, 0.5, /**/ 0.0, 0.1, 0.9];
  const truth = [1, 0, 1, 2];

  it("counts argmax hits per sample: 3 of 4", () => {
    const m = new MetricAccumulator("cross_entropy", [3]);
    m.add(outputs, classes(1, truth), 4);
    expect(m.count).toBe(4);
    expect(m.accuracy()).toBe(0.75);
    // rows = true class, columns = predicted: (1→1), (0→0), (1→2), (2→2).
    expect(m.confusion()).toEqual([
      [1, 0, 0],
      [0, 1, 1],
      [0, 0, 1],
    ]);
  });

  it("reads one-hot targets (shaped like the output) the same as class indices", () => {
    const m = new MetricAccumulator("cross_entropy", [3]);
    m.add(outputs, values([0, 1, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1]), 4);
    expect(m.accuracy()).toBe(0.75);
    expect(m.confusion()![1]).toEqual([0, 1, 1]);
  });

  it("adds up over batches, and scores only the first n samples of a batch", () => {
    const m = new MetricAccumulator("cross_entropy", [3]);
    m.add(outputs.slice(0, 6), classes(1, truth.slice(0, 2)), 2); // both right
    // A last, shorter batch in buffers sized for 3 samples: the third row is stale and must be ignored.
    m.add([...outputs.slice(6), 1, 0, 0], classes(1, [1, 2, 2]), 2); // 1 of 2 right
    expect(m.count).toBe(4);
    expect(m.accuracy()).toBe(0.75);
    m.reset();
    expect(m.count).toBe(0);
    expect(m.accuracy()).toBeNaN();
    expect(m.confusion()!.flat().every((c) => c === 0)).toBe(true);
  });

  it("scores every position of a [T, V] output", () => {
    // Two samples of [2, 2] (T = 2 positions, V = 2 classes); predictions 0, 1 | 1, 1; truth 0, 0 | 1, 1.
    const m = new MetricAccumulator("cross_entropy", [2, 2]);
    expect(m.positions).toBe(2);
    m.add([0.9, 0.1, 0.2, 0.8, /**/ 0.4, 0.6, 0.3, 0.7], classes(2, [0, 0, 1, 1]), 2);
    expect(m.count).toBe(4);
    expect(m.accuracy()).toBe(0.75); // the second position of sample 0 is wrong
    expect(m.confusion()).toEqual([
      [1, 1],
      [0, 2],
    ]);
  });

  it("top-k: right when fewer than k classes score higher than the true one", () => {
    // [4] output. Sample 0: truth 2 is the 2nd largest → top-2 yes, top-1 no.
    // Sample 1: truth 0 is the smallest → no. Sample 2: truth 3 is the largest → yes (and top-1).
    const m = new MetricAccumulator("cross_entropy", [4], 2);
    m.add([0.1, 0.5, 0.3, 0.1, /**/ 0.0, 0.4, 0.3, 0.3, /**/ 0.1, 0.2, 0.3, 0.4], classes(1, [2, 0, 3]), 3);
    expect(m.accuracy()).toBeCloseTo(1 / 3, 15);
    expect(m.topKAccuracy()).toBeCloseTo(2 / 3, 15);
  });

  it("ties: top-1 takes the first largest; top-k counts a tie at the boundary as in", () => {
    // Outputs 0.5, 0.5, 0: argmax is class 0; true class 1 is tied with it.
    const m = new MetricAccumulator("cross_entropy", [3], 1);
    m.add([0.5, 0.5, 0], classes(1, [1]), 1);
    expect(m.accuracy()).toBe(0);
    const k2 = new MetricAccumulator("cross_entropy", [3], 2);
    // 0.7 > 0.2 = 0.2: true class 2 ties with class 1 for second place → in the top 2.
    k2.add([0.7, 0.2, 0.2], classes(1, [2]), 1);
    expect(k2.topKAccuracy()).toBe(1);
  });

  it("a position whose outputs are NaN is wrong and not in the confusion matrix", () => {
    const m = new MetricAccumulator("cross_entropy", [2]);
    m.add([NaN, NaN, 0.2, 0.8], classes(1, [0, 1]), 2);
    expect(m.accuracy()).toBe(0.5);
    expect(m.confusion()).toEqual([
      [0, 0],
      [0, 1],
    ]);
  });

  it("keeps no confusion matrix for a vocabulary-sized output", () => {
    const V = MAX_CONFUSION_CLASSES + 1;
    const m = new MetricAccumulator("cross_entropy", [V]);
    const out = new Float64Array(V);
    out[7] = 1;
    m.add(out, classes(1, [7]), 1);
    expect(m.accuracy()).toBe(1);
    expect(m.confusion()).toBeUndefined();
  });
});

describe("accuracy and confusion: binary_cross_entropy", () => {
  it("thresholds every output element at 0.5 (0.5 itself is class 0)", () => {
    // Three samples of a [2] output: 6 predictions.
    //   outputs 0.9 0.2 | 0.5 0.51 | 0.1 0.7   → predicted 1 0 | 0 1 | 0 1
    //   targets 1   0   | 1   1    | 0   0     → right: y y | n y | y n → 4 of 6
    const m = new MetricAccumulator("binary_cross_entropy", [2]);
    m.add([0.9, 0.2, 0.5, 0.51, 0.1, 0.7], values([1, 0, 1, 1, 0, 0]), 3);
    expect(m.count).toBe(6);
    expect(m.accuracy()).toBeCloseTo(4 / 6, 15);
    // true 0: predicted 0 twice (0.2, 0.1), 1 once (0.7); true 1: predicted 0 once (0.5), 1 twice.
    expect(m.confusion()).toEqual([
      [2, 1],
      [1, 2],
    ]);
  });

  it("refuses losses without an accuracy and top-k for binary outputs", () => {
    expect(hasAccuracy("squared")).toBe(false);
    expect(hasAccuracy(null)).toBe(false);
    expect(hasAccuracy("binary_cross_entropy")).toBe(true);
    expect(() => new MetricAccumulator("squared", [1])).toThrow(RangeError);
    expect(() => new MetricAccumulator("binary_cross_entropy", [1], 2)).toThrow(/top-k/);
    expect(() => new MetricAccumulator("cross_entropy", [3], 0)).toThrow(/k ≥ 1/);
  });
});

describe("argmaxOf", () => {
  it("finds the first largest, skips NaN, and takes all −∞ as class 0", () => {
    expect(argmaxOf([1, 3, 3, 2], 0, 4)).toBe(1);
    expect(argmaxOf([9, NaN, 4, 5], 1, 3)).toBe(2); // window [NaN, 4, 5]: 5 is at index 2
    expect(argmaxOf([-Infinity, -Infinity], 0, 2)).toBe(0);
    expect(argmaxOf([NaN, NaN], 0, 2)).toBe(-1);
  });
});

describe("BLEU", () => {
  // The seed notes' worked example, tokenised by whitespace into ids.
  const words = (s: string): string[] => s.split(/\s+/);
  const vocabulary = new Map<string, number>();
  const ids = (s: string): number[] => words(s).map((w) => vocabulary.get(w) ?? (vocabulary.set(w, vocabulary.size), vocabulary.size - 1));
  const reference = ids("It was raining heavily today");
  const candidate = ids("It It It is raining heavily");

  it("the notes' example gives 0.316 with N = 2 (clipped 3/6 and 1/5, BP 1)", () => {
    const counts = bleuCounts(reference, candidate, 2);
    // Unigrams: 'It' clipped to the reference's one, plus 'raining' and 'heavily': 3 of 6.
    // Bigrams: only 'raining heavily' of the candidate's 5.
    expect(counts.matches).toEqual([3, 1]);
    expect(counts.totals).toEqual([6, 5]);
    // c = 6 > r = 5: BP = 1; BLEU = sqrt(0.5 · 0.2) = sqrt(0.1).
    const bleu = sentenceBleu(reference, candidate, 2);
    expect(bleu).toBeCloseTo(Math.sqrt(0.1), 14);
    expect(bleu.toFixed(3)).toBe("0.316");
    // Words work as tokens too.
    expect(sentenceBleu(words("It was raining heavily today"), words("It It It is raining heavily"), 2)).toBeCloseTo(Math.sqrt(0.1), 14);
  });

  it("brevity penalty e^(1 − r/c) for a candidate no longer than the reference", () => {
    // Reference 4 tokens, candidate its first 2: p1 = 2/2 = 1, c = 2 ≤ r = 4 → BP = e^(1 − 2) = 1/e.
    expect(sentenceBleu([1, 2, 3, 4], [1, 2], 1)).toBeCloseTo(Math.exp(-1), 15);
    // Equal lengths: BP = e^0 = 1, and an exact copy scores 1 at N = 4.
    expect(sentenceBleu([1, 2, 3, 4, 5], [1, 2, 3, 4, 5], 4)).toBe(1);
  });

  it("is 0 when some n-gram order has no match, or the candidate is empty", () => {
    // Unigrams all match (3/3) but no bigram does ([2,1], [1,3] are not in 1 2 3).
    expect(sentenceBleu([1, 2, 3], [2, 1, 3], 2)).toBe(0);
    expect(sentenceBleu([1, 2, 3], [1, 2], 3)).toBe(0); // a 2-token candidate has no trigram
    expect(sentenceBleu([1, 2, 3], [], 1)).toBe(0);
  });

  it("scores a corpus from summed counts, not as the mean of the sentences", () => {
    // Pair A: ref 1 2 3 4, cand 1 2 3 4 → unigrams 4/4, bigrams 3/3 (sentence BLEU-2 = 1).
    // Pair B: ref 5 6 7 8, cand 5 9 7 9 → unigrams 2/4, bigrams 0/3 (sentence BLEU-2 = 0).
    // Corpus: p1 = 6/8, p2 = 3/6, c = r = 8 → BP 1; BLEU = sqrt(0.75 · 0.5) = sqrt(0.375).
    const acc = new BleuAccumulator(2);
    acc.addSequence([1, 2, 3, 4], [1, 2, 3, 4]);
    acc.addSequence([5, 6, 7, 8], [5, 9, 7, 9]);
    expect(acc.count).toBe(2);
    expect(acc.score()).toBeCloseTo(Math.sqrt(0.375), 15);
    // One pair alone is the notes' sentence BLEU.
    const one = new BleuAccumulator(2);
    one.addSequence(reference, candidate);
    expect(one.score()).toBeCloseTo(Math.sqrt(0.1), 14);
    one.reset();
    expect(one.score()).toBeNaN();
  });

  it("reads [T, V] outputs: the candidate is each position's argmax, the reference the targets", () => {
    // One sample, T = 3, V = 3: outputs argmax 0, 1, 1; reference (class indices) 0, 1, 2.
    // N = 2: unigrams 0,1 match (the second 1 is clipped): 2/3; bigrams (0,1) matches, (1,1) not: 1/2.
    // c = r = 3 → BP 1; BLEU = sqrt(2/3 · 1/2) = sqrt(1/3).
    const outputs = [0.8, 0.1, 0.1, /**/ 0.1, 0.8, 0.1, /**/ 0.2, 0.5, 0.3];
    const acc = new BleuAccumulator(2);
    acc.add(outputs, classes(3, [0, 1, 2]), 1, [3, 3]);
    expect(acc.score()).toBeCloseTo(Math.sqrt(1 / 3), 15);
    // The same with one-hot targets shaped like the output.
    const hot = new BleuAccumulator(2);
    hot.add(outputs, values([1, 0, 0, 0, 1, 0, 0, 0, 1]), 1, [3, 3]);
    expect(hot.score()).toBeCloseTo(Math.sqrt(1 / 3), 15);
  });

  it("an end token cuts references and candidates (it and all after it dropped)", () => {
    // End token 0. Reference 3 4 0 5 → 3 4 (r = 2); candidate 3 4 5 0 → 3 4 5 (c = 3).
    // N = 1: p1 = 2/3 (5 is not in the cut reference); c > r → BP 1 → 2/3.
    const acc = new BleuAccumulator(1, 0);
    acc.addSequence([3, 4, 0, 5], [3, 4, 5, 0]);
    expect(acc.score()).toBeCloseTo(2 / 3, 15);
    // Without it all four positions count: p1 = 4/4.
    const all = new BleuAccumulator(1);
    all.addSequence([3, 4, 0, 5], [3, 4, 5, 0]);
    expect(all.score()).toBe(1);
  });

  it("refuses outputs that are not per position, and N < 1", () => {
    expect(() => new BleuAccumulator(0)).toThrow(RangeError);
    expect(() => new BleuAccumulator(2).add([0.1, 0.9], classes(1, [1]), 1, [2])).toThrow(/\[T, V\]/);
  });
});
