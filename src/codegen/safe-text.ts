/**
 * Text from a `.dl` file (names, statements, the file name, paths) only ever reaches generated
 * code through these functions, so it can never become code. The same rules hold for every
 * language dlc generates, now TypeScript and JavaScript, later Python or ONNX names:
 * - in a string literal, quotes, backslashes and line breaks (U+2028 and U+2029 included, which
 *   end a line in older JavaScript engines) are escaped, and so is every `<`, as `\u003c`;
 * - in a comment, only printable ASCII stays, `*\/` is broken up, and a `<` that could start an
 *   HTML tag or comment is followed by a space.
 * The `<` rules keep `</script`, `<script` and `<!--` out of the code (case-insensitively), so a
 * web page that inlines a generated module in a <script> element cannot be broken out of.
 */

/**
 * An escaped string literal (JSON's escaping, which JavaScript, TypeScript and Python read
 * alike) made safe to inline in HTML: `<`, U+2028 and U+2029 as \u escapes. Also right for any
 * JSON text, whose `<` can only be inside strings.
 */
export function scriptSafe(escaped: string): string {
  return escaped.replace(/</g, "\\u003c").replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029");
}

/** A string literal holding exactly `s`. */
export function literal(s: string): string {
  return scriptSafe(JSON.stringify(s));
}

/** A JSON value as code (an object literal of plain data), its strings as literal() writes them. */
export function jsonCode(value: unknown): string {
  return scriptSafe(JSON.stringify(value));
}

/** A `<` that could open an HTML tag, end tag or comment (`<s`, `</`, `<!`, `<?`). */
const TAG_OPENING = /<(?=[A-Za-z/!?])/g;

/** Text for a `//` or `/* *\/` comment: printable ASCII only (a line break would end the comment), no `*\/`, no tag openings. */
export function commentText(s: string): string {
  return s.replace(/[^\x20-\x7e]/g, "?").replace(/\*\//g, "* /").replace(TAG_OPENING, "< ");
}

/**
 * A file name as the URL in a `//# sourceMappingURL=` comment: percent-encoded (RFC 3986), so
 * the comment stays one line and holds no `<`, and a browser's devtools still find the file.
 */
export function urlInComment(fileName: string): string {
  return encodeURIComponent(fileName);
}
