import { DataError } from "./errors.js";
import { latin1Decode, utf8Decode, utf8Encode } from "./host.js";

/**
 * A JSON parser over bytes, made for weights and data files: big, regular arrays of numbers.
 * Every regular nested array of numbers (`[[1,2],[3,4]]`, a batch of 28x28x1 images) becomes
 * one `Packed` value — a shape and a range of one shared Float64Array — instead of millions of
 * small JS arrays, so a file of any size parses in one pass with little memory (JSON.parse would
 * make an array per pixel row: five times the memory, and a string limit of 2²⁹ characters).
 * Anything irregular (ragged, mixed) is parsed again as plain JS values, and the callers report
 * it. Errors name the line and column, and say what was expected (`data.json:3:6: malformed JSON:
 * expected ',' or ']' after an array element, found '}'`). Numbers past float64's range (1e999)
 * and nesting deeper than MAX_DEPTH are refused.
 */
export class Packed {
  constructor(
    private readonly store: NumberStore,
    readonly start: number,
    readonly shape: readonly number[],
  ) {}

  get size(): number {
    let n = 1;
    for (const d of this.shape) n *= d;
    return n;
  }

  /** The numbers, row-major (a view: copy before changing). */
  values(): Float64Array {
    return this.store.data.subarray(this.start, this.start + this.size);
  }

  /** Element i along the first axis: a number, or a smaller Packed. */
  element(i: number): Packed | number {
    if (this.shape.length === 1) return this.store.data[this.start + i]!;
    const inner = this.shape.slice(1);
    let width = 1;
    for (const d of inner) width *= d;
    return new Packed(this.store, this.start + i * width, inner);
  }

  /** Plain nested JS arrays (for messages about irregular data; small values only). */
  toArrays(): unknown {
    const data = this.values();
    const build = (depth: number, offset: number): [unknown, number] => {
      if (depth === this.shape.length) return [data[offset]!, offset + 1];
      const out: unknown[] = [];
      let at = offset;
      for (let k = 0; k < this.shape[depth]!; k++) {
        const [v, next] = build(depth + 1, at);
        out.push(v);
        at = next;
      }
      return [out, at];
    };
    return build(0, 0)[0];
  }
}

class NumberStore {
  data = new Float64Array(1 << 12);
  count = 0;

  push(v: number): void {
    if (this.count === this.data.length) {
      const bigger = new Float64Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.count++] = v;
  }
}

/** A parsed JSON object (not an array, packed or plain, and not null). */
export function isJsonObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v) && !(v instanceof Packed);
}

/** What a parsed JSON value is, for messages: `an array`, `null`, `a string`, … */
export function jsonKind(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v) || v instanceof Packed) return "an array";
  if (typeof v === "object") return "an object";
  if (typeof v === "string") return "a string";
  if (typeof v === "number") return "a number";
  if (typeof v === "boolean") return "a boolean";
  return typeof v;
}

/** A JSON value as a message quotes it: `"abc"`, `null`, `true`, `an object`, `an array`. */
export function describeJsonValue(v: unknown): string {
  if (typeof v === "string") {
    const s = JSON.stringify(v);
    return s.length > 24 ? `${s.slice(0, 20)}…"` : s;
  }
  if (typeof v === "boolean" || typeof v === "number") return String(v);
  return jsonKind(v);
}

export interface ParseJsonOptions {
  /** Pack regular number arrays (default true); false gives plain JS values throughout. */
  readonly pack?: boolean;
  /** `JSON` or `JSON header`, in messages. */
  readonly what?: string;
}

/** Parses JSON bytes (UTF-8, an optional BOM); DataError with line and column on a mistake. */
export function parseJsonBytes(bytes: Uint8Array, file: string, options: ParseJsonOptions = {}): unknown {
  const parser = new Parser(bytes);
  try {
    return parser.document(options.pack ?? true);
  } catch (e) {
    if (!(e instanceof Stop)) throw e;
    const { line, column } = lineColumnOfByte(bytes, e.offset);
    throw new DataError(`${file}:${line}:${column}: malformed ${options.what ?? "JSON"}: ${e.message}`, file);
  }
}

/** JSON text parsed into plain JS values (nothing packed), with parseJsonBytes' checks and messages. */
export function parseJson(text: string, file: string, what = "JSON"): unknown {
  return parseJsonBytes(utf8Encode(text), file, { pack: false, what });
}

/** 1-based line and column (in characters) of a byte offset in UTF-8 text. */
function lineColumnOfByte(bytes: Uint8Array, offset: number): { line: number; column: number } {
  let line = 1;
  let column = 1;
  const end = Math.min(offset, bytes.length);
  for (let i = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0; i < end; i++) {
    const b = bytes[i]!;
    if (b === 10) {
      line++;
      column = 1;
    } else if ((b & 0xc0) !== 0x80) column++;
  }
  return { line, column };
}

class Stop {
  constructor(
    readonly offset: number,
    readonly message: string,
  ) {}
}

const NUMBER = Symbol("number");
const PACKED = Symbol("packed");
/** Deeper nesting is refused (no data or weights file needs it). */
const MAX_DEPTH = 512;
/** Exact powers of ten: every one up to 1e22 is a double without rounding. */
const POW10 = Array.from({ length: 23 }, (_, k) => Number(`1e${k}`));

/** Bytes known to be ASCII as a string. */
function asciiText(bytes: Uint8Array): string {
  return bytes.length < 64 ? String.fromCharCode(...bytes) : latin1Decode(bytes);
}

class Parser {
  private i = 0;
  private readonly store = new NumberStore();
  /** Shapes of packed arrays, interned: id → shape; (child shape id, length) → id. */
  private readonly shapes: number[][] = [[]];
  private readonly shapeIds = new Map<number, number>();
  private lastShape = 0;

  constructor(private readonly b: Uint8Array) {
    if (b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) this.i = 3;
  }

  document(pack: boolean): unknown {
    this.ws();
    if (this.i >= this.b.length) this.fail("the file is empty");
    const start = this.store.count;
    const v = this.value(pack, 0);
    this.ws();
    if (this.i < this.b.length) this.fail(`unexpected ${this.found()} after the end of the JSON value`);
    return this.resolve(v, start);
  }

  private resolve(v: unknown, start: number): unknown {
    if (v === NUMBER) return this.store.data[--this.store.count];
    if (v === PACKED) return new Packed(this.store, start, this.shapes[this.lastShape]!);
    return v;
  }

  private fail(message: string, at = this.i): never {
    throw new Stop(at, message);
  }

  private ws(): void {
    const b = this.b;
    let i = this.i;
    while (i < b.length) {
      const c = b[i]!;
      if (c === 32 || c === 10 || c === 13 || c === 9) i++;
      else break;
    }
    this.i = i;
  }

  private found(): string {
    if (this.i >= this.b.length) return "the end of the file";
    let end = this.i;
    while (end < this.b.length && end - this.i < 12 && /[A-Za-z_]/.test(String.fromCharCode(this.b[end]!))) end++;
    if (end > this.i) return `'${String.fromCharCode(...this.b.subarray(this.i, end))}'`;
    const c = this.b[this.i]!;
    if (c < 0x80) return `'${String.fromCharCode(c)}'`;
    return "a non-ASCII character";
  }

  private value(pack: boolean, depth: number): unknown {
    if (depth > MAX_DEPTH) this.fail("nested too deeply");
    this.ws();
    const b = this.b;
    if (this.i >= b.length) this.fail("unexpected end of file: expected a value");
    const c = b[this.i]!;
    if (c === 0x5b) return pack ? this.packedArray(depth) : this.plainArray(depth);
    if (c === 0x7b) return this.object(pack, depth);
    if (c === 0x22) return this.string();
    if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      const v = this.number();
      if (!pack) return v;
      this.store.push(v);
      return NUMBER;
    }
    if (this.word("true")) return true;
    if (this.word("false")) return false;
    if (this.word("null")) return null;
    const f = this.found();
    if (f === "'NaN'" || f === "'Infinity'") this.fail(`${f.slice(1, -1)} is not a JSON number (write finite numbers only)`);
    return this.fail(`expected a value, found ${f}`);
  }

  private word(w: string): boolean {
    for (let k = 0; k < w.length; k++) if (this.b[this.i + k] !== w.charCodeAt(k)) return false;
    this.i += w.length;
    return true;
  }

  private object(pack: boolean, depth: number): Record<string, unknown> {
    // Keys such as "__proto__" or "constructor" are plain keys here, as JSON.parse makes them.
    const out = Object.create(null) as Record<string, unknown>;
    this.i++;
    this.ws();
    if (this.b[this.i] === 0x7d) {
      this.i++;
      return out;
    }
    for (;;) {
      this.ws();
      if (this.b[this.i] !== 0x22) this.fail(this.i >= this.b.length ? 'unexpected end of file: expected a "key"' : `expected a "key" in double quotes, found ${this.found()}`);
      const key = this.string();
      this.ws();
      if (this.b[this.i] !== 0x3a) this.fail(`expected ':' after the key, found ${this.found()}`);
      this.i++;
      const start = this.store.count;
      out[key] = this.resolve(this.value(pack, depth + 1), start);
      this.ws();
      const c = this.b[this.i];
      if (c === 0x2c) {
        this.i++;
        this.ws();
        if (this.b[this.i] === 0x7d) this.fail("a trailing comma before '}' is not allowed in JSON");
        continue;
      }
      if (c === 0x7d) {
        this.i++;
        return out;
      }
      this.fail(this.i >= this.b.length ? "unexpected end of file: expected ',' or '}'" : `expected ',' or '}' after a value, found ${this.found()}`);
    }
  }

  /** `[`…`]` where every element must be parsed already; returns PACKED or plain values. */
  private packedArray(depth: number): unknown {
    const startPos = this.i;
    const startCount = this.store.count;
    this.i++;
    let length = 0;
    /** 0: no element yet, 1: numbers, 2: packed arrays of `childShape`. */
    let mode = 0;
    let childShape = -1;
    this.ws();
    if (this.b[this.i] === 0x5d) {
      this.i++;
      this.lastShape = this.intern(0, 0);
      return PACKED;
    }
    for (;;) {
      const v = this.value(true, depth + 1);
      let regular: boolean;
      if (v === NUMBER) {
        regular = mode !== 2;
        mode = 1;
      } else if (v === PACKED) {
        regular = mode === 0 || (mode === 2 && this.lastShape === childShape);
        mode = 2;
        childShape = this.lastShape;
      } else regular = false;
      if (!regular) {
        // Irregular: parse this array again as plain values (its numbers leave the store).
        this.store.count = startCount;
        this.i = startPos;
        return this.plainArray(depth);
      }
      length++;
      this.ws();
      const c = this.b[this.i];
      if (c === 0x2c) {
        this.i++;
        this.ws();
        if (this.b[this.i] === 0x5d) this.fail("a trailing comma before ']' is not allowed in JSON");
        continue;
      }
      if (c === 0x5d) {
        this.i++;
        this.lastShape = this.intern(mode === 1 ? 0 : childShape, length);
        return PACKED;
      }
      this.fail(this.i >= this.b.length ? "unexpected end of file: expected ',' or ']'" : `expected ',' or ']' after an array element, found ${this.found()}`);
    }
  }

  private plainArray(depth: number): unknown[] {
    const out: unknown[] = [];
    this.i++;
    this.ws();
    if (this.b[this.i] === 0x5d) {
      this.i++;
      return out;
    }
    for (;;) {
      out.push(this.value(false, depth + 1));
      this.ws();
      const c = this.b[this.i];
      if (c === 0x2c) {
        this.i++;
        this.ws();
        if (this.b[this.i] === 0x5d) this.fail("a trailing comma before ']' is not allowed in JSON");
        continue;
      }
      if (c === 0x5d) {
        this.i++;
        return out;
      }
      this.fail(this.i >= this.b.length ? "unexpected end of file: expected ',' or ']'" : `expected ',' or ']' after an array element, found ${this.found()}`);
    }
  }

  /** The id of the shape [length, ...shapes[child]]. */
  private intern(child: number, length: number): number {
    const key = child * 4294967296 + length;
    let id = this.shapeIds.get(key);
    if (id === undefined) {
      id = this.shapes.length;
      this.shapes.push([length, ...this.shapes[child]!]);
      this.shapeIds.set(key, id);
    }
    return id;
  }

  private string(): string {
    const b = this.b;
    const start = this.i;
    let i = start + 1;
    let plain = true;
    for (;;) {
      if (i >= b.length) this.fail("unterminated string", start);
      const c = b[i]!;
      if (c === 0x22) break;
      if (c < 0x20) this.fail(c === 10 ? "unterminated string (a line break inside quotes)" : "a control character inside a string", i);
      if (c === 0x5c) {
        plain = false;
        const e = b[i + 1];
        if (e === 0x75) {
          for (let k = 2; k < 6; k++) {
            const h = b[i + k];
            const hex = h !== undefined && ((h >= 0x30 && h <= 0x39) || (h >= 0x41 && h <= 0x46) || (h >= 0x61 && h <= 0x66));
            if (!hex) this.fail("a bad \\u escape in a string", i);
          }
          i += 6;
          continue;
        }
        if (e === undefined || !'"\\/bfnrt'.includes(String.fromCharCode(e))) this.fail(`a bad escape '\\${e === undefined ? "" : String.fromCharCode(e)}' in a string`, i);
        i += 2;
        continue;
      }
      if (c >= 0x80) plain = false;
      i++;
    }
    this.i = i + 1;
    const body = b.subarray(start + 1, i);
    if (plain) return asciiText(body);
    const text = utf8Decode(body, true);
    if (text === undefined) return this.fail("invalid UTF-8 inside a string", start);
    return JSON.parse(`"${text}"`) as string;
  }

  private number(): number {
    const b = this.b;
    const start = this.i;
    let i = start;
    let negative = false;
    if (b[i] === 0x2d) {
      negative = true;
      i++;
    }
    let mantissa = 0;
    let digits = 0;
    let exact = true;
    let c = b[i];
    if (c === 0x30) {
      i++;
      c = b[i];
      if (c !== undefined && c >= 0x30 && c <= 0x39) this.fail("a number may not start with 0 (write 7, not 07)", start);
    } else if (c !== undefined && c >= 0x31 && c <= 0x39) {
      while (c !== undefined && c >= 0x30 && c <= 0x39) {
        if (digits < 16) mantissa = mantissa * 10 + (c - 0x30);
        else exact = false;
        digits++;
        i++;
        c = b[i];
      }
    } else {
      if (String.fromCharCode(...b.subarray(i, i + 8)) === "Infinity") this.fail("-Infinity is not a JSON number (write finite numbers only)", start);
      this.fail("a malformed number: '-' must be followed by a digit", start);
    }
    let scale = digits > 16 ? digits - 16 : 0;
    if (c === 0x2e) {
      i++;
      c = b[i];
      if (c === undefined || c < 0x30 || c > 0x39) this.fail("a malformed number: a digit must follow '.'", i);
      while (c !== undefined && c >= 0x30 && c <= 0x39) {
        if (mantissa === 0 && c === 0x30) scale--;
        else if (digits < 16) {
          mantissa = mantissa * 10 + (c - 0x30);
          digits++;
          scale--;
        } else exact = false;
        i++;
        c = b[i];
      }
    }
    let exponent = 0;
    if (c === 0x65 || c === 0x45) {
      i++;
      c = b[i];
      let expNegative = false;
      if (c === 0x2b || c === 0x2d) {
        expNegative = c === 0x2d;
        i++;
        c = b[i];
      }
      if (c === undefined || c < 0x30 || c > 0x39) this.fail("a malformed number: a digit must follow the exponent's 'e'", i);
      while (c !== undefined && c >= 0x30 && c <= 0x39) {
        if (exponent < 100000) exponent = exponent * 10 + (c - 0x30);
        i++;
        c = b[i];
      }
      if (expNegative) exponent = -exponent;
    }
    this.i = i;
    const e10 = scale + exponent;
    // Clinger's fast path: an exact mantissa below 2^53 times an exact power of ten rounds once.
    if (exact && mantissa <= 9007199254740992 && e10 >= -22 && e10 <= 22) {
      const v = e10 >= 0 ? mantissa * POW10[e10]! : mantissa / POW10[-e10]!;
      return negative ? -v : v;
    }
    const v = Number(asciiText(b.subarray(start, i)));
    if (!Number.isFinite(v)) this.fail("a number too large for float64", start);
    return v;
  }
}
