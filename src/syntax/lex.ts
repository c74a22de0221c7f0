import type { ILexingError, IToken } from "chevrotain";
import { lexer } from "./tokens.js";

/** More tokens than this and the file is refused before parsing (~150 bytes each while lexed). */
export const MAX_TOKENS = 5_000_000;
/** More unexpected characters than this and lexing stops (a binary file has one every few bytes). */
export const MAX_LEX_ERRORS = 100;

/** The text is lexed in pieces of about this many characters, each ending at a newline. */
const PIECE = 1 << 20;

export type Lexed =
  | { readonly tokens: IToken[]; readonly errors: ILexingError[]; readonly stopped?: undefined }
  /** Lexing stopped: too many tokens or errors; `at` is where. */
  | { readonly tokens?: undefined; readonly errors: ILexingError[]; readonly stopped: "tokens" | "errors"; readonly at: ILexingError };

/**
 * The lexer's tokens for `text`, read a piece at a time so that a file of too many tokens (or
 * too many bad characters) is stopped after a bounded amount of work and memory rather than
 * lexed whole. No token spans a newline but the newline itself, so lexing the pieces gives
 * exactly the tokens of lexing the whole; only their positions are shifted back in place.
 */
export function lex(text: string, maxTokens = MAX_TOKENS): Lexed {
  const tokens: IToken[] = [];
  const errors: ILexingError[] = [];
  let offset = 0;
  let line = 0; // lines before the piece
  while (offset < text.length) {
    const cut = text.indexOf("\n", Math.min(text.length, offset + PIECE) - 1);
    const end = cut < 0 ? text.length : cut + 1;
    const piece = lexer.tokenize(offset === 0 && end === text.length ? text : text.slice(offset, end));
    for (const t of piece.tokens) {
      t.startOffset += offset;
      if (t.endOffset !== undefined) t.endOffset += offset;
      if (t.startLine !== undefined) t.startLine += line;
      if (t.endLine !== undefined) t.endLine += line;
      tokens.push(t);
    }
    for (const e of piece.errors) {
      errors.push({ ...e, offset: e.offset + offset, line: e.line === undefined ? undefined : e.line + line });
      if (errors.length > MAX_LEX_ERRORS) return { errors: errors.slice(0, MAX_LEX_ERRORS), stopped: "errors", at: errors[MAX_LEX_ERRORS]! };
    }
    if (tokens.length > maxTokens) {
      const t = tokens[maxTokens]!;
      return { errors, stopped: "tokens", at: { offset: t.startOffset, line: t.startLine, column: t.startColumn, length: t.image.length, message: "" } };
    }
    for (let i = text.indexOf("\n", offset); i >= 0 && i < end; i = text.indexOf("\n", i + 1)) line++;
    offset = end;
  }
  return { tokens, errors };
}
