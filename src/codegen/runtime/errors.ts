/**
 * The error class and message helpers of the data and weights readers, dlc's and every generated
 * module's (`closest` repeats src/util/suggest.ts's, because a generated module imports nothing).
 */

/** A mistake in a weights or data file: the user's, never the module's. The message is complete. */
export class DataError extends Error {
  /** The file the mistake is in, when known. */
  readonly file?: string;

  constructor(message: string, file?: string) {
    super(message);
    this.name = "DataError";
    this.file = file;
  }
}

/** The most characters of a user's text (a CSV field, a JSON key, a weight's name) a message quotes. */
export const EXCERPT_CHARS = 200;

/** A user's text as a message quotes it: cut to EXCERPT_CHARS with an ellipsis, so a hostile file cannot make a message of megabytes. */
export function excerpt(s: string): string {
  return s.length <= EXCERPT_CHARS ? s : `${s.slice(0, EXCERPT_CHARS)}…`;
}

/** The longest line of a message the command line prints whole; longer ones are cut in the middle. */
const MAX_LINE = 1000;

/**
 * A message as the command line prints it: control characters (an escape sequence in a file
 * name, a NUL) shown as U+FFFD, as dlc shows source excerpts, so that they cannot drive the
 * terminal; and any line longer than MAX_LINE cut in the middle, whatever it quotes.
 */
export function terminalText(message: string): string {
  const visible = message.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, "\ufffd");
  return visible
    .split("\n")
    .map((line) => (line.length <= MAX_LINE ? line : `${line.slice(0, MAX_LINE / 2)} … (${line.length - MAX_LINE} characters cut) … ${line.slice(-MAX_LINE / 2)}`))
    .join("\n");
}

/** `[2,3]`, as dlc prints shapes. */
export function formatShape(shape: readonly number[]): string {
  return excerpt(`[${shape.join(",")}]`);
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function sizeOfShape(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/**
 * The candidate closest to `word`, if it is close enough to be a plausible typo. As dlc's own
 * (src/util/suggest.ts): candidates whose length differs by more than the limit are skipped
 * (the difference bounds the distance below), and the tables filled are capped.
 */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  const lower = word.toLowerCase();
  const limit = Math.max(1, Math.floor(word.length / 3));
  let cellsLeft = 4_000_000;
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    let d: number;
    if (c === lower) d = 0.5;
    else {
      if (Math.abs(c.length - lower.length) > limit) continue;
      cellsLeft -= lower.length * c.length;
      if (cellsLeft < 0) break;
      d = editDistance(lower, c);
    }
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best !== undefined && bestDistance <= limit ? best : undefined;
}

function editDistance(a: string, b: string): number {
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

/** One problem on one line; several as a list under a heading, at most a dozen. */
export function listProblems(file: string, heading: string, problems: readonly string[]): string {
  if (problems.length === 1) return `${file}: ${problems[0]}`;
  const shown = problems.slice(0, 12).map((p) => `  - ${p}`);
  if (problems.length > 12) shown.push(`  … and ${problems.length - 12} more`);
  return `${file} ${heading} (${problems.length} problems):\n${shown.join("\n")}`;
}
