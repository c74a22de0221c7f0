import { formatShape } from "../ir/shape.js";
import { csvColumnOf, csvNumber, isNumberLike, splitCsvLine } from "../codegen/runtime/csv-fields.js";
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
      if (typeof v === "string") return fail(`field ${c + 1} is ${v}`, lineNo, csvColumnOf(raw, c));
      x[base + c] = v;
    }
    if (hasLabel && builder) {
      const v = csvNumber(fields[width]!);
      const column = raw.includes('"') ? csvColumnOf(raw, width) : raw.lastIndexOf(",") + 2;
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
