import { formatShape } from "../ir/shape.js";
import { DECIMAL_NUMBER } from "../util/decimal.js";
import type { DataSpec } from "./data-spec.js";
import type { Dataset } from "./dataset.js";
import { DataError } from "./errors.js";
import { checkTokenIds } from "./data-json.js";
import { TargetBuilder } from "./targets.js";

/**
 * A CSV data file: one sample per row, its values flattened row-major to the input's shape,
 * then (optionally for `dlc run`) the label in the last column — a class index, or a number
 * when the output has size 1 (squared or binary cross-entropy loss). Fields may be "quoted".
 * Values are decimal numbers (16, -0.5, 1e-3): not hexadecimal, binary or octal, no digit
 * separators, and finite. The first line is a header, and skipped, when some field of it is
 * not number-like; a number-like field is a number or a token that only looks like one (NaN,
 * inf, 0x10, 1_000…), so a first row such as `NaN,1,2` is data, and refused as such, never
 * silently dropped as a header. An empty field is not number-like (`,0,1,2`: pandas' header).
 */
export function parseDataCsv(text: string, file: string, spec: DataSpec): Dataset {
  if (spec.inputs.length !== 1) {
    throw new DataError(`${file}: a CSV file fills one input, but the network has ${spec.inputs.length} (${spec.inputs.map((i) => i.name).join(", ")}); use a JSON data file with "x": {${spec.inputs.map((i) => `"${i.name}": […]`).join(", ")}}`, { file });
  }
  const input = spec.inputs[0]!;
  const width = input.shape.reduce((a, b) => a * b, 1);
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const lines = body.split("\n");
  const fail = (message: string, line?: number, column?: number): never => {
    const at = line === undefined ? file : column === undefined ? `${file}:${line}` : `${file}:${line}:${column}`;
    throw new DataError(`${at}: ${message}`, { file, line, column });
  };

  let first = 0;
  while (first < lines.length && clean(lines[first]!).trim() === "") first++;
  if (first === lines.length) return fail("has no samples: the file is empty");
  const firstFields = splitCsvLine(clean(lines[first]!));
  const hasHeader = firstFields.some((f) => !isNumberLike(f.text));
  const columns = firstFields.length;
  const dataStart = hasHeader ? first + 1 : first;

  const describeWidth = `the network's input ${formatShape(input.shape)} takes ${width} value${width === 1 ? "" : "s"} per row`;
  let hasLabel: boolean;
  if (columns === width + 1) hasLabel = true;
  else if (columns === width) {
    hasLabel = false;
    if (spec.needTargets) {
      fail(`${hasHeader ? "the header has" : "rows have"} ${columns} columns: ${describeWidth} but there is no label column; training needs the label in the last column`, first + 1);
    }
  } else {
    return fail(`${hasHeader ? "the header has" : "the first row has"} ${columns} column${columns === 1 ? "" : "s"}; ${describeWidth}, plus the label in the last column (${width + 1} in all)`, first + 1);
  }

  const rowLines: number[] = [];
  for (let l = dataStart; l < lines.length; l++) if (clean(lines[l]!).trim() !== "") rowLines.push(l);
  const size = rowLines.length;
  if (size === 0) return fail("has no samples, only a header", first + 1);
  const x = new Float64Array(size * width);
  const builder = hasLabel && spec.output !== undefined ? new TargetBuilder(spec, size, file) : undefined;
  if (hasLabel && !builder && spec.needTargets) fail("cannot read labels: the network's output shape is unknown");

  for (let i = 0; i < size; i++) {
    const l = rowLines[i]!;
    const lineNo = l + 1;
    const raw = clean(lines[l]!);
    const fields = raw.includes('"') ? splitCsvLine(raw).map((f) => f.text) : raw.split(",");
    if (fields.length !== columns) {
      fail(`has ${fields.length} field${fields.length === 1 ? "" : "s"}, but ${hasHeader ? "the header has" : "the first row has"} ${columns}`, lineNo);
    }
    const base = i * width;
    for (let c = 0; c < width; c++) {
      const v = csvNumber(fields[c]!);
      if (typeof v === "string") return fail(`field ${c + 1} is ${v}`, lineNo, columnOf(raw, c));
      x[base + c] = v;
    }
    if (hasLabel && builder) {
      const v = csvNumber(fields[width]!);
      const column = raw.includes('"') ? columnOf(raw, width) : raw.lastIndexOf(",") + 2;
      if (typeof v === "string") return fail(`the label (field ${width + 1}) is ${v}`, lineNo, column);
      builder.label(i, v, { what: "the label", at: `${file}:${lineNo}:${column}`, file, line: lineNo, column });
    }
  }
  if (input.vocabulary !== undefined) {
    checkTokenIds(x, input, "x", file, (j) => `line ${rowLines[Math.floor(j / width)]! + 1}, field ${(j % width) + 1}`);
  }
  return { size, inputs: [{ name: input.name, shape: [...input.shape], data: x }], targets: builder?.result(), source: file };
}

function clean(line: string): string {
  return line.endsWith("\r") ? line.slice(0, -1) : line;
}

/** Spellings of values that are not finite numbers. */
const NON_FINITE = /^[+-]?(nan|inf|infinity)$/i;
/** What starts like a number (a digit, or a point and a digit, after a sign): 0x10, 1_000, 2e, 2nd. */
const STARTS_LIKE_NUMBER = /^[+-]?\.?\d/;
/** Numbers in forms that Number() or other languages take but CSV values must not use: 0x10, 0b1, 0o7, 1_000. */
const NOT_DECIMAL = /^[+-]?(0[xX][\da-fA-F_]+|0[bB][01_]+|0[oO][0-7_]+|[\d_]*\d_[\d_.]*([eE][+-]?[\d_]+)?)$/;

/** Whether a first-row field reads as a value (so the row is data), rather than a column's name. */
function isNumberLike(field: string): boolean {
  const t = field.trim();
  return DECIMAL_NUMBER.test(t) || NON_FINITE.test(t) || STARTS_LIKE_NUMBER.test(t);
}

/** A field's value, or why it has none: the end of "field 3 is …". */
function csvNumber(field: string): number | string {
  const t = field.trim();
  if (t === "") return "empty, not a number";
  if (DECIMAL_NUMBER.test(t)) {
    const v = Number(t);
    return Number.isFinite(v) ? v : `'${t}', a number too large for float64`;
  }
  if (NON_FINITE.test(t)) return `'${t}': data must be finite numbers`;
  if (NOT_DECIMAL.test(t)) return `'${t}', not a decimal number (write numbers such as 16, -0.5 or 1e-3)`;
  return `'${t}', not a number`;
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
      for (;;) {
        if (i >= line.length) break;
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
function columnOf(line: string, index: number): number {
  const fields = splitCsvLine(line);
  return (fields[index]?.start ?? line.length) + 1;
}
