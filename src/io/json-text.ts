import { DataError } from "./errors.js";

/**
 * JSON.parse with a usable error: V8's messages do not always give a position, so on failure a
 * small validating scanner finds where the text stops being JSON and says what it expected.
 * The fast path stays the native parser.
 */
export function parseJsonText(text: string, file: string, what = "JSON"): unknown {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  try {
    return JSON.parse(body);
  } catch {
    const found = locateJsonError(body);
    const offset = found?.offset ?? 0;
    const { line, column } = lineColumn(body, offset);
    const reason = found?.message ?? "not valid JSON";
    throw new DataError(`${file}:${line}:${column}: malformed ${what}: ${reason}`, { file, line, column });
  }
}

/** 1-based line and column of a UTF-16 offset. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  const end = Math.min(offset, text.length);
  for (let i = 0; i < end; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: end - lineStart + 1 };
}

class Stop {
  constructor(
    readonly offset: number,
    readonly message: string,
  ) {}
}

/** Where `text` stops being JSON, and what was expected there; `undefined` when it is valid. */
export function locateJsonError(text: string): { offset: number; message: string } | undefined {
  let i = 0;
  const n = text.length;
  const fail = (message: string, at = i): never => {
    throw new Stop(at, message);
  };
  const ws = (): void => {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 32 || c === 9 || c === 10 || c === 13) i++;
      else break;
    }
  };
  const found = (): string => {
    if (i >= n) return "the end of the file";
    const m = /^(NaN|-?Infinity|undefined|[A-Za-z_]+)/.exec(text.slice(i, i + 20));
    return m ? `'${m[1]}'` : `'${text[i]}'`;
  };
  const value = (depth: number): void => {
    if (depth > 1000) fail("nested too deeply");
    ws();
    if (i >= n) fail("unexpected end of file: expected a value");
    const c = text[i]!;
    if (c === "{") return object(depth);
    if (c === "[") return array(depth);
    if (c === '"') return string();
    if (c === "-" || (c >= "0" && c <= "9")) return number();
    for (const word of ["true", "false", "null"]) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return;
      }
    }
    const f = found();
    if (/^'(NaN|-?Infinity)'$/.test(f)) fail(`${f.slice(1, -1)} is not a JSON number (write finite numbers only)`);
    fail(`expected a value, found ${f}`);
  };
  const object = (depth: number): void => {
    i++;
    ws();
    if (text[i] === "}") {
      i++;
      return;
    }
    for (;;) {
      ws();
      if (text[i] !== '"') fail(i >= n ? "unexpected end of file: expected a \"key\"" : `expected a "key" in double quotes, found ${found()}`);
      string();
      ws();
      if (text[i] !== ":") fail(`expected ':' after the key, found ${found()}`);
      i++;
      value(depth + 1);
      ws();
      if (text[i] === ",") {
        i++;
        ws();
        if (text[i] === "}") fail("a trailing comma before '}' is not allowed in JSON");
        continue;
      }
      if (text[i] === "}") {
        i++;
        return;
      }
      fail(i >= n ? "unexpected end of file: expected ',' or '}'" : `expected ',' or '}' after a value, found ${found()}`);
    }
  };
  const array = (depth: number): void => {
    i++;
    ws();
    if (text[i] === "]") {
      i++;
      return;
    }
    for (;;) {
      value(depth + 1);
      ws();
      if (text[i] === ",") {
        i++;
        ws();
        if (text[i] === "]") fail("a trailing comma before ']' is not allowed in JSON");
        continue;
      }
      if (text[i] === "]") {
        i++;
        return;
      }
      fail(i >= n ? "unexpected end of file: expected ',' or ']'" : `expected ',' or ']' after an array element, found ${found()}`);
    }
  };
  const string = (): void => {
    const start = i;
    i++;
    for (;;) {
      if (i >= n) fail("unterminated string", start);
      const c = text.charCodeAt(i);
      if (c === 34) {
        i++;
        return;
      }
      if (c < 32) fail(c === 10 ? "unterminated string (a line break inside quotes)" : "a control character inside a string");
      if (c === 92) {
        const e = text[i + 1];
        if (e === "u") {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) fail("a bad \\u escape in a string");
          i += 6;
          continue;
        }
        if (e === undefined || !'"\\/bfnrt'.includes(e)) fail(`a bad escape '\\${e ?? ""}' in a string`);
        i += 2;
        continue;
      }
      i++;
    }
  };
  const number = (): void => {
    const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(text.slice(i, i + 400));
    if (!m) {
      if (text.startsWith("-Infinity", i)) fail("-Infinity is not a JSON number (write finite numbers only)");
      fail(`a malformed number at ${found()}`);
    }
    const next = text[i + m![0].length];
    if (next !== undefined && /[0-9.eE+\-]/.test(next)) fail(`a malformed number '${text.slice(i, i + m![0].length + 1)}'`);
    i += m![0].length;
  };
  try {
    ws();
    if (i >= n) fail("the file is empty");
    value(0);
    ws();
    if (i < n) fail(`unexpected ${found()} after the end of the JSON value`);
    return undefined;
  } catch (e) {
    if (e instanceof Stop) return { offset: e.offset, message: e.message };
    throw e;
  }
}
