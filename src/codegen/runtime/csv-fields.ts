import { excerpt } from "./errors.js";

/**
 * How a CSV data file's fields read (data.ts's csvDataset).
 *
 * Values are decimal numbers (16, -0.5, .5, 1e-3): Number() also takes 0x10, 0b1, 0o7,
 * "Infinity" and surrounding white space, which a data file must not. Test trimmed text.
 */
export const DECIMAL_NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
/** Spellings of values that are not finite numbers. */
const NON_FINITE = /^[+-]?(nan|inf|infinity)$/i;
/** What starts like a number (a digit, or a point and a digit, after a sign): 0x10, 1_000, 2e, 2nd. */
const STARTS_LIKE_NUMBER = /^[+-]?\.?\d/;
/** Numbers in forms that Number() or other languages take but CSV values must not use: 0x10, 0b1, 0o7, 1_000. */
const NOT_DECIMAL = /^[+-]?(0[xX][\da-fA-F_]+|0[bB][01_]+|0[oO][0-7_]+|[\d_]*\d_[\d_.]*([eE][+-]?[\d_]+)?)$/;

/**
 * Whether a first-row field reads as a value (so the row is data), rather than a column's name.
 * A number-like field is a number or a token that only looks like one (NaN, inf, 0x10, 1_000…),
 * so a first row such as `NaN,1,2` is data, refused as such, never silently dropped as a header.
 * An empty field is not number-like (`,0,1,2`: pandas' header).
 */
export function isNumberLike(field: string): boolean {
  const t = field.trim();
  return DECIMAL_NUMBER.test(t) || NON_FINITE.test(t) || STARTS_LIKE_NUMBER.test(t);
}

/** A field's value, or why it has none: the end of "field 3 is …" (user text cut to an excerpt). */
export function csvNumber(field: string): number | string {
  const t = field.trim();
  if (t === "") return "empty, not a number";
  const quoted = `'${excerpt(t)}'`;
  if (DECIMAL_NUMBER.test(t)) {
    const v = Number(t);
    return Number.isFinite(v) ? v : `${quoted}, a number too large for float64`;
  }
  if (NON_FINITE.test(t)) return `${quoted}: data must be finite numbers`;
  if (NOT_DECIMAL.test(t)) return `${quoted}, not a decimal number (write numbers such as 16, -0.5 or 1e-3)`;
  return `${quoted}, not a number`;
}

/** Splits one CSV line, honouring "quoted, fields" and "" escapes; `start` is the 0-based column. */
export function splitCsvLine(line: string): { text: string; start: number }[] {
  const out: { text: string; start: number }[] = [];
  let i = 0;
  for (;;) {
    const start = i;
    let text = "";
    let lead = i;
    while (line[lead] === " " || line[lead] === "\t") lead++;
    if (line[lead] === '"') {
      i = lead + 1;
      while (i < line.length) {
        if (line[i] === '"') {
          if (line[i + 1] === '"') {
            text += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        text += line[i];
        i++;
      }
      while (i < line.length && line[i] !== ",") i++;
    } else {
      const comma = line.indexOf(",", i);
      const end = comma < 0 ? line.length : comma;
      text = line.slice(i, end);
      i = end;
    }
    out.push({ text, start });
    if (i >= line.length) return out;
    i++; // the comma
  }
}

/** The 1-based column where field `index` starts. */
export function csvColumnOf(line: string, index: number): number {
  return (splitCsvLine(line)[index]?.start ?? line.length) + 1;
}
