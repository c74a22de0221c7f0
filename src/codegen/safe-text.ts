/**
 * Text from a `.dl` file (names, statements, the file name) only ever reaches generated code
 * through these two functions, so it can never become code.
 */

/** A string literal: JSON escaping plus U+2028/U+2029, which end a line in older engines. */
export function literal(s: string): string {
  return JSON.stringify(s).replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029");
}

/** Text for a `//` comment: printable ASCII only (a line break would end the comment), no `*\/`. */
export function commentText(s: string): string {
  return s.replace(/[^\x20-\x7e]/g, "?").replace(/\*\//g, "* /");
}
