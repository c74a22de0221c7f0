import type { CstNode, IRecognitionException, IToken, TokenType } from "chevrotain";
import { CstParser } from "./chevrotain.js";
import * as T from "./tokens.js";
import { parserErrorMessages } from "./parse-messages.js";

/**
 * The concrete grammar of `.dl` (grammar/dl.ebnf is its readable twin). Statements are
 * generic: a head word and arguments. Which words are layer kinds, options or blocks is
 * decided later, so a misspelled kind gets a "did you mean" instead of a syntax error.
 */
export class DlParser extends CstParser {
  constructor() {
    super(T.allTokens, { recoveryEnabled: true, maxLookahead: 3, errorMessageProvider: parserErrorMessages });
    this.performSelfAnalysis();
  }

  file = this.RULE("file", () => {
    this.MANY(() => {
      this.OR([
        { ALT: () => this.SUBRULE(this.networkDecl) },
        { ALT: () => this.SUBRULE(this.blockDecl) },
        { ALT: () => this.SUBRULE(this.trainDecl) },
        { ALT: () => this.SUBRULE(this.statement) },
        { ALT: () => this.SUBRULE(this.separator) },
      ]);
    });
  });

  separator = this.RULE("separator", () => {
    this.OR([{ ALT: () => this.CONSUME(T.Newline) }, { ALT: () => this.CONSUME(T.Semicolon) }]);
  });

  networkDecl = this.RULE("networkDecl", () => {
    this.CONSUME(T.Network);
    this.OPTION(() => this.CONSUME(T.Identifier));
    this.SUBRULE(this.body);
  });

  blockDecl = this.RULE("blockDecl", () => {
    this.CONSUME(T.Block);
    this.CONSUME(T.Identifier);
    this.OPTION(() => {
      this.CONSUME(T.LParen);
      this.MANY_SEP({ SEP: T.Comma, DEF: () => this.SUBRULE(this.param) });
      this.CONSUME(T.RParen);
    });
    this.SUBRULE(this.body);
  });

  param = this.RULE("param", () => {
    this.CONSUME(T.Identifier);
    this.OPTION(() => {
      this.CONSUME(T.Equals);
      this.SUBRULE(this.value);
    });
  });

  trainDecl = this.RULE("trainDecl", () => {
    this.CONSUME(T.Train);
    this.SUBRULE(this.body);
  });

  body = this.RULE("body", () => {
    this.CONSUME(T.LBrace);
    this.MANY(() => {
      this.OR([{ ALT: () => this.SUBRULE(this.statement) }, { ALT: () => this.SUBRULE(this.separator) }]);
    });
    this.CONSUME(T.RBrace);
  });

  statement = this.RULE("statement", () => {
    this.OPTION(() => this.CONSUME(T.Layer));
    this.OPTION2(() => {
      this.CONSUME(T.Identifier, { LABEL: "label" });
      this.CONSUME(T.Colon);
    });
    this.OR([
      { ALT: () => this.SUBRULE(this.repeatStmt) },
      { ALT: () => this.SUBRULE(this.residualStmt) },
      { ALT: () => this.SUBRULE(this.shortcutStmt) },
      { ALT: () => this.SUBRULE(this.parallelStmt) },
      { ALT: () => this.SUBRULE(this.simpleStmt) },
    ]);
  });

  repeatStmt = this.RULE("repeatStmt", () => {
    this.CONSUME(T.Repeat);
    this.SUBRULE(this.expr);
    this.SUBRULE(this.body);
  });

  residualStmt = this.RULE("residualStmt", () => {
    this.CONSUME(T.Residual);
    this.SUBRULE(this.body);
  });

  shortcutStmt = this.RULE("shortcutStmt", () => {
    this.CONSUME(T.Shortcut);
    this.SUBRULE(this.body);
  });

  parallelStmt = this.RULE("parallelStmt", () => {
    this.CONSUME(T.Parallel);
    this.CONSUME(T.LBrace);
    this.MANY(() => {
      this.OR([{ ALT: () => this.SUBRULE(this.branch) }, { ALT: () => this.SUBRULE(this.separator) }]);
    });
    this.CONSUME(T.RBrace);
  });

  branch = this.RULE("branch", () => {
    this.CONSUME(T.Branch);
    this.SUBRULE(this.body);
  });

  simpleStmt = this.RULE("simpleStmt", () => {
    this.CONSUME(T.Identifier, { LABEL: "head" });
    // `name(64, 2)`: a call list only when '(' touches the head word; `conv (c*2) 3x3`
    // keeps its parenthesised expression as a plain argument.
    this.OPTION({
      GATE: () => this.touchesPrevious(),
      DEF: () => {
        this.CONSUME(T.LParen);
        this.MANY_SEP({ SEP: T.Comma, DEF: () => this.SUBRULE(this.argument, { LABEL: "callArg" }) });
        this.CONSUME(T.RParen);
      },
    });
    this.MANY(() => this.SUBRULE2(this.argument));
  });

  argument = this.RULE("argument", () => {
    this.OR([
      {
        GATE: () => this.LA(2).tokenType === T.Equals,
        ALT: () => {
          this.CONSUME(T.Identifier, { LABEL: "key" });
          this.CONSUME(T.Equals);
          this.SUBRULE(this.value);
        },
      },
      { ALT: () => this.SUBRULE2(this.value) },
    ]);
  });

  value = this.RULE("value", () => {
    this.OR([{ ALT: () => this.CONSUME(T.Dim) }, { ALT: () => this.SUBRULE(this.expr) }]);
  });

  expr = this.RULE("expr", () => {
    this.SUBRULE(this.term);
    this.MANY(() => {
      this.OR([{ ALT: () => this.CONSUME(T.Plus) }, { ALT: () => this.CONSUME(T.Minus) }]);
      this.SUBRULE2(this.term);
    });
  });

  term = this.RULE("term", () => {
    this.SUBRULE(this.factor);
    this.MANY(() => {
      this.OR([{ ALT: () => this.CONSUME(T.Star) }, { ALT: () => this.CONSUME(T.Slash) }]);
      this.SUBRULE2(this.factor);
    });
  });

  factor = this.RULE("factor", () => {
    this.OR([
      { ALT: () => this.CONSUME(T.Integer) },
      { ALT: () => this.CONSUME(T.Decimal) },
      { ALT: () => this.CONSUME(T.Identifier) },
      {
        ALT: () => {
          this.CONSUME(T.LParen);
          this.SUBRULE(this.expr);
          this.CONSUME(T.RParen);
        },
      },
      {
        ALT: () => {
          this.CONSUME(T.Minus);
          this.SUBRULE(this.factor);
        },
      },
    ]);
  });

  /**
   * Called with each statement's CST node as soon as the statement is parsed (recovered ones
   * too); what it returns takes the node's place in the tree. `parse` converts the statement to
   * its AST there and leaves a small stand-in, so that the CST of a huge file never exists
   * whole: it was ~4 KB per line, most of a 100,000-line file's memory (see bench/RESULTS.md).
   */
  settleStatement: ((node: CstNode) => CstNode) | undefined;

  /**
   * Every rule's CST node is made here (Chevrotain's internal cstInvocationStateUpdate). Chevrotain
   * makes `children` with Object.create(null), a dictionary-mode object that V8 enumerates and
   * indexes slowly; the conversion walks every node's children, so a plain object is made
   * instead. No child key (rule, label or token names) is a name Object.prototype has.
   */
  cstInvocationStateUpdate(ruleName: string): void {
    (this as unknown as { CST_STACK: CstNode[] }).CST_STACK.push({ name: ruleName, children: {} });
  }

  /**
   * Every finished subrule is added to its parent here (Chevrotain's internal cstPostNonTerminal,
   * absent from its typings). Statements are handed to `settleStatement`; of a node's separators
   * only the first and the last are kept, all that the conversion reads of them (the bounds of
   * a body whose brace recovery left out), instead of one node per line.
   */
  cstPostNonTerminal(result: CstNode, ruleName: string): void {
    if (ruleName === "statement" && this.settleStatement && result) result = this.settleStatement(result);
    if (ruleName === "separator") {
      const stack = (this as unknown as { CST_STACK: CstNode[] }).CST_STACK;
      const parent = stack[stack.length - 1];
      const kept = parent?.children.separator;
      if (kept && kept.length >= 2) {
        kept[kept.length - 1] = result;
        return;
      }
    }
    (CstParser.prototype as unknown as { cstPostNonTerminal(r: CstNode, n: string): void }).cstPostNonTerminal.call(this, result, ruleName);
  }

  /**
   * Every syntax error passes through here (Chevrotain's internal SAVE_ERROR, absent from its
   * typings). Recovery inside a repetition recurses once per error, so a file of thousands of
   * errors would overflow the stack: parsing stops at MAX_SYNTAX_ERRORS instead.
   */
  SAVE_ERROR(error: IRecognitionException): IRecognitionException {
    if (this.errors.length >= MAX_SYNTAX_ERRORS) throw new TooManySyntaxErrors(error.token, (error as { previousToken?: IToken }).previousToken);
    return (CstParser.prototype as unknown as { SAVE_ERROR(e: IRecognitionException): IRecognitionException }).SAVE_ERROR.call(this, error);
  }

  private touchesPrevious(): boolean {
    const next = this.LA(1);
    const previous = this.LA(0);
    return next.tokenType === T.LParen && previous !== undefined && previous.endOffset !== undefined && next.startOffset === previous.endOffset + 1;
  }
}

/** Parsing stops after this many syntax errors (see DlParser.SAVE_ERROR). */
export const MAX_SYNTAX_ERRORS = 100;

/** Thrown out of the parser when it stops at MAX_SYNTAX_ERRORS; `parse` reports it. */
export class TooManySyntaxErrors extends Error {
  constructor(
    readonly token: IToken,
    readonly previousToken: IToken | undefined,
  ) {
    super("too many syntax errors");
  }
}

/** One shared instance: Chevrotain parsers are expensive to build and cheap to reset. */
export const parser = new DlParser();

export function tokenTypeName(t: TokenType): string {
  return t.LABEL ?? t.name;
}

export type { IToken };
