import { DataError } from "./errors.js";

/** As src/io/json-bytes.ts: deeper nesting is refused (no data or weights file needs it). */
const MAX_DEPTH = 512;

/**
 * JSON with located messages. The fast path is the platform's JSON.parse; only when it fails,
 * or takes what src/io/json-bytes.ts refuses (a number beyond float64's range such as 1e999,
 * which JSON.parse makes Infinity; nesting deeper than MAX_DEPTH), does a small scanner walk
 * the text to say where and what, in json-bytes.ts's words (`data.json:3:6: malformed JSON:
 * expected ',' or ']' after an array element, found '}'`).
 */
export function parseJson(text: string, file: string, what = "JSON"): unknown {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  let value: unknown;
  try {
    value = JSON.parse(body) as unknown;
  } catch {
    throw malformed(body, file, what, new JsonScanner(body).firstProblem());
  }
  if (mayHoldHugeNumber(body) || nestsDeeperThan(body, MAX_DEPTH)) {
    const stop = new JsonScanner(body).firstProblem();
    if (stop) throw malformed(body, file, what, stop);
  }
  return value;
}

function malformed(body: string, file: string, what: string, stop: JsonStop | undefined): DataError {
  const { line, column } = lineColumnAt(body, stop?.at ?? 0);
  return new DataError(`${file}:${line}:${column}: malformed ${what}: ${stop?.message ?? "not valid JSON"}`, file);
}

/**
 * Whether some number could lie beyond float64's range: only one with an exponent of three
 * digits or more, or a run of 300 digits, can (1.8e308 is the smallest), so ordinary files
 * skip the scanner.
 */
function mayHoldHugeNumber(text: string): boolean {
  return /[eE][+-]?\d{3}|\d{300}/.test(text);
}

/** Whether brackets outside strings nest deeper than `limit` (JSON.parse takes any depth). */
function nestsDeeperThan(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > limit) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

/** 1-based line and column (in characters) of an offset. */
function lineColumnAt(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let column = 1;
  const end = Math.min(offset, text.length);
  for (let i = 0; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === 10) {
      line++;
      column = 1;
    } else if (c < 0xdc00 || c > 0xdfff) column++;
  }
  return { line, column };
}

class JsonStop {
  constructor(
    readonly at: number,
    readonly message: string,
  ) {}
}

/** Finds the first mistake in text JSON.parse refused (the messages of src/io/json-bytes.ts). */
class JsonScanner {
  private i = 0;

  constructor(private readonly s: string) {}

  firstProblem(): JsonStop | undefined {
    try {
      this.ws();
      if (this.i >= this.s.length) this.fail("the file is empty");
      this.value(0);
      this.ws();
      if (this.i < this.s.length) this.fail(`unexpected ${this.found()} after the end of the JSON value`);
      return undefined;
    } catch (e) {
      if (e instanceof JsonStop) return e;
      throw e;
    }
  }

  private fail(message: string, at = this.i): never {
    throw new JsonStop(at, message);
  }

  private ws(): void {
    while (this.i < this.s.length && " \n\r\t".includes(this.s[this.i]!)) this.i++;
  }

  private found(): string {
    if (this.i >= this.s.length) return "the end of the file";
    const word = /^[A-Za-z_]{1,12}/.exec(this.s.slice(this.i, this.i + 12));
    if (word) return `'${word[0]}'`;
    const c = this.s.charCodeAt(this.i);
    return c < 0x80 ? `'${this.s[this.i]}'` : "a non-ASCII character";
  }

  private value(depth: number): void {
    if (depth > MAX_DEPTH) this.fail("nested too deeply");
    this.ws();
    if (this.i >= this.s.length) this.fail("unexpected end of file: expected a value");
    const c = this.s[this.i]!;
    if (c === "[") return this.list(depth, "]", "after an array element", () => this.value(depth + 1));
    if (c === "{") return this.list(depth, "}", "after a value", () => this.member(depth));
    if (c === '"') return this.string();
    if (c === "-" || (c >= "0" && c <= "9")) return this.number();
    for (const w of ["true", "false", "null"]) {
      if (this.s.startsWith(w, this.i)) {
        this.i += w.length;
        return;
      }
    }
    const f = this.found();
    if (f === "'NaN'" || f === "'Infinity'") this.fail(`${f.slice(1, -1)} is not a JSON number (write finite numbers only)`);
    this.fail(`expected a value, found ${f}`);
  }

  /** `[…]` or `{…}`: elements separated by commas, no trailing comma. */
  private list(_depth: number, close: "]" | "}", after: string, element: () => void): void {
    this.i++;
    this.ws();
    if (this.s[this.i] === close) {
      this.i++;
      return;
    }
    for (;;) {
      element();
      this.ws();
      const c = this.s[this.i];
      if (c === ",") {
        this.i++;
        this.ws();
        if (this.s[this.i] === close) this.fail(`a trailing comma before '${close}' is not allowed in JSON`);
        continue;
      }
      if (c === close) {
        this.i++;
        return;
      }
      this.fail(this.i >= this.s.length ? `unexpected end of file: expected ',' or '${close}'` : `expected ',' or '${close}' ${after}, found ${this.found()}`);
    }
  }

  private member(depth: number): void {
    this.ws();
    if (this.s[this.i] !== '"') this.fail(this.i >= this.s.length ? 'unexpected end of file: expected a "key"' : `expected a "key" in double quotes, found ${this.found()}`);
    this.string();
    this.ws();
    if (this.s[this.i] !== ":") this.fail(`expected ':' after the key, found ${this.found()}`);
    this.i++;
    this.value(depth + 1);
  }

  private string(): void {
    const start = this.i;
    let i = start + 1;
    for (;;) {
      if (i >= this.s.length) this.fail("unterminated string", start);
      const c = this.s.charCodeAt(i);
      if (c === 0x22) break;
      if (c < 0x20) this.fail(c === 10 ? "unterminated string (a line break inside quotes)" : "a control character inside a string", i);
      if (c === 0x5c) {
        const e = this.s[i + 1];
        if (e === "u") {
          if (!/^[0-9A-Fa-f]{4}$/.test(this.s.slice(i + 2, i + 6))) this.fail("a bad \\u escape in a string", i);
          i += 6;
          continue;
        }
        if (e === undefined || !'"\\/bfnrt'.includes(e)) this.fail(`a bad escape '\\${e ?? ""}' in a string`, i);
        i += 2;
        continue;
      }
      i++;
    }
    this.i = i + 1;
  }

  private number(): void {
    const s = this.s;
    const start = this.i;
    let i = start;
    const digit = (k: number): boolean => s[k] !== undefined && s[k]! >= "0" && s[k]! <= "9";
    if (s[i] === "-") i++;
    if (s[i] === "0") {
      i++;
      if (digit(i)) this.fail("a number may not start with 0 (write 7, not 07)", start);
    } else if (digit(i)) {
      while (digit(i)) i++;
    } else {
      if (s.startsWith("Infinity", i)) this.fail("-Infinity is not a JSON number (write finite numbers only)", start);
      this.fail("a malformed number: '-' must be followed by a digit", start);
    }
    if (s[i] === ".") {
      i++;
      if (!digit(i)) this.fail("a malformed number: a digit must follow '.'", i);
      while (digit(i)) i++;
    }
    if (s[i] === "e" || s[i] === "E") {
      i++;
      if (s[i] === "+" || s[i] === "-") i++;
      if (!digit(i)) this.fail("a malformed number: a digit must follow the exponent's 'e'", i);
      while (digit(i)) i++;
    }
    if (!Number.isFinite(Number(s.slice(start, i)))) this.fail("a number too large for float64", start);
    this.i = i;
  }
}
