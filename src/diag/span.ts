/**
 * A region of a source file. Lines and columns are 1-based; `endColumn` is exclusive
 * (one past the last character), so a one-character token at 3:5 has endColumn 6.
 * Chevrotain's `endOffset`/`endColumn` are inclusive: convert with `spanOfTokens` only.
 */
export interface Span {
  readonly line: number;
  readonly column: number;
  readonly endLine: number;
  readonly endColumn: number;
  readonly offset: number;
  readonly endOffset: number; // exclusive
}

interface TokenLike {
  startOffset: number;
  endOffset?: number;
  startLine?: number;
  startColumn?: number;
  endLine?: number;
  endColumn?: number;
  image: string;
}

export function spanOfToken(token: TokenLike): Span {
  return spanOfTokens(token, token);
}

export function spanOfTokens(first: TokenLike, last: TokenLike): Span {
  const line = first.startLine ?? 1;
  const column = first.startColumn ?? 1;
  const endLine = last.endLine ?? last.startLine ?? line;
  const lastStartColumn = last.startColumn ?? column;
  const endColumn = (last.endColumn ?? lastStartColumn + Math.max(0, last.image.length - 1)) + 1;
  const endOffset = (last.endOffset ?? last.startOffset + last.image.length - 1) + 1;
  // `| 0`: the token's fields come out of Chevrotain as doubles (recovery gives some tokens NaN
  // positions); stored as they are, they made every span field a boxed number of 16 more bytes,
  // 42 of them per `dense 16 relu` line (bench/RESULTS.md). Small integers are stored in place.
  return { line: line | 0, column: column | 0, endLine: endLine | 0, endColumn: endColumn | 0, offset: first.startOffset | 0, endOffset: endOffset | 0 };
}

export function joinSpans(a: Span, b: Span): Span {
  const first = a.offset <= b.offset ? a : b;
  const last = a.endOffset >= b.endOffset ? a : b;
  return {
    line: first.line,
    column: first.column,
    offset: first.offset,
    endLine: last.endLine,
    endColumn: last.endColumn,
    endOffset: last.endOffset,
  };
}

/** The span of the whole text's end, for "unexpected end of input" style messages. */
export function endOfText(text: string): Span {
  const lines = text.split("\n");
  const line = lines.length;
  const column = (lines[lines.length - 1]?.length ?? 0) + 1;
  return { line, column, endLine: line, endColumn: column, offset: text.length, endOffset: text.length };
}

export function formatPosition(span: Span): string {
  return `${span.line}:${span.column}`;
}
