/** Half-open [start, end) ranges of the weights arena, in increasing order. */
export type Range = [number, number];

/** Joins ranges that touch (the input sorted by start, not overlapping). */
export function mergeRanges(ranges: readonly Range[]): Range[] {
  const out: Range[] = [];
  for (const r of ranges) {
    const last = out[out.length - 1];
    if (last && last[1] === r[0]) last[1] = r[1];
    else out.push([r[0], r[1]]);
  }
  return out;
}

/** The parts of `ranges` outside every range of `cut` (both sorted, not overlapping), empty ones left out. */
export function subtractRanges(ranges: readonly Range[], cut: readonly Range[]): Range[] {
  const out: Range[] = [];
  for (const [start, end] of ranges) {
    let from = start;
    for (const [a, b] of cut) {
      if (b <= from || a >= end) continue;
      if (a > from) out.push([from, a]);
      from = Math.max(from, b);
    }
    if (from < end) out.push([from, end]);
  }
  return out;
}

/** The ranges as a TypeScript literal of type `readonly (readonly [number, number])[]`. */
export function rangesLiteral(ranges: readonly Range[]): string {
  return `[${ranges.map(([a, b]) => `[${a}, ${b}]`).join(", ")}]`;
}
