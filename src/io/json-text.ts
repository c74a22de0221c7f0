import { parseJsonBytes } from "./json-bytes.js";

/**
 * Parses JSON text into plain JS values, with the same located messages as the byte parser
 * (`file:2:14: malformed JSON: expected ',' or ']' after an array element, found '}'`).
 */
export function parseJsonText(text: string, file: string, what = "JSON"): unknown {
  return parseJsonBytes(Buffer.from(text, "utf8"), file, { pack: false, what });
}
