// The front end's limits on huge input, the pieces it is read in, the parser's statement-at-a-time
// conversion, and numbers quoted as written.
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { Diagnostics } from "../src/diag/diagnostic.js";
import { analyze } from "../src/index.js";
import { CstToAst } from "../src/syntax/cst-to-ast.js";
import { lex } from "../src/syntax/lex.js";
import { MAX_STATEMENT_TOKENS, parse } from "../src/syntax/parse.js";
import { parser } from "../src/syntax/parser.js";
import { lexer } from "../src/syntax/tokens.js";
import { checkInvariants, codesOf } from "./helpers/robustness.js";

const EXAMPLES = join(dirname(fileURLToPath(import.meta.url)), "..", "examples");

function parsed(text: string, limits: { maxTokens: number; maxStatements: number }): { codes: string[]; messages: string[]; networks: number } {
  const diags = new Diagnostics();
  const ast = parse(text, diags, limits);
  return { codes: diags.items.map((d) => d.code), messages: diags.items.map((d) => d.message), networks: ast.networks.length };
}

describe("limits on the size of a file", () => {
  const text = "network n {\n  input 4\n" + "  dense 4 relu\n".repeat(20) + "}\n";

  it("one statement past the statement limit: too-large, saying the limit, and nothing parsed", () => {
    // 21 statements: the input and 20 dense layers.
    expect(parsed(text, { maxTokens: 1e6, maxStatements: 21 })).toMatchObject({ codes: [], networks: 1 });
    const over = parsed(text, { maxTokens: 1e6, maxStatements: 20 });
    expect(over).toEqual({ codes: ["too-large"], messages: ["the file has more than 20 statements; dlc checks files of up to that many"], networks: 0 });
  });

  it("one token past the token limit: too-large before parsing", () => {
    // network n { ⏎ | input 4 ⏎ | 20 × (dense 4 relu ⏎) | } ⏎: 4 + 3 + 80 + 2 tokens.
    expect(parsed(text, { maxTokens: 89, maxStatements: 1e6 }).codes).toEqual([]);
    expect(parsed(text, { maxTokens: 88, maxStatements: 1e6 })).toEqual({ codes: ["too-large"], messages: ["the file has more than 88 tokens; dlc checks files of up to that many"], networks: 0 });
  });

  it("a statement of more tokens than MAX_STATEMENT_TOKENS is too-large; one of exactly that many is checked", () => {
    const args = (n: number): string => "input 4\ndense" + " 1".repeat(n - 1) + "\n";
    // dense takes one number: each extra one is its own bad-argument, none is too-large.
    expect(new Set(codesOf(analyze(args(MAX_STATEMENT_TOKENS))))).toEqual(new Set(["bad-argument"]));
    const a = checkInvariants(args(MAX_STATEMENT_TOKENS + 1));
    expect(codesOf(a)).toEqual(["too-large"]);
    expect(a.diagnostics[0]!.message).toMatch(/a statement of more than 100,000 tokens/);
  });
});

describe("lexing in pieces", () => {
  it("gives the tokens and positions of lexing the whole text, across several 1 MiB pieces", () => {
    let seed = 12345;
    const random = (): number => (seed = (seed * 16807) % 2147483647) / 2147483647;
    const bits = ["dense 16 relu", "\n", "\r\n", "  ", "# a comment; {\n", "// another\n", "conv 3x3", "1.5e3", ";", "{", "}", "\t", "x:"];
    const parts: string[] = [];
    let length = 0;
    while (length < 2.5 * 1024 * 1024) {
      const b = bits[Math.floor(random() * bits.length)]!;
      parts.push(b);
      length += b.length;
    }
    const text = parts.join("");
    const whole = lexer.tokenize(text);
    const pieces = lex(text);
    const fields = (t: (typeof whole.tokens)[number]): string =>
      [t.image, t.tokenType.name, t.startOffset, t.endOffset, t.startLine, t.endLine, t.startColumn, t.endColumn].join(" ");
    expect(pieces.tokens?.length).toBe(whole.tokens.length);
    const differing = whole.tokens.filter((t, i) => fields(t) !== fields(pieces.tokens![i]!));
    expect(differing).toEqual([]);
    expect(whole.tokens.at(-1)!.startLine).toBeGreaterThan(100_000);
  });

  it("stops at 100 unexpected characters: a binary-looking text gets 100 errors and one saying it stopped", () => {
    const a = checkInvariants("input 3\n" + "\u0001 $ ".repeat(5_000));
    expect(a.diagnostics).toHaveLength(101);
    expect(new Set(codesOf(a))).toEqual(new Set(["lex-error"]));
    expect(a.diagnostics[100]!.message).toMatch(/too many unexpected characters: reading stopped after 100/);
  });
});

describe("statements converted as they are parsed", () => {
  /** The AST of converting the whole CST at once, as before statements were settled one by one. */
  function wholeCst(text: string): unknown {
    parser.input = lexer.tokenize(text).tokens;
    const cst = parser.file();
    const ast = parser.errors.length < 100 ? new CstToAst(text, new Diagnostics()).file(cst) : undefined;
    parser.input = [];
    return ast;
  }

  it("give the same AST as converting the whole CST, on randomly broken examples", () => {
    let seed = 99;
    const random = (): number => (seed = (seed * 16807) % 2147483647) / 2147483647;
    const examples = readdirSync(EXAMPLES)
      .filter((f) => f.endsWith(".dl"))
      .map((f) => readFileSync(join(EXAMPLES, f), "utf8"));
    const inserts = ["{", "}", "(", ")", "\n", ";", "shortcut { relu }", "residual {", "parallel {", "branch {", "x:", "layer", "=", ",", "-", "repeat 2 {", "3x3"];
    let compared = 0;
    for (let i = 0; i < 300; i++) {
      let text = examples[i % examples.length]!;
      for (let k = 0; k < 3; k++) {
        const at = Math.floor(random() * text.length);
        text = random() < 0.5 ? text.slice(0, at) + inserts[Math.floor(random() * inserts.length)] + text.slice(at) : text.slice(0, at) + text.slice(at + Math.floor(random() * 20));
      }
      const expected = wholeCst(text);
      if (expected === undefined) continue;
      expect(JSON.stringify(parse(text, new Diagnostics()))).toBe(JSON.stringify(expected));
      compared++;
    }
    expect(compared).toBeGreaterThan(200);
  });
});

describe("numbers are quoted as written", () => {
  const messageFor = (text: string): string => analyze(text).diagnostics.find((d) => d.severity === "error")?.message ?? "";

  it("a literal too large for a double is not 'Infinity'", () => {
    expect(messageFor("input 3\ndense 1e309")).toContain("got '1e309'");
    expect(messageFor("input 3\ndense -1e309")).toContain("got '-1e309'");
    expect(messageFor("input 3x3x1\nconv 1e400 3x3")).toContain("got '1e400'");
  });

  it("an integer past 2^53 is not its nearest double", () => {
    expect(messageFor("input 3\ndense 9007199254740993")).toContain("got '9007199254740993'");
  });

  it("through a block parameter too", () => {
    expect(messageFor("block b(n) {\n  dense n\n}\ninput 3\nb 1e309")).toContain("got '1e309'");
  });

  it("ordinary numbers print as before", () => {
    expect(messageFor("input 3\ndense 2.5")).toContain("got '2.5'");
  });
});

describe("generated layer names", () => {
  it("skip a label that looks like one (dense2), numbering on past it", () => {
    const a = analyze("input 3\ndense 2\ndense2: dense 2\ndense 2\nrelu\n");
    expect(a.selected!.network.nodes.map((n) => n.name)).toEqual(["input", "dense1", "dense2", "dense3", "relu1"]);
  });
});
