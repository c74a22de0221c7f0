import type { TokenType } from "chevrotain";
import { createToken, Lexer } from "./chevrotain.js";

// A byte-order mark (U+FEFF, which some editors put first in a UTF-8 file) is layout too.
export const WhiteSpace = createToken({ name: "WhiteSpace", pattern: /[ \t\r\f\v\uFEFF]+/, group: Lexer.SKIPPED });
export const Comment = createToken({ name: "Comment", pattern: /(?:#|\/\/)[^\n]*/, group: Lexer.SKIPPED });
export const Newline = createToken({ name: "Newline", pattern: /\n/, line_breaks: true, label: "newline" });
export const Semicolon = createToken({ name: "Semicolon", pattern: /;/, label: "';'" });

export const LBrace = createToken({ name: "LBrace", pattern: /\{/, label: "'{'" });
export const RBrace = createToken({ name: "RBrace", pattern: /\}/, label: "'}'" });
export const LParen = createToken({ name: "LParen", pattern: /\(/, label: "'('" });
export const RParen = createToken({ name: "RParen", pattern: /\)/, label: "')'" });
export const Comma = createToken({ name: "Comma", pattern: /,/, label: "','" });
export const Colon = createToken({ name: "Colon", pattern: /:/, label: "':'" });
export const Equals = createToken({ name: "Equals", pattern: /=/, label: "'='" });
export const Plus = createToken({ name: "Plus", pattern: /\+/, label: "'+'" });
export const Minus = createToken({ name: "Minus", pattern: /-/, label: "'-'" });
export const Star = createToken({ name: "Star", pattern: /\*/, label: "'*'" });
export const Slash = createToken({ name: "Slash", pattern: /\//, label: "'/'" });

// Order matters: a dimension literal and a decimal both start like an integer.
export const Dim = createToken({ name: "Dim", pattern: /\d+(?:x\d+)+/, label: "dimension (e.g. 5x5)" });
export const Decimal = createToken({
  name: "Decimal",
  pattern: /\d+\.\d+(?:[eE][+-]?\d+)?|\d+[eE][+-]?\d+|\.\d+(?:[eE][+-]?\d+)?/,
  label: "number",
});
export const Integer = createToken({ name: "Integer", pattern: /\d+/, label: "integer" });

export const Identifier = createToken({ name: "Identifier", pattern: /[A-Za-z_][A-Za-z0-9_]*/, label: "name" });

function keyword(word: string): TokenType {
  return createToken({ name: word[0]!.toUpperCase() + word.slice(1), pattern: new RegExp(word), longer_alt: Identifier, label: `'${word}'` });
}

export const Network = keyword("network");
export const Block = keyword("block");
export const Train = keyword("train");
export const Layer = keyword("layer");
export const Repeat = keyword("repeat");
export const Residual = keyword("residual");
export const Shortcut = keyword("shortcut");
export const Parallel = keyword("parallel");
export const Branch = keyword("branch");

export const keywords = [Network, Block, Train, Layer, Repeat, Residual, Shortcut, Parallel, Branch];

export const allTokens: TokenType[] = [
  WhiteSpace,
  Comment,
  Newline,
  Semicolon,
  LBrace,
  RBrace,
  LParen,
  RParen,
  Comma,
  Colon,
  Equals,
  Plus,
  Minus,
  Star,
  Slash,
  Dim,
  Decimal,
  Integer,
  ...keywords,
  Identifier,
];

/**
 * Lines end at "\n" only, as statements do: a "\r" (of a CRLF file) is whitespace at the end
 * of its line, never a line of its own, so CRLF files get the same line numbers as LF ones.
 */
export const lexer = new Lexer(allTokens, {
  positionTracking: "full",
  ensureOptimizations: false,
  lineTerminatorsPattern: /\n/g,
  lineTerminatorCharacters: ["\n"],
});
