import { DataError, formatShape, sameShape, sizeOfShape } from "./errors.js";
import { describeJsonValue } from "./json.js";
import type { InputInfo, LossName } from "./internal-types.js";
import { claimedShape, fillFromNested, NestedError } from "./nested.js";
import type { Targets } from "./public-types.js";

/** What a data file must hold for the network (dlc makes one with src/io/data-spec.ts's dataSpecOf). */
export interface DataSpec {
  readonly inputs: readonly InputInfo[];
  readonly output: readonly number[];
  readonly loss?: LossName | null;
  readonly needTargets?: boolean;
}

/** Where a target came from, for messages: `y[3]` in data.json, or a CSV line and column. */
export interface TargetPlace {
  readonly what: string;
  /** The message's prefix: `data.json` or `data.csv:5:786`. */
  readonly at: string;
  readonly file: string;
}

type Mode = "values" | "classes" | "onehot";

/**
 * Collects one target per sample: shaped like the output, or class indices — kept as indices for cross_entropy (or no loss), one-hot for the
 * other losses. Every target of a file takes the same form.
 */
export class TargetBuilder {
  private mode?: Mode;
  private values?: Float64Array;
  private classes?: Int32Array;
  private readonly classShape: readonly number[];
  private readonly classCount: number;
  private readonly outWidth: number;
  private readonly classWidth: number;

  constructor(
    private readonly spec: DataSpec,
    private readonly size: number,
  ) {
    this.classShape = spec.output.slice(0, -1);
    this.classCount = spec.output[spec.output.length - 1] ?? 1;
    this.outWidth = sizeOfShape(spec.output);
    this.classWidth = sizeOfShape(this.classShape);
  }

  /** A target written as JSON: a number or a nested array. */
  nested(i: number, value: unknown, place: TargetPlace): void {
    const output = this.spec.output;
    const claimed = claimedShape(value);
    let mode: Mode;
    if (sameShape(claimed, output)) mode = "values";
    else if (claimed.length === 0 && this.outWidth === 1 && typeof value === "number") mode = "values";
    else if (output.length > 0 && sameShape(claimed, this.classShape) && this.outWidth > 1) mode = this.classMode();
    else {
      const classForm = output.length > 0 && this.outWidth > 1 ? ` or ${this.classShape.length === 0 ? "a class index" : `class indices shaped ${formatShape(this.classShape)}`}` : "";
      const got = claimed.length === 0 && typeof value !== "number" ? `is ${describeJsonValue(value)}` : `has shape ${formatShape(claimed)}`;
      return this.fail(`${place.what} ${got}; the network's output is ${formatShape(output)}, so a target is shaped ${formatShape(output)}${classForm}`, place);
    }
    this.setMode(mode, place);
    try {
      if (mode === "values") {
        if (claimed.length === 0) {
          if (!Number.isFinite(value)) this.fail(`${place.what} is ${value}, not a finite number`, place);
          this.values![i * this.outWidth] = value as number;
        }
        else fillFromNested(value, output, this.values!, i * this.outWidth, place.what);
        return;
      }
      const scratch = new Float64Array(this.classWidth);
      if (claimed.length === 0) {
        if (typeof value !== "number") this.fail(`${place.what} is ${describeJsonValue(value)}, not a class index`, place);
        scratch[0] = value as number;
      } else fillFromNested(value, this.classShape, scratch, 0, place.what);
      for (let k = 0; k < scratch.length; k++) this.putClass(i, k, scratch[k]!, place, claimed.length === 0 ? place.what : `${place.what}${indexPath(this.classShape, k)}`);
    } catch (e) {
      if (e instanceof NestedError) this.fail(e.message, place);
      throw e;
    }
  }

  /** A single number: a CSV row's last column, an IDX label. */
  label(i: number, value: number, place: TargetPlace): void {
    if (this.outWidth === 1) {
      this.setMode("values", place);
      this.values![i] = value;
      return;
    }
    if (this.spec.output.length !== 1) {
      this.fail(`one label per sample cannot fill the network's output ${formatShape(this.spec.output)}: it needs ${this.classWidth} class indices per sample (use a JSON data file)`, place);
    }
    this.setMode(this.classMode(), place);
    this.putClass(i, 0, value, place, place.what);
  }

  result(): Targets {
    if (this.mode !== "classes") return { kind: "values", data: this.values ?? new Float64Array(this.size * this.outWidth) };
    return { kind: "classes", perSample: this.classWidth, data: this.classes! };
  }

  private classMode(): Mode {
    return this.spec.loss === undefined || this.spec.loss === null || this.spec.loss === "cross_entropy" ? "classes" : "onehot";
  }

  private setMode(mode: Mode, place: TargetPlace): void {
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
    throw new DataError(`${place.at}: ${message}`, place.file);
  }
}

/** Flat index → `[a][b]` for a row-major shape. */
export function indexPath(shape: readonly number[], flat: number): string {
  const idx: number[] = new Array<number>(shape.length);
  let rest = flat;
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = rest % shape[d]!;
    rest = Math.floor(rest / shape[d]!);
  }
  return idx.map((i) => `[${i}]`).join("");
}

/** Token ids for an embedding: whole numbers below the vocabulary size. */
export function checkTokenIds(data: Float64Array, input: InputInfo, path: string, file: string, where?: (flat: number) => string): void {
  const v = input.vocabulary!;
  const width = sizeOfShape(input.shape);
  for (let j = 0; j < data.length; j++) {
    const id = data[j]!;
    if (Number.isInteger(id) && id >= 0 && id < v) continue;
    const at = where ? where(j) : `${path}[${Math.floor(j / width)}]${indexPath(input.shape, j % width)}`;
    throw new DataError(`${file}: ${at} = ${id} is not a token id for the embedding's vocabulary of ${v} (a whole number from 0 to ${v - 1})`, file);
  }
}
