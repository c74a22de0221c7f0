import type { CstNode, ILexingError, IToken } from "chevrotain";
import { diagnostic } from "../diag/codes.js";
import type { Diagnostics } from "../diag/diagnostic.js";
import { endOfText, spanOfToken, type Span } from "../diag/span.js";
import type { FileAst } from "./ast.js";
import { CstToAst } from "./cst-to-ast.js";
import { MAX_SYNTAX_ERRORS, parser, TooManySyntaxErrors } from "./parser.js";
import { lex, MAX_LEX_ERRORS, MAX_TOKENS } from "./lex.js";

/** Deeper nesting than this is refused before parsing, so no input can overflow the stack. */
export const MAX_NESTING = 64;
/** More operators than this in one statement are refused too: evaluation recurses once per operator. */
export const MAX_OPERATORS = 1000;
/** Tokens in one statement (between separators or braces): a statement's CST, ~1 KB a token, is built whole. */
export const MAX_STATEMENT_TOKENS = 100_000;
/**
 * Statements in a file (those in blocks, bodies and `train` included): the AST of each is kept,
 * ~1 KB apiece. A network of MAX_NODES layers written one a line fits.
 */
export const MAX_STATEMENTS = 1_200_000;

const empty: FileAst = { networks: [], blocks: [], trains: [] };

/** The limits above, as `parse` applies them (tests lower them to reach them cheaply). */
export interface ParseLimits {
  readonly maxTokens: number;
  readonly maxStatements: number;
}

const LIMITS: ParseLimits = { maxTokens: MAX_TOKENS, maxStatements: MAX_STATEMENTS };

export function parse(text: string, diags: Diagnostics, limits: ParseLimits = LIMITS): FileAst {
  const lexed = lex(text, limits.maxTokens);
  for (const e of lexed.errors) {
    const bad = text.slice(e.offset, e.offset + e.length);
    const hint = /[^\x00-\x7f]/.test(bad) && /\p{L}/u.test(bad) ? ": names use only ASCII letters, digits and '_'" : "";
    diags.add(diagnostic("lex-error", lexErrorSpan(e), `unexpected character${e.length > 1 ? "s" : ""} ${JSON.stringify(bad)}${hint}`));
  }
  if (lexed.stopped !== undefined) {
    if (lexed.stopped === "errors") diags.add(diagnostic("lex-error", lexErrorSpan(lexed.at), `too many unexpected characters: reading stopped after ${MAX_LEX_ERRORS}; is this a .dl file?`));
    else diags.add(diagnostic("too-large", lexErrorSpan(lexed.at), `the file has more than ${limits.maxTokens.toLocaleString("en-US")} tokens; dlc checks files of up to that many`));
    return empty;
  }
  const tooDeep = findTooDeep(lexed.tokens);
  if (tooDeep) {
    diags.add(diagnostic(tooDeep.code ?? "too-deep", spanOfToken(tooDeep.token), tooDeep.message));
    return empty;
  }
  const converter = new CstToAst(text, diags);
  let statements = 0;
  parser.input = lexed.tokens;
  parser.settleStatement = (node) => {
    if (++statements > limits.maxStatements) throw new TooManyStatements(node);
    return converter.settle(node);
  };
  let cst: CstNode | undefined;
  let stoppedAt: TooManySyntaxErrors | undefined;
  try {
    cst = parser.file();
  } catch (e) {
    if (e instanceof TooManyStatements) {
      parser.input = [];
      diags.add(diagnostic("too-large", converter.spanOf(e.node) ?? endOfText(text), `the file has more than ${limits.maxStatements.toLocaleString("en-US")} statements; dlc checks files of up to that many`));
      return empty;
    }
    if (!(e instanceof TooManySyntaxErrors)) throw e;
    stoppedAt = e;
  } finally {
    parser.settleStatement = undefined;
  }
  for (const e of parser.errors) {
    diags.add(diagnostic("syntax-error", errorSpan(e.token, (e as { previousToken?: IToken }).previousToken, text), e.message));
  }
  parser.input = []; // the shared parser would otherwise keep this file's tokens alive
  if (!cst || stoppedAt) {
    const span = stoppedAt ? errorSpan(stoppedAt.token, stoppedAt.previousToken, text) : endOfText(text);
    diags.add(diagnostic("syntax-error", span, `too many syntax errors: parsing stopped after ${MAX_SYNTAX_ERRORS}; fix the first ones and check again`));
    return empty;
  }
  return converter.file(cst);
}

/** Thrown out of the parser at the statement past MAX_STATEMENTS. */
class TooManyStatements extends Error {
  constructor(readonly node: CstNode) {
    super("too many statements");
  }
}

function lexErrorSpan(e: ILexingError): Span {
  const length = Math.max(1, e.length);
  return { line: e.line ?? 1, column: e.column ?? 1, endLine: e.line ?? 1, endColumn: (e.column ?? 1) + length, offset: e.offset, endOffset: e.offset + length };
}

interface TooDeep {
  readonly token: IToken;
  readonly message: string;
  /** "too-deep" unless said. */
  readonly code?: "too-large";
}

/**
 * What would recurse too deeply in the parser or in the passes after it, found on the tokens
 * before parsing: braces and parentheses nested past MAX_NESTING (a run of unary minus signs
 * nests too: `- - x` is a negation of a negation), or a statement of more than MAX_OPERATORS
 * operators (`1+1+…` is a left-leaning tree as deep as it is long).
 */
function findTooDeep(tokens: IToken[]): TooDeep | undefined {
  const nesting = `nesting deeper than ${MAX_NESTING} levels of braces or parentheses`;
  const negations = `nesting deeper than ${MAX_NESTING} levels of braces, parentheses and unary minus signs`;
  const opened: number[] = []; // levels each open brace or parenthesis added (itself + the minus signs before it)
  let depth = 0;
  let minuses = 0; // unary minus signs in a row, waiting for their operand
  let operators = 0; // in the current statement
  let inStatement = 0; // tokens of the current statement
  let previous: string | undefined;
  for (const t of tokens) {
    const name = t.tokenType.name;
    if (name === "Minus" && !endsOperand(previous)) {
      minuses++;
      if (depth + minuses > MAX_NESTING) return { token: t, message: negations };
    } else if (name === "LBrace" || name === "LParen") {
      const levels = 1 + minuses;
      opened.push(levels);
      depth += levels;
      minuses = 0;
      if (depth > MAX_NESTING) return { token: t, message: levels > 1 ? negations : nesting };
    } else {
      if (name === "RBrace" || name === "RParen") depth -= opened.pop() ?? 0;
      minuses = 0;
    }
    if (name === "Newline" || name === "Semicolon" || name === "LBrace" || name === "RBrace") inStatement = 0;
    else if (++inStatement > MAX_STATEMENT_TOKENS) return { token: t, code: "too-large", message: `a statement of more than ${MAX_STATEMENT_TOKENS.toLocaleString("en-US")} tokens is too long to check` };
    if (name === "Plus" || name === "Minus" || name === "Star" || name === "Slash") {
      if (++operators > MAX_OPERATORS) return { token: t, message: `a statement with more than ${MAX_OPERATORS} arithmetic operators is too deep to evaluate` };
    } else if (name === "Newline" || name === "Semicolon" || name === "LBrace" || name === "RBrace") {
      operators = 0;
    }
    previous = name;
  }
  return undefined;
}

/** Whether a token of this type can end an operand, so that a '-' after it subtracts. */
function endsOperand(name: string | undefined): boolean {
  return name === "Integer" || name === "Decimal" || name === "Identifier" || name === "Dim" || name === "RParen";
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
