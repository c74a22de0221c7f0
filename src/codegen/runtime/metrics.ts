import type { LossName } from "./internal-types.js";
import type { Targets } from "./public-types.js";

/**
 * Metrics of a model's outputs against their targets, accumulated over batches: accuracy (top-1
 * and top-k), the confusion matrix, and BLEU-N for per-position token outputs. Pure functions of
 * the numbers passed in; no model, no I/O.
 *
 * Positions: an output [V] (cross_entropy) is one prediction per sample; an output [T, V] (or
 * any [..., V]) is one prediction per position, T per sample, each scored on its own. A
 * binary_cross_entropy output is one prediction per element (threshold 0.5), whatever its shape.
 */

/** Losses whose outputs have an accuracy: the classification losses. */
export function hasAccuracy(loss: LossName | null | undefined): loss is "cross_entropy" | "binary_cross_entropy" {
  return loss === "cross_entropy" || loss === "binary_cross_entropy";
}

/**
 * Above this many classes there is no confusion matrix (a vocabulary of 30,000 tokens would make
 * 9·10⁸ cells): `confusion()` returns undefined; accuracy is still counted.
 */
export const MAX_CONFUSION_CLASSES = 1024;

/** Index of the largest of values[from … from+count−1] (the first on ties); −1 when all are NaN. */
export function argmaxOf(values: ArrayLike<number>, from: number, count: number): number {
  let best = -1;
  let bestValue = -Infinity;
  for (let c = 0; c < count; c++) {
    const v = values[from + c]!;
    if (v > bestValue || (best < 0 && v === -Infinity)) {
      best = c;
      bestValue = v;
    }
  }
  return best;
}

/**
 * Accuracy and confusion matrix over batches (`dlc train`'s and `dlc eval`'s, and fit's).
 *
 * - cross_entropy: the prediction at a position is the argmax of its V outputs (the first on
 *   ties); the true class is the class index, or, for targets shaped like the output (one-hot
 *   or soft), the argmax of the target's V values. Top-k: the position counts as right when
 *   fewer than k classes have an output strictly larger than the true class's (ties at the
 *   boundary count as in the top k, as Keras' in_top_k); k = 1 differs from top-1 only on ties.
 * - binary_cross_entropy: every output element is a prediction, class 1 when the output
 *   (a sigmoid's probability) is > 0.5, else 0; the target likewise (> 0.5 is 1). The confusion
 *   matrix is 2×2.
 * - A position whose outputs are all NaN (cross_entropy), or a NaN output (binary), is counted
 *   as wrong and left out of the confusion matrix.
 *
 * Confusion: rows are the true class, columns the predicted one (`confusion()[t][p]`).
 */
export class MetricAccumulator {
  /** Classes per position: V, or 2 for binary_cross_entropy. */
  readonly classes: number;
  /** Positions per sample: outputWidth / V (cross_entropy) or outputWidth (binary). */
  readonly positions: number;
  readonly topK: number;
  private readonly outputWidth: number;
  private total = 0;
  private right = 0;
  private rightTopK = 0;
  private readonly counts?: Float64Array;

  /**
   * `outputShape`: one sample's output ([V], [T, V], … or anything for binary_cross_entropy).
   * `topK` ≥ 1 (cross_entropy only). RangeError for a loss without accuracy (squared, none).
   */
  constructor(
    readonly loss: LossName | null,
    outputShape: readonly number[],
    topK = 1,
  ) {
    if (!hasAccuracy(loss)) throw new RangeError(`accuracy needs a classification loss (cross_entropy or binary_cross_entropy), not ${loss ?? "no loss"}`);
    if (!(Number.isInteger(topK) && topK >= 1)) throw new RangeError(`top-k needs a whole number k ≥ 1, not ${topK}`);
    if (topK > 1 && loss !== "cross_entropy") throw new RangeError("top-k accuracy needs cross_entropy (binary_cross_entropy has one prediction per output)");
    let width = 1;
    for (const d of outputShape) width *= d;
    this.outputWidth = width;
    this.topK = topK;
    if (loss === "cross_entropy") {
      this.classes = outputShape.length > 0 ? outputShape[outputShape.length - 1]! : 1;
      this.positions = this.classes > 0 ? width / this.classes : 0;
    } else {
      this.classes = 2;
      this.positions = width;
    }
    if (this.classes <= MAX_CONFUSION_CLASSES) this.counts = new Float64Array(this.classes * this.classes);
  }

  /**
   * Scores the first `n` samples: `outputs` holds n × outputWidth values (row-major, as predict
   * returns them), `targets` at least n samples' targets (class indices, `perSample` per sample,
   * or values shaped like the output), sample 0 first.
   */
  add(outputs: ArrayLike<number>, targets: Targets, n: number): void {
    if (outputs.length < n * this.outputWidth) throw new RangeError(`metrics: ${outputs.length} outputs for ${n} samples of ${this.outputWidth}`);
    if (targets.kind === "classes" && targets.perSample !== this.positions) throw new RangeError(`metrics: ${targets.perSample} class indices per sample for ${this.positions} positions`);
    if (this.loss === "cross_entropy") this.addClasses(outputs, targets, n);
    else this.addBinary(outputs, targets, n);
  }

  private addClasses(outputs: ArrayLike<number>, targets: Targets, n: number): void {
    const V = this.classes;
    const positions = n * this.positions;
    for (let p = 0; p < positions; p++) {
      const at = p * V;
      const truth = targets.kind === "classes" ? targets.data[p]! : argmaxOf(targets.data, at, V);
      const predicted = argmaxOf(outputs, at, V);
      this.total++;
      if (predicted < 0 || truth < 0) continue;
      if (predicted === truth) this.right++;
      if (this.topK > 1 && inTopK(outputs, at, V, truth, this.topK)) this.rightTopK++;
      if (this.counts) this.counts[truth * V + predicted]! += 1;
    }
  }

  private addBinary(outputs: ArrayLike<number>, targets: Targets, n: number): void {
    const elements = n * this.outputWidth;
    for (let e = 0; e < elements; e++) {
      const out = outputs[e]!;
      // binary_cross_entropy's targets are values (data.ts makes a class index one-hot for it).
      const truth = targets.data[e]! > 0.5 ? 1 : 0;
      this.total++;
      if (Number.isNaN(out)) continue;
      const predicted = out > 0.5 ? 1 : 0;
      if (predicted === truth) this.right++;
      this.counts![truth * 2 + predicted]! += 1;
    }
  }

  /** Positions (binary: elements) scored so far. */
  get count(): number {
    return this.total;
  }

  /** Top-1 accuracy in [0, 1]; NaN before anything was added. */
  accuracy(): number {
    return this.total > 0 ? this.right / this.total : NaN;
  }

  /** Top-k accuracy (k = topK); the same as accuracy() when topK is 1. */
  topKAccuracy(): number {
    if (this.topK === 1) return this.accuracy();
    return this.total > 0 ? this.rightTopK / this.total : NaN;
  }

  /** classes × classes counts, rows = true class, columns = predicted; undefined past MAX_CONFUSION_CLASSES. */
  confusion(): number[][] | undefined {
    const counts = this.counts;
    if (!counts) return undefined;
    const V = this.classes;
    return Array.from({ length: V }, (_, t) => Array.from(counts.subarray(t * V, (t + 1) * V)));
  }

  /** Starts over (a new epoch). */
  reset(): void {
    this.total = 0;
    this.right = 0;
    this.rightTopK = 0;
    this.counts?.fill(0);
  }
}

/** Whether fewer than k of values[from … from+V−1] are strictly larger than the one at `truth`. */
function inTopK(values: ArrayLike<number>, from: number, V: number, truth: number, k: number): boolean {
  const mine = values[from + truth]!;
  if (Number.isNaN(mine)) return false;
  let larger = 0;
  for (let c = 0; c < V; c++) if (values[from + c]! > mine && ++larger >= k) return false;
  return true;
}

// ---- BLEU ----------------------------------------------------------------------------------

/**
 * BLEU's counts for one candidate against one reference: for n = 1 … N, the clipped n-gram
 * matches (each candidate n-gram counts at most as often as it occurs in the reference) and the
 * candidate's n-gram total; and both lengths.
 */
export interface BleuCounts {
  readonly matches: number[];
  readonly totals: number[];
  readonly candidateLength: number;
  readonly referenceLength: number;
}

/** The clipped n-gram counts of `candidate` against `reference` (token ids or words), n = 1 … maxN. */
export function bleuCounts(reference: readonly (number | string)[], candidate: readonly (number | string)[], maxN: number): BleuCounts {
  const matches: number[] = [];
  const totals: number[] = [];
  for (let n = 1; n <= maxN; n++) {
    const available = ngramCounts(reference, n);
    let matched = 0;
    const grams = Math.max(0, candidate.length - n + 1);
    for (let i = 0; i < grams; i++) {
      const key = ngramKey(candidate, i, n);
      const left = available.get(key) ?? 0;
      if (left > 0) {
        matched++;
        available.set(key, left - 1);
      }
    }
    matches.push(matched);
    totals.push(grams);
  }
  return { matches, totals, candidateLength: candidate.length, referenceLength: reference.length };
}

function ngramCounts(tokens: readonly (number | string)[], n: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i + n <= tokens.length; i++) {
    const key = ngramKey(tokens, i, n);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

function ngramKey(tokens: readonly (number | string)[], from: number, n: number): string {
  // JSON keeps words with spaces or commas apart from their neighbours.
  return JSON.stringify(tokens.slice(from, from + n));
}

/**
 * BLEU-N from (summed) counts, as the seed notes define it: BP · exp(Σₙ (1/N) log pₙ) with
 * pₙ = clipped matches / candidate n-grams and the brevity penalty BP = 1 when c > r, else
 * e^(1 − r/c) (c: candidate length, r: reference length). 0 when some pₙ is 0 (no smoothing)
 * or the candidate is empty.
 */
export function bleuFromCounts(counts: BleuCounts): number {
  const N = counts.matches.length;
  const c = counts.candidateLength;
  const r = counts.referenceLength;
  if (N === 0 || c === 0) return 0;
  let logSum = 0;
  for (let n = 0; n < N; n++) {
    if (counts.matches[n]! === 0 || counts.totals[n]! === 0) return 0;
    logSum += Math.log(counts.matches[n]! / counts.totals[n]!) / N;
  }
  const brevity = c > r ? 1 : Math.exp(1 - r / c);
  return brevity * Math.exp(logSum);
}

/** One sentence's BLEU-N (the notes' definition, for one candidate and one reference). */
export function sentenceBleu(reference: readonly (number | string)[], candidate: readonly (number | string)[], maxN = 4): number {
  return bleuFromCounts(bleuCounts(reference, candidate, maxN));
}

/**
 * Corpus BLEU-N over many (reference, candidate) pairs, the way a test set is scored (Papineni
 * et al. 2002; nltk's corpus_bleu, sacreBLEU): the clipped matches, the n-gram totals and the
 * lengths are summed over all pairs first, then combined once by bleuFromCounts. It is not the
 * mean of the sentences' scores (one sentence without a matching 4-gram would make its own
 * score 0); for a single pair it is exactly the notes' sentence BLEU.
 */
export class BleuAccumulator {
  private readonly matches: number[];
  private readonly totals: number[];
  private candidateLength = 0;
  private referenceLength = 0;
  private sentences = 0;

  /**
   * `maxN`: the longest n-gram (BLEU-4 by default). `endToken`: a token id that ends a sequence;
   * it and every position after it are dropped, from references and candidates alike (a
   * sequence without it keeps all its positions). Without `endToken` every position counts, so
   * with fixed-length [T, V] outputs c = r = T and the brevity penalty is 1.
   */
  constructor(
    readonly maxN = 4,
    readonly endToken?: number,
  ) {
    if (!(Number.isInteger(maxN) && maxN >= 1)) throw new RangeError(`BLEU-N needs a whole number N ≥ 1, not ${maxN}`);
    this.matches = new Array<number>(maxN).fill(0);
    this.totals = new Array<number>(maxN).fill(0);
  }

  /** One pair of token sequences. */
  addSequence(reference: readonly number[], candidate: readonly number[]): void {
    const counts = bleuCounts(this.cut(reference), this.cut(candidate), this.maxN);
    for (let n = 0; n < this.maxN; n++) {
      this.matches[n]! += counts.matches[n]!;
      this.totals[n]! += counts.totals[n]!;
    }
    this.candidateLength += counts.candidateLength;
    this.referenceLength += counts.referenceLength;
    this.sentences++;
  }

  /**
   * The first `n` samples of a batch of per-position outputs [T, V] (`outputShape`): the
   * candidate is each position's argmax, the reference each position's class index (or the
   * argmax of a target shaped like the output).
   */
  add(outputs: ArrayLike<number>, targets: Targets, n: number, outputShape: readonly number[]): void {
    if (outputShape.length < 2) throw new RangeError(`BLEU needs per-position token outputs [T, V], not [${outputShape.join(",")}]`);
    const V = outputShape[outputShape.length - 1]!;
    let T = 1;
    for (let d = 0; d < outputShape.length - 1; d++) T *= outputShape[d]!;
    if (targets.kind === "classes" && targets.perSample !== T) throw new RangeError(`BLEU: ${targets.perSample} class indices per sample for ${T} positions`);
    for (let s = 0; s < n; s++) {
      const reference: number[] = [];
      const candidate: number[] = [];
      for (let t = 0; t < T; t++) {
        const p = s * T + t;
        reference.push(targets.kind === "classes" ? targets.data[p]! : argmaxOf(targets.data, p * V, V));
        candidate.push(argmaxOf(outputs, p * V, V));
      }
      this.addSequence(reference, candidate);
    }
  }

  private cut(tokens: readonly number[]): readonly number[] {
    if (this.endToken === undefined) return tokens;
    const end = tokens.indexOf(this.endToken);
    return end < 0 ? tokens : tokens.slice(0, end);
  }

  /** Pairs added so far. */
  get count(): number {
    return this.sentences;
  }

  /** Corpus BLEU-N in [0, 1]; NaN before anything was added. */
  score(): number {
    if (this.sentences === 0) return NaN;
    return bleuFromCounts({ matches: this.matches, totals: this.totals, candidateLength: this.candidateLength, referenceLength: this.referenceLength });
  }

  reset(): void {
    this.matches.fill(0);
    this.totals.fill(0);
    this.candidateLength = 0;
    this.referenceLength = 0;
    this.sentences = 0;
  }
}
