import { formatShape, sameShape, type Shape } from "../ir/shape.js";
import type { DataSpec } from "./data-spec.js";
import type { TargetSamples } from "./dataset.js";
import { DataError } from "./errors.js";
import { describeJsonValue } from "./json-bytes.js";
import { claimedShape, fillFromNested, NestedError } from "./nested.js";

/** Where a target came from, for messages: `y[3]` in data.json, or a CSV line and column. */
export interface TargetPlace {
  /** `y[3]`, `the label on line 5`, `label 3 of train-labels-idx1-ubyte`. */
  readonly what: string;
  /** The message's prefix: `data.json` or `data.csv:5:786`. */
  readonly at: string;
  readonly file: string;
  readonly line?: number;
  readonly column?: number;
  readonly path?: string;
}

type Mode = "values" | "classes" | "onehot";

/**
 * Collects one target per sample into one flat array. A target is either shaped like the
 * output, or a class index (one per position of the output without its last axis). Class
 * indices stay indices for cross_entropy (or when no loss is known) and become one-hot
 * vectors for the other losses. Every target of a file takes the same form.
 */
export class TargetBuilder {
  private mode?: Mode;
  private values?: Float64Array;
  private classes?: Int32Array;
  private readonly output: Shape;
  private readonly classShape: Shape;
  private readonly classCount: number;
  private readonly outWidth: number;
  private readonly classWidth: number;

  constructor(
    private readonly spec: DataSpec,
    private readonly size: number,
    file: string,
  ) {
    if (!spec.output) throw new DataError(`${file}: cannot read targets: the network's output shape is unknown`, { file });
    this.output = spec.output;
    this.classShape = spec.output.slice(0, -1);
    this.classCount = spec.output[spec.output.length - 1] ?? 1;
    this.outWidth = spec.output.reduce((a, b) => a * b, 1);
    this.classWidth = this.classShape.reduce((a, b) => a * b, 1);
  }

  /** A target written as JSON: a number or a nested array. */
  nested(i: number, value: unknown, place: TargetPlace): void {
    const claimed = claimedShape(value);
    let mode: Mode;
    if (sameShape(claimed, this.output)) mode = "values";
    else if (claimed.length === 0 && this.outWidth === 1 && typeof value === "number") mode = "values";
    else if (this.output.length > 0 && sameShape(claimed, this.classShape) && this.outWidth > 1) mode = this.classMode();
    else {
      const classForm = this.output.length > 0 && this.outWidth > 1 ? ` or ${this.classShape.length === 0 ? "a class index" : `class indices shaped ${formatShape(this.classShape)}`}` : "";
      const got = claimed.length === 0 && typeof value !== "number" ? `is ${describeJsonValue(value)}` : `has shape ${formatShape(claimed)}`;
      this.fail(`${place.what} ${got}; the network's output is ${formatShape(this.output)}, so a target is shaped ${formatShape(this.output)}${classForm}`, place);
    }
    this.setMode(mode, i, place);
    try {
      if (mode === "values") {
        if (claimed.length === 0) this.values![i * this.outWidth] = value as number;
        else fillFromNested(value, this.output, this.values!, i * this.outWidth, place.what);
        return;
      }
      const scratch = new Float64Array(this.classWidth);
      if (claimed.length === 0) {
        if (typeof value !== "number") this.fail(`${place.what} is ${describeJsonValue(value)}, not a class index`, place);
        scratch[0] = value as number;
      } else fillFromNested(value, this.classShape, scratch, 0, place.what);
      for (let k = 0; k < scratch.length; k++) this.putClass(i, k, scratch[k]!, place, claimed.length === 0 ? place.what : `${place.what}${indexPath(this.classShape, k)}`);
    } catch (e) {
      if (e instanceof NestedError) this.fail(e.message, { ...place, path: e.path });
      throw e;
    }
  }

  /** A single number: a CSV row's last column, an IDX label. */
  label(i: number, value: number, place: TargetPlace): void {
    if (this.outWidth === 1) {
      this.setMode("values", i, place);
      this.values![i] = value;
      return;
    }
    if (this.output.length !== 1) {
      this.fail(`one label per sample cannot fill the network's output ${formatShape(this.output)}: it needs ${this.classWidth} class indices per sample (use a JSON data file)`, place);
    }
    this.setMode(this.classMode(), i, place);
    this.putClass(i, 0, value, place, place.what);
  }

  result(): TargetSamples {
    if (this.mode === undefined || this.mode !== "classes") {
      return { kind: "values", shape: [...this.output], data: this.values ?? new Float64Array(this.size * this.outWidth) };
    }
    return { kind: "classes", shape: [...this.classShape], perSample: this.classWidth, classes: this.classCount, data: this.classes! };
  }

  private classMode(): Mode {
    return this.spec.loss === undefined || this.spec.loss === "cross_entropy" ? "classes" : "onehot";
  }

  private setMode(mode: Mode, i: number, place: TargetPlace): void {
    if (this.mode === undefined) {
      this.mode = mode;
      if (mode === "classes") this.classes = new Int32Array(this.size * this.classWidth);
      else this.values = new Float64Array(this.size * this.outWidth);
      return;
    }
    if (this.mode !== mode) {
      const form = (m: Mode): string => (m === "values" ? "shaped like the output" : "a class index");
      this.fail(`${place.what} is ${form(mode)} but the first target is ${form(this.mode)}; write every target the same way`, place);
    }
    void i;
  }

  private putClass(i: number, k: number, v: number, place: TargetPlace, what: string): void {
    const n = this.classCount;
    if (!Number.isInteger(v) || v < 0 || v >= n) {
      const why = Number.isInteger(v) ? `is not a class index for ${n} classes (0 to ${n - 1})` : `is not a class index (a whole number from 0 to ${n - 1})`;
      this.fail(`${what} = ${v} ${why}`, place);
    }
    if (this.mode === "classes") this.classes![i * this.classWidth + k] = v;
    else this.values![i * this.outWidth + k * n + v] = 1;
  }

  private fail(message: string, place: TargetPlace): never {
    throw new DataError(`${place.at}: ${message}`, { file: place.file, line: place.line, column: place.column, path: place.path ?? place.what });
  }
}

/** Flat index → `[a][b]` for a row-major shape. */
export function indexPath(shape: Shape, flat: number): string {
  const idx: number[] = new Array<number>(shape.length);
  let rest = flat;
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = rest % shape[d]!;
    rest = Math.floor(rest / shape[d]!);
  }
  return idx.map((i) => `[${i}]`).join("");
}
