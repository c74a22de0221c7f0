/**
 * Code-generation helpers shared by the conv and pool emitters: where one axis of a sliding
 * window falls on the input, decided at generation time as far as the shapes allow, so the
 * generated loops carry no bounds checks where no window is ever clipped.
 */

/** One axis (rows or columns) of a window, as generated code. */
export interface WindowAxis {
  /** Declarations to place inside the output-index loop (may be empty). */
  readonly decl: string;
  /** Input index of the window's first (possibly padded) cell: an expression. */
  readonly start: string;
  /** The first and one-past-last kernel offsets that land on real cells: expressions. */
  readonly lo: string;
  readonly hi: string;
  /** Some output's window covers no real cell at all (padding at least as wide as the window). */
  readonly mayBeEmpty: boolean;
}

/**
 * Output index `o` (0 ≤ o < count) reads input cells start … start + k − 1, start = o·stride −
 * before; only those inside 0 … size − 1 are real. `name` prefixes the declared locals.
 */
export function windowAxis(name: string, o: string, count: number, size: number, k: number, stride: number, before: number): WindowAxis {
  let clipped = false;
  let mayBeEmpty = false;
  for (let i = 0; i < count; i++) {
    const start = i * stride - before;
    const lo = Math.max(0, -start);
    const hi = Math.min(k, size - start);
    if (lo !== 0 || hi !== k) clipped = true;
    if (hi <= lo) mayBeEmpty = true;
  }
  const startExpr = minus(times(o, stride), `${before}`);
  if (!clipped) return { decl: `const ${name}0 = ${startExpr};`, start: `${name}0`, lo: "0", hi: `${k}`, mayBeEmpty };
  // A window wholly in the padding would give lo > k or hi < 0: clamped to 0 ≤ lo ≤ hi ≤ k
  // (an empty run), so that loops over lo…hi and the zeroing around them stay inside the window.
  const declareLoHi = mayBeEmpty
    ? `const ${name}Lo = Math.min(${k}, ${name}0 < 0 ? -${name}0 : 0);
      const ${name}Hi = Math.max(${name}Lo, ${name}0 + ${k} > ${size} ? ${size} - ${name}0 : ${k});`
    : `const ${name}Lo = ${name}0 < 0 ? -${name}0 : 0;
      const ${name}Hi = ${name}0 + ${k} > ${size} ? ${size} - ${name}0 : ${k};`;
  return {
    decl: `const ${name}0 = ${startExpr};
      ${declareLoHi}`,
    start: `${name}0`,
    lo: `${name}Lo`,
    hi: `${name}Hi`,
    mayBeEmpty,
  };
}

/** `a + b` without the noise of adding a literal 0 (two integer literals are folded). */
export function plus(a: string, b: string): string {
  if (/^\d+$/.test(a) && /^\d+$/.test(b)) return `${Number(a) + Number(b)}`;
  if (b === "0") return a;
  if (a === "0") return b;
  return `${a} + ${b}`;
}

/** `a - b` without the noise of subtracting a literal 0. */
export function minus(a: string, b: string): string {
  return b === "0" ? a : `${a} - ${b}`;
}

/** `a * k` without the noise of multiplying by 1. */
export function times(a: string, k: number): string {
  return k === 1 ? a : `${a} * ${k}`;
}
