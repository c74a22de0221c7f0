import type { IToken } from "chevrotain";
import { diagnostic } from "../diag/codes.js";
import type { Diagnostics } from "../diag/diagnostic.js";
import { endOfText, spanOfToken, type Span } from "../diag/span.js";
import type { FileAst } from "./ast.js";
import { CstToAst } from "./cst-to-ast.js";
import { parser } from "./parser.js";
import { lexer } from "./tokens.js";

/** Deeper nesting than this is refused before parsing, so no input can overflow the stack. */
export const MAX_NESTING = 64;

export function parse(text: string, diags: Diagnostics): FileAst {
  const lexed = lexer.tokenize(text);
  for (const e of lexed.errors) {
    const span: Span = { line: e.line ?? 1, column: e.column ?? 1, endLine: e.line ?? 1, endColumn: (e.column ?? 1) + Math.max(1, e.length), offset: e.offset, endOffset: e.offset + Math.max(1, e.length) };
    const bad = text.slice(e.offset, e.offset + e.length);
    diags.add(diagnostic("lex-error", span, `unexpected character${e.length > 1 ? "s" : ""} ${JSON.stringify(bad)}`));
  }
  const tooDeep = findTooDeep(lexed.tokens);
  if (tooDeep) {
    diags.add(diagnostic("too-deep", spanOfToken(tooDeep), `nesting deeper than ${MAX_NESTING} levels of braces or parentheses`));
    return { networks: [], blocks: [], trains: [] };
  }
  parser.input = lexed.tokens;
  const cst = parser.file();
  for (const e of parser.errors) {
    diags.add(diagnostic("syntax-error", errorSpan(e.token, (e as { previousToken?: IToken }).previousToken, text), e.message));
  }
  return new CstToAst(text, diags).file(cst);
}

function findTooDeep(tokens: IToken[]): IToken | undefined {
  let depth = 0;
  for (const t of tokens) {
    const name = t.tokenType.name;
    if (name === "LBrace" || name === "LParen") {
      depth++;
      if (depth > MAX_NESTING) return t;
    } else if (name === "RBrace" || name === "RParen") {
      depth = Math.max(0, depth - 1);
    }
  }
  return undefined;
}

function errorSpan(token: IToken, previous: IToken | undefined, text: string): Span {
  if (Number.isFinite(token.startOffset) && token.tokenType.name !== "EOF") return spanOfToken(token);
  if (previous && Number.isFinite(previous.startOffset)) {
    const s = spanOfToken(previous);
    // After a newline, point at the end of that line (where the newline stands), not one past it.
    if (previous.tokenType.name === "Newline") return { line: s.line, column: s.column, endLine: s.line, endColumn: s.column + 1, offset: s.offset, endOffset: s.offset + 1 };
    // One character past the token; at the end of the text, the (empty) end itself.
    if (s.endOffset >= text.length) return endOfText(text);
    return { line: s.endLine, column: s.endColumn, endLine: s.endLine, endColumn: s.endColumn + 1, offset: s.endOffset, endOffset: s.endOffset + 1 };
  }
  return endOfText(text);
}
