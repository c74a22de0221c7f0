// The grammar artifacts stay in step with the code: diagrams.html with the parser, dl.ebnf with
// the parser and the lexer, dl.tmLanguage.json with the keywords and the layer registry.
import { readFileSync } from "node:fs";
import vm from "node:vm";
import type { ISerializedGast, TokenType } from "chevrotain";
import { describe, expect, it } from "vitest";
import { activationKinds, registry } from "../src/layers/registry.js";
import { diagramsHtml } from "../src/syntax/diagrams.js";
import { parser } from "../src/syntax/parser.js";
import { allTokens, keywords } from "../src/syntax/tokens.js";

const root = new URL("../", import.meta.url);
const read = (path: string): string => readFileSync(new URL(path, root), "utf8");
const ruleNames = Object.keys(parser.getGAstProductions());

describe("grammar/diagrams.html", () => {
  it("is what `npm run grammar` generates now", () => {
    const committed = read("grammar/diagrams.html");
    const fresh = diagramsHtml();
    expect(committed === fresh, "grammar/diagrams.html is stale: run `npm run grammar` and keep the result").toBe(true);
  });

  it("is deterministic", () => {
    expect(diagramsHtml()).toBe(diagramsHtml());
  });

  it("needs nothing from the network and draws one diagram per parser rule with its own scripts", () => {
    const html = diagramsHtml();
    expect(html).not.toMatch(/<script[^>]*\ssrc=|<link[^>]*\shref=|unpkg/i);
    const scripts = [...html.matchAll(/<script>\n([\s\S]*?)\n<\/script>/g)].map((m) => m[1]!);
    const target = { innerHTML: "" };
    const document = { getElementById: (id: string) => (id === "diagrams" ? target : null), getElementsByClassName: () => [] };
    const sandbox = vm.createContext({ document });
    sandbox.window = sandbox;
    for (const script of scripts) vm.runInContext(script, sandbox);
    const headers = [...target.innerHTML.matchAll(/<h2 class="diagramHeader">(\w+)<\/h2><svg class="railroad-diagram"/g)].map((m) => m[1]);
    expect(headers).toEqual(ruleNames);
  });
});

// ------------------------------------------------------------------------------------------
// dl.ebnf: a small reader for the ISO-flavoured notation the file uses.

interface Production {
  readonly name: string;
  readonly rhs: string;
}

function ebnfProductions(text: string): Production[] {
  const withoutComments = text.replace(/\(\*[\s\S]*?\*\)/g, " ");
  const out: Production[] = [];
  // A production runs to the first ';' outside a "literal" or a ? /regex/ ? special sequence.
  const production = /([A-Za-z_]\w*)\s*=\s*((?:"(?:[^"\\]|\\.)*"|\? \/.*?\/ \?|[^;"?])*);/g;
  for (const m of withoutComments.matchAll(production)) out.push({ name: m[1]!, rhs: m[2]!.trim() });
  const leftover = withoutComments.replace(production, "").trim();
  expect(leftover, "text in dl.ebnf that is neither a comment nor a production").toBe("");
  return out;
}

/** Unescapes a regex source that denotes one fixed string (`\{` → `{`, `\n` → newline). */
function literalOf(source: string): string {
  return source.replace(/\\n/g, "\n").replace(/\\(.)/g, "$1");
}

/** The names and literals a right-hand side uses, literals mapped to the token they denote. */
function symbolsOf(rhs: string, tokenByLiteral: ReadonlyMap<string, string>): Set<string> {
  const used = new Set<string>();
  const item = /"((?:[^"\\]|\\.)*)"|([A-Za-z_]\w*)|\? \/.*?\/ \?/g;
  for (const m of rhs.matchAll(item)) {
    if (m[1] !== undefined) {
      const literal = JSON.parse(`"${m[1]}"`) as string;
      const token = tokenByLiteral.get(literal);
      expect(token, `the literal "${m[1]}" is no token of src/syntax/tokens.ts`).toBeDefined();
      used.add(token!);
    } else if (m[2] !== undefined) used.add(m[2]);
  }
  return used;
}

/** A node of the parser's serialized grammar, with the fields chevrotain's type leaves out. */
type Gast = ISerializedGast & { readonly name?: string; readonly separator?: Gast; readonly definition?: Gast[] };

/** Rules and tokens a parser rule refers to, from the parser's own serialized grammar. */
function gastSymbols(node: Gast, into = new Set<string>()): Set<string> {
  if ((node.type === "NonTerminal" || node.type === "Terminal") && node.name) into.add(node.name);
  if (node.separator) gastSymbols(node.separator, into);
  for (const child of node.definition ?? []) gastSymbols(child, into);
  return into;
}

describe("grammar/dl.ebnf", () => {
  const productions = ebnfProductions(read("grammar/dl.ebnf"));
  const byName = new Map(productions.map((p) => [p.name, p.rhs]));
  const tokenNames = allTokens.map((t) => t.name);
  const patternOf = (t: TokenType): RegExp => t.PATTERN as RegExp;

  it("has every parser rule as a production", () => {
    for (const rule of ruleNames) expect(byName.has(rule), `dl.ebnf has no production '${rule}'`).toBe(true);
  });

  it("has exactly one production per parser rule and per token, and nothing else", () => {
    const names = productions.map((p) => p.name);
    expect(new Set(names).size, "a production is defined twice").toBe(names.length);
    expect(new Set(names)).toEqual(new Set([...ruleNames, ...tokenNames]));
  });

  it("lists the tokens in the order the lexer tries them", () => {
    const tokenSet = new Set(tokenNames);
    expect(productions.map((p) => p.name).filter((n) => tokenSet.has(n))).toEqual(tokenNames);
  });

  it("gives every token the regex or the literal that tokens.ts gives it", () => {
    for (const token of allTokens) {
      const rhs = byName.get(token.name)!;
      const source = patternOf(token).source;
      const special = /^\? \/(.*)\/ \?$/.exec(rhs);
      if (special) expect(special[1], `${token.name}'s regex`).toBe(source);
      else expect(JSON.parse(rhs), `${token.name}'s literal`).toBe(literalOf(source));
    }
  });

  it("makes each syntactic rule use the same rules and tokens as the parser's rule", () => {
    const tokenByLiteral = new Map<string, string>();
    for (const token of allTokens) {
      const rhs = byName.get(token.name)!;
      if (rhs.startsWith('"')) tokenByLiteral.set(JSON.parse(rhs) as string, token.name);
    }
    const known = new Set([...ruleNames, ...tokenNames]);
    for (const rule of parser.getSerializedGastProductions() as Gast[]) {
      const name = rule.name!;
      const written = symbolsOf(byName.get(name) ?? "", tokenByLiteral);
      for (const s of written) expect(known.has(s), `'${name}' in dl.ebnf refers to an undefined '${s}'`).toBe(true);
      expect([...written].sort(), `the symbols of '${name}'`).toEqual([...gastSymbols(rule)].sort());
    }
  });
});

// ------------------------------------------------------------------------------------------
// dl.tmLanguage.json, run naively: match patterns only, line by line, earliest match first and
// pattern order on ties, as TextMate does.

interface MatchRule {
  readonly name?: string;
  readonly match?: string;
  readonly include?: string;
  readonly patterns?: readonly MatchRule[];
  readonly captures?: Record<string, { name: string }>;
}

interface TmGrammar {
  readonly scopeName: string;
  readonly fileTypes: readonly string[];
  readonly patterns: readonly MatchRule[];
  readonly repository: Record<string, MatchRule>;
}

interface Token {
  readonly text: string;
  /** The innermost scope: a capture's name inside its pattern's name. */
  readonly scope: string | undefined;
  /** Every scope, outermost first. */
  readonly scopes: readonly string[];
}

function token(text: string, ...scopes: (string | undefined)[]): Token {
  const defined = scopes.filter((x): x is string => x !== undefined);
  return { text, scope: defined.at(-1), scopes: defined };
}

const tm = JSON.parse(read("grammar/dl.tmLanguage.json")) as TmGrammar;

function flatten(rules: readonly MatchRule[]): MatchRule[] {
  return rules.flatMap((r) => {
    if (r.include) {
      const entry = tm.repository[r.include.replace(/^#/, "")];
      expect(entry, `include ${r.include} names no repository entry`).toBeDefined();
      return flatten(entry!.patterns ?? [entry!]);
    }
    if (r.patterns) return flatten(r.patterns);
    return [r];
  });
}

const rules = flatten(tm.patterns);
const compiled = rules.map((r) => ({ rule: r, re: new RegExp(r.match!, "dg") }));

function tokenize(line: string): Token[] {
  const tokens: Token[] = [];
  let pos = 0;
  while (pos < line.length) {
    let best: { rule: MatchRule; m: RegExpExecArray } | undefined;
    for (const { rule, re } of compiled) {
      re.lastIndex = pos;
      const m = re.exec(line);
      if (m && m[0].length > 0 && (!best || m.index < best.m.index)) best = { rule, m };
    }
    if (!best) break;
    const { rule, m } = best;
    if (m.index > pos) tokens.push(token(line.slice(pos, m.index)));
    let at = m.index;
    const pieces = Object.entries(rule.captures ?? {})
      .map(([group, c]) => ({ span: m.indices![Number(group)], scope: c.name }))
      .filter((p): p is { span: [number, number]; scope: string } => p.span !== undefined)
      .sort((a, b) => a.span[0] - b.span[0]);
    for (const p of pieces) {
      if (p.span[0] > at) tokens.push(token(line.slice(at, p.span[0]), rule.name));
      tokens.push(token(line.slice(p.span[0], p.span[1]), rule.name, p.scope));
      at = p.span[1];
    }
    const end = m.index + m[0].length;
    if (end > at) tokens.push(token(line.slice(at, end), rule.name));
    pos = end;
  }
  if (pos < line.length) tokens.push(token(line.slice(pos)));
  return tokens;
}

function scopeOf(line: string, text: string): string | undefined {
  const token = tokenize(line).find((t) => t.text === text);
  expect(token, `no token '${text}' in '${line}'`).toBeDefined();
  return token!.scope;
}

/** The words of a `\b(?:a|b|c)\b` pattern found by its scope name. */
function wordsOf(scope: string): Set<string> {
  const rule = rules.find((r) => r.name === scope);
  expect(rule, `no pattern named ${scope}`).toBeDefined();
  const m = /^\\b\(\?:([\w|]+)\)\\b$/.exec(rule!.match!);
  expect(m, `${scope} is not a word list`).not.toBeNull();
  return new Set(m![1]!.split("|"));
}

describe("grammar/dl.tmLanguage.json", () => {
  it("is a TextMate grammar for .dl files", () => {
    expect(tm.scopeName).toBe("source.dl");
    expect(tm.fileTypes).toEqual(["dl"]);
    expect(rules.length).toBeGreaterThan(10);
  });

  it("has only regexes that compile in JavaScript", () => {
    for (const r of rules) {
      expect(r.match, `a pattern without 'match': ${JSON.stringify(r)}`).toBeTypeOf("string");
      expect(() => new RegExp(r.match!), r.match).not.toThrow();
    }
  });

  it("lists exactly the keyword tokens of tokens.ts as keywords", () => {
    const words = keywords.map((k) => (k.PATTERN as RegExp).source);
    expect(wordsOf("keyword.control.dl")).toEqual(new Set(words));
    for (const w of words) expect(scopeOf(`${w} `, w), w).toBe("keyword.control.dl");
  });

  it("lists exactly the layer kinds of the registry, activation words apart", () => {
    const kinds = [...registry.keys()];
    expect(wordsOf("support.function.activation.dl")).toEqual(new Set(activationKinds));
    expect(wordsOf("support.function.layer.dl")).toEqual(new Set(kinds.filter((k) => !activationKinds.has(k))));
    for (const kind of kinds) {
      expect(scopeOf(`  ${kind} 3`, kind), kind).toBe(activationKinds.has(kind) ? "support.function.activation.dl" : "support.function.layer.dl");
    }
  });

  it("tags every option of every layer kind, and the words options take", () => {
    for (const def of registry.values()) {
      for (const [key, spec] of Object.entries(def.options ?? {})) {
        expect(scopeOf(`${def.kind} ${key} 2`, key), `${def.kind} option ${key}`).toMatch(/^variable\.parameter\./);
        for (const word of "words" in spec ? (spec.words ?? []) : []) expect(scopeOf(`${key} ${word}`, word), word).toBe("constant.language.dl");
      }
    }
    expect(scopeOf("dense 3 frozen", "frozen")).toBe("variable.parameter.option.dl");
    expect(scopeOf("conv 3x3 bias false", "false")).toBe("constant.language.dl");
  });

  it("tags examples/lenet5.dl: comments, kinds, activations, dims, numbers, train settings", () => {
    const lines = read("examples/lenet5.dl").split("\n");
    const first = tokenize(lines[0]!);
    expect(first.map((t) => t.text).join("")).toBe(lines[0]);
    for (const t of first) expect(t.scopes[0], `'${t.text}' in the first line`).toBe("comment.line.number-sign.dl");
    const convLine = lines.find((l) => l.trim().startsWith("conv 6"))!;
    expect(scopeOf(convLine, "conv")).toBe("support.function.layer.dl");
    expect(scopeOf(convLine, "5x5")).toBe("constant.numeric.dimension.dl");
    expect(scopeOf(convLine, "pad")).toBe("variable.parameter.option.dl");
    expect(scopeOf(convLine, "tanh")).toBe("support.function.activation.dl");
    const tokens = tokenize(convLine);
    const hash = tokens.findIndex((t) => t.text === "#");
    expect(tokens.slice(hash).map((t) => t.text).join("")).toBe("# 6 filters of 5x5, stride 1");
    for (const t of tokens.slice(hash)) expect(t.scopes[0], `'${t.text}' in the trailing comment`).toBe("comment.line.number-sign.dl");
    const denseLine = lines.find((l) => l.trim().startsWith("dense 120"))!;
    expect(scopeOf(denseLine, "dense")).toBe("support.function.layer.dl");
    expect(scopeOf(denseLine, "120")).toBe("constant.numeric.dl");
    const networkLine = lines.find((l) => l.startsWith("network"))!;
    expect(scopeOf(networkLine, "network")).toBe("keyword.control.dl");
    expect(scopeOf(networkLine, "lenet5")).toBe("entity.name.type.network.dl");
    const optimizer = lines.find((l) => l.trim().startsWith("optimizer"))!;
    expect(scopeOf(optimizer, "optimizer")).toBe("variable.parameter.setting.dl");
    expect(scopeOf(optimizer, "sgd")).toBe("support.constant.train.dl");
    expect(scopeOf(optimizer, "0.1")).toBe("constant.numeric.dl");
  });

  it("tags the other forms: labels, // comments, decimals, block declarations and calls, operators", () => {
    const line = "layer enc: lstm 8 // encoder";
    expect(tokenize(line).map((t) => [t.text, t.scope])).toEqual([
      ["layer", "keyword.control.dl"],
      [" ", undefined],
      ["enc", "entity.name.tag.label.dl"],
      [":", "punctuation.separator.label.dl"],
      [" ", undefined],
      ["lstm", "support.function.layer.dl"],
      [" ", undefined],
      ["8", "constant.numeric.dl"],
      [" ", undefined],
      ["//", "punctuation.definition.comment.dl"],
      [" encoder", "comment.line.double-slash.dl"],
    ]);
    for (const n of ["1e-3", "0.5", ".5", "2.5E+4"]) expect(scopeOf(`lr ${n}`, n), n).toBe("constant.numeric.dl");
    expect(scopeOf("block res(c, s = 1) {", "res")).toBe("entity.name.function.block.dl");
    expect(scopeOf("  res(64, 2)", "res")).toBe("entity.name.function.call.dl");
    expect(scopeOf("conv 4*c 1x1", "*")).toBe("keyword.operator.arithmetic.dl");
    expect(scopeOf("from enc", "from")).toBe("keyword.other.from.dl");
    expect(scopeOf("layer1: dense 3", "layer1")).toBe("entity.name.tag.label.dl");
  });
});
