/** Levenshtein distance, capped: we only care whether two words are close. */
export function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length]!;
}

/**
 * Cells of edit-distance tables (length × length) that suggestions may fill: a "did you mean"
 * is a courtesy and must never be what makes a check slow. One budget can be shared by many
 * `closest` calls (the network builder shares one per network); alone, each call gets this much.
 */
export const SUGGESTION_CELLS = 4_000_000;

export interface SuggestionBudget {
  /** Cells left; `closest` spends them and compares no more once they run out. */
  cells: number;
}

/** The distance under which `candidate` counts as a typo of a word of `length` characters. */
function typoLimit(length: number): number {
  return Math.max(1, Math.floor(length / 3));
}

/**
 * The candidate closest to `word`, if it is close enough to be a plausible typo. The lengths'
 * difference is a lower bound of the edit distance, so candidates far longer or shorter than
 * `word` are skipped without a table; the tables filled are paid from `budget`.
 */
export function closest(word: string, candidates: Iterable<string>, budget: SuggestionBudget = { cells: SUGGESTION_CELLS }): string | undefined {
  const lower = word.toLowerCase();
  const limit = typoLimit(word.length);
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    let d: number;
    if (c === lower) d = 0.5;
    else {
      if (Math.abs(c.length - lower.length) > limit) continue;
      const cells = lower.length * c.length;
      if (cells > budget.cells) {
        budget.cells = 0;
        break;
      }
      budget.cells -= cells;
      d = editDistance(lower, c);
    }
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best !== undefined && bestDistance <= limit ? best : undefined;
}
