import type { IParserErrorMessageProvider, IToken, TokenType } from "chevrotain";

function describe(token: IToken): string {
  if (token.tokenType.name === "EOF") return "end of file";
  if (token.tokenType.name === "Newline") return "end of line";
  return `'${token.image}'`;
}

function label(t: TokenType): string {
  if (t.name === "EOF") return "end of file";
  return t.LABEL ?? t.name;
}

function expectedList(paths: TokenType[][]): string {
  const names = [...new Set(paths.map((p) => p.map(label).join(" ")))];
  if (names.length <= 1) return names[0] ?? "something else";
  return `${names.slice(0, -1).join(", ")} or ${names[names.length - 1]}`;
}

/** Messages in dlc's voice: what was expected, what arrived. */
export const parserErrorMessages: IParserErrorMessageProvider = {
  buildMismatchTokenMessage({ expected, actual }) {
    const found = actual.tokenType.name;
    // The file rule ends with EOF: anything left over sits outside every declaration.
    if (expected.name === "EOF") return found === "RBrace" ? "unexpected '}': no '{' is open here" : `unexpected ${describe(actual)} at the top level of the file`;
    // A body's statement loop stops at a token no statement can continue with, then wants '}'.
    if (expected.name === "RBrace" && found !== "EOF") return `expected the end of the statement (a new line, ';' or '}'), found ${describe(actual)}`;
    return `expected ${label(expected)}, found ${describe(actual)}`;
  },
  buildNotAllInputParsedMessage({ firstRedundant }) {
    return `unexpected ${describe(firstRedundant)}`;
  },
  buildNoViableAltMessage({ expectedPathsPerAlt, actual, ruleName }) {
    const paths = expectedPathsPerAlt.flat();
    return `unexpected ${describe(actual[0]!)} in ${ruleDescription(ruleName)}; expected ${expectedList(paths)}`;
  },
  buildEarlyExitMessage({ expectedIterationPaths, actual, ruleName }) {
    return `unexpected ${describe(actual[0]!)} in ${ruleDescription(ruleName)}; expected ${expectedList(expectedIterationPaths)}`;
  },
};

function ruleDescription(rule: string): string {
  switch (rule) {
    case "statement":
    case "simpleStmt":
      return "a statement";
    case "factor":
    case "expr":
    case "term":
    case "value":
      return "an expression";
    case "argument":
      return "an argument";
    default:
      return `a ${rule.replace(/Decl$|Stmt$/, "")}`;
  }
}
