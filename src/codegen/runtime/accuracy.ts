import type { LossName } from "./internal-types.js";
import type { Targets } from "./public-types.js";

/**
 * Accuracy's counting, for the training loop and evaluation. cross_entropy: a prediction per
 * sample (a [V] output) or per position (a [T, V] output) — right when the target class is the
 * output's argmax, or with `top` K among its K highest values (ties counted against it);
 * targets given as values (one-hot or probabilities) name the class of their largest value.
 * binary_cross_entropy: every output value is a prediction, right when it is on the target's
 * side of 0.5. Other losses: nothing is counted.
 */
export function countCorrect(loss: LossName | null, outputs: ArrayLike<number>, outWidth: number, targets: Targets, rows: ArrayLike<number>, start: number, n: number, top = 1): { correct: number; counted: number } {
  let correct = 0;
  let counted = 0;
  if (loss === "binary_cross_entropy") {
    if (targets.kind !== "values") return { correct, counted };
    for (let i = 0; i < n; i++) {
      const s = rowOf(rows, start + i);
      for (let e = 0; e < outWidth; e++) {
        if (outputs[i * outWidth + e]! >= 0.5 === targets.data[s * outWidth + e]! >= 0.5) correct++;
        counted++;
      }
    }
    return { correct, counted };
  }
  if (loss !== "cross_entropy") return { correct, counted };
  const positions = targets.kind === "classes" ? targets.perSample : 1;
  const classes = outWidth / positions;
  for (let i = 0; i < n; i++) {
    const s = rowOf(rows, start + i);
    for (let p = 0; p < positions; p++) {
      const at = i * outWidth + p * classes;
      const target = targets.kind === "classes" ? targets.data[s * positions + p]! : argmaxOf(targets.data, s * outWidth, classes);
      if (rankOf(outputs, at, classes, target) < top) correct++;
      counted++;
    }
  }
  return { correct, counted };
}

/** Sample `i` of the data: rows[i], or i itself where `rows` is the identity (an object with only a length). */
function rowOf(rows: ArrayLike<number>, i: number): number {
  const r = rows[i];
  return r === undefined ? i : r;
}

export function argmaxOf(v: ArrayLike<number>, at: number, count: number): number {
  let best = 0;
  for (let c = 1; c < count; c++) if (v[at + c]! > v[at + best]!) best = c;
  return best;
}

/** The target's rank among the classes (0: the argmax, ties going to the first class, as argmax breaks them). */
function rankOf(v: ArrayLike<number>, at: number, count: number, target: number): number {
  if (!(target >= 0 && target < count)) return count;
  const score = v[at + target]!;
  if (Number.isNaN(score)) return count;
  let rank = 0;
  for (let c = 0; c < count; c++) if (c < target ? v[at + c]! >= score : c > target && v[at + c]! > score) rank++;
  return rank;
}
