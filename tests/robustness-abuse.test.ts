// Size and abuse: inputs built to hurt. Each case ends in a clear diagnostic (by code) or a
// correct result, checked against numbers computed here — never in a crash, a stack
// overflow or an expansion that runs for minutes.
import { describe, expect, it } from "vitest";
import { analyze, summarize } from "../src/index.js";
import { renderAll } from "../src/diag/render.js";
import { MAX_LEX_ERRORS } from "../src/syntax/lex.js";
import { checkInvariants, codesOf, errorsOf, nodeCount } from "./helpers/robustness.js";

const denseParams = (f: number, n: number): number => f * n + n;

describe("block recursion", () => {
  it("a block calling itself is recursive-block, at the inner call", () => {
    const text = "block b(n) {\n  dense n\n  b n\n}\nnetwork net {\n  input 4\n  b 3\n}";
    const a = checkInvariants(text);
    const rec = a.diagnostics.filter((d) => d.code === "recursive-block");
    expect(rec).toHaveLength(1);
    expect(rec[0]!.span.line).toBe(3);
    expect(rec[0]!.severity).toBe("error");
  });

  it("mutual recursion (a → c → a) and a three-block cycle are recursive-block", () => {
    expect(errorsOf("block a { c }\nblock c { a }\ninput 3\na")).toContain("recursive-block");
    expect(errorsOf("block p { relu\n q }\nblock q { r }\nblock r { repeat 2 { p } }\ninput 3\np")).toContain("recursive-block");
  });

  it("recursion hidden in residual, shortcut and parallel bodies is found too", () => {
    expect(errorsOf("block b { residual { relu } shortcut { b } }\ninput 3\nb")).toContain("recursive-block");
    expect(errorsOf("block b { parallel { branch { relu } branch { b } } }\ninput 3\nb")).toContain("recursive-block");
  });

  it("a block that calls another twice, non-recursively, is fine (not a false positive)", () => {
    const a = checkInvariants("block inner { dense 4 }\nblock outer { inner\n inner }\ninput 3\nouter");
    expect(a.hasErrors).toBe(false);
    expect(summarize(a.selected!).totalParams).toBe(denseParams(3, 4) + denseParams(4, 4));
  });
});

describe("expansion that would be huge is refused before it happens", () => {
  it("repeat 1000000000 { dense 10 } is too-large without expanding", () => {
    const text = "input 10\nrepeat 1000000000 { dense 10 }";
    expect(errorsOf(text)).toEqual(["too-large"]);
    expect(nodeCount(text)).toBeLessThanOrEqual(2);
  });

  it("nested repeats whose product is huge are too-large without expanding", () => {
    const text = "input 10\nrepeat 100000 { repeat 100000 { relu } }";
    expect(errorsOf(text)).toEqual(["too-large"]);
    expect(nodeCount(text)).toBeLessThanOrEqual(2);
    const three = "input 10\nrepeat 1000 { repeat 1000 { repeat 1000 { dense 10 } } }";
    expect(errorsOf(three)).toEqual(["too-large"]);
    expect(nodeCount(three)).toBeLessThanOrEqual(2);
  });

  it("nested repeats counted by block parameters are refused before expanding", () => {
    const text = "block grid(n) {\n  repeat n { repeat n { relu } }\n}\ninput 10\ngrid 100000";
    expect(errorsOf(text)).toEqual(["too-large"]);
    expect(nodeCount(text)).toBeLessThan(1000);
  });

  it("a chain of blocks that each call the next twice (2^40 layers) is refused before expanding", () => {
    let text = "";
    for (let i = 0; i < 40; i++) text += `block b${i} { b${i + 1}\n b${i + 1} }\n`;
    text += "block b40 { relu }\ninput 3\nb0";
    expect(errorsOf(text)).toEqual(["too-large"]);
    expect(nodeCount(text)).toBeLessThan(1000);
  });

  it("a repeat just under the limit still expands, exactly", () => {
    // 10 dense layers of 8 → 8, repeated 1000 times: 10,000 layers.
    const a = checkInvariants("input 8\nrepeat 1000 { repeat 10 { dense 8 } }");
    expect(a.hasErrors).toBe(false);
    const s = summarize(a.selected!);
    expect(s.rows).toHaveLength(10_000);
    expect(s.totalParams).toBe(10_000 * denseParams(8, 8));
  });

  it("a block chain 1000 calls deep is too-large (calls nest at most 64 deep)", () => {
    let text = "";
    for (let i = 0; i < 1000; i++) text += `block b${i} { b${i + 1} }\n`;
    text += "block b1000 { dense 4 }\ninput 3\nb0";
    expect(errorsOf(text)).toEqual(["too-large"]);
  });

  it("a block chain 50 calls deep gives the right count", () => {
    let text = "";
    for (let i = 0; i < 50; i++) text += `block b${i} { b${i + 1} }\n`;
    text += "block b50 { dense 4 }\ninput 3\nb0";
    const a = checkInvariants(text);
    expect(a.hasErrors).toBe(false);
    expect(summarize(a.selected!).totalParams).toBe(denseParams(3, 4));
  });

  it("deep block calls each with deeply nested bodies do not overflow the stack", () => {
    let text = "";
    for (let i = 0; i < 64; i++) text += `block b${i} { ${"repeat 1 { ".repeat(60)} b${i + 1} ${"}".repeat(60)} }\n`;
    text += "block b64 { dense 4 }\ninput 3\nb0";
    expect(errorsOf(text)).toEqual(["too-large"]);
  });
});

describe("huge sizes", () => {
  // Decision: sizes above 2^31 - 1 (MAX_DIMENSION) are refused with too-large, wherever they
  // appear — a declared input as much as a layer's output — since no tensor of that length
  // can be allocated. Parameter counts are exact up to 2^53 and too-large past it.
  it("input 1000000000000 is too-large", () => {
    const a = checkInvariants("input 1000000000000\ndense 10");
    expect(codesOf(a)).toContain("too-large");
    expect(a.diagnostics.find((d) => d.code === "too-large")!.span.line).toBe(1);
  });

  it("dense 1000000000000 is too-large", () => {
    const a = checkInvariants("input 10\ndense 1000000000000");
    expect(codesOf(a)).toEqual(["too-large"]);
    expect(a.diagnostics[0]!.span.line).toBe(2);
  });

  it("a 10^12-parameter dense layer on sizes that fit is counted exactly", () => {
    const a = checkInvariants("input 1000000\ndense 1000000");
    expect(a.hasErrors).toBe(false);
    expect(summarize(a.selected!).totalParams).toBe(1_000_001_000_000);
  });

  it("a parameter count past 2^53 is too-large, not a rounded number", () => {
    expect(errorsOf("input 100000000\ndense 100000000")).toEqual(["too-large"]);
  });

  it("an input whose element count passes 2^53 is too-large", () => {
    expect(errorsOf("input 1000000x1000000x1000000\nflatten")).toContain("too-large");
  });

  it("a dense layer on unknown input with a huge size is reported, not counted", () => {
    const codes = errorsOf("dense 1000000000000\ndense 10");
    expect(codes).toContain("missing-input");
    expect(codes).toContain("too-large");
  });

  it("a network whose parameters add up past 2^53 is too-large, though each layer's count is exact", () => {
    // 10^8 * 9*10^7 + 9*10^7 ≈ 9.0000001e15 and 8.1e15 + 9e7: each under 2^53 ≈ 9.007e15, their sum not.
    const a = checkInvariants("input 100000000\ndense 90000000\ndense 90000000");
    expect(codesOf(a)).toEqual(["too-large"]);
    expect(a.diagnostics[0]!.span.line).toBe(3);
  });

  it("lstm layers 1000000000 is too-large, not an out-of-memory", () => {
    const a = checkInvariants("input 10x10\nlstm 10 layers 1000000000");
    expect(codesOf(a)).toEqual(["too-large"]);
    expect(a.diagnostics[0]!.span.column).toBe(9);
  });

  it("a label repeated 30,000 times gets unique names (a, a_2, …, a_30000) in linear time", () => {
    const a = checkInvariants("input 3\nrepeat 30000 { a: dense 3 }");
    const names = summarize(a.selected!).rows.map((r) => r.name);
    expect(names).toHaveLength(30_000);
    expect(new Set(names).size).toBe(30_000);
    expect([names[0], names[1], names[29_999]]).toEqual(["a", "a_2", "a_30000"]);
  }, 20_000);

  it("a 50,000-line file of dense/relu statements analyzes with the right counts", () => {
    const lines = ["input 32"];
    let f = 32;
    let params = 0;
    for (let i = 0; i < 25_000; i++) {
      const n = 1 + ((i * 37) % 64);
      lines.push(`dense ${n}`, "relu");
      params += denseParams(f, n);
      f = n;
    }
    expect(lines).toHaveLength(50_001);
    const a = analyze(lines.join("\n"));
    expect(a.diagnostics).toEqual([]);
    const s = summarize(a.selected!);
    expect(s.rows).toHaveLength(50_000);
    expect(s.totalParams).toBe(params);
    expect(s.rows[s.rows.length - 1]!.outputShape).toEqual([f]);
    expect(s.rows[s.rows.length - 2]!.name).toBe("dense25000");
  });
});

describe("deep nesting never overflows the stack", () => {
  it("10,000 nested braces are too-deep", () => {
    expect(errorsOf("network n {".repeat(10_000) + "}".repeat(10_000))).toEqual(["too-deep"]);
    expect(errorsOf("input 3\n" + "repeat 1 {".repeat(10_000) + "relu" + "}".repeat(10_000))).toEqual(["too-deep"]);
    expect(errorsOf("{".repeat(10_000))).toEqual(["too-deep"]);
  });

  it("10,000 nested parentheses in an expression are too-deep", () => {
    expect(errorsOf("block b(c) { dense c }\ninput 3\nb " + "(".repeat(10_000) + "4" + ")".repeat(10_000))).toEqual(["too-deep"]);
  });

  it("60 nested parentheses evaluate correctly", () => {
    const a = checkInvariants("input 3\ndense " + "(".repeat(60) + "2*2" + ")".repeat(60));
    expect(a.hasErrors).toBe(false);
    expect(summarize(a.selected!).totalParams).toBe(denseParams(3, 4));
  });

  it("10,000 unary minus signs are too-deep", () => {
    expect(errorsOf("input 3\ndense " + "-".repeat(10_000) + "4")).toEqual(["too-deep"]);
    expect(errorsOf("input 3\ndense " + "-(".repeat(5_000) + "4" + ")".repeat(5_000))).toEqual(["too-deep"]);
  });

  it("a few unary minus signs still evaluate (- - 4 is 4)", () => {
    const a = checkInvariants("input 3\ndense - - 4\ndense 2 - -1");
    expect(a.hasErrors).toBe(false);
    expect(summarize(a.selected!).totalParams).toBe(denseParams(3, 4) + denseParams(4, 3));
  });

  it("an expression of 100,000 terms is refused, not evaluated into a stack overflow", () => {
    expect(errorsOf("input 3\ndense " + Array(100_000).fill("1").join("+"))).toEqual(["too-deep"]);
    expect(errorsOf("block b(c) { dense " + Array(20_000).fill("c").join("*") + " }\ninput 3\nb 1")).toEqual(["too-deep"]);
  });

  it("an expression of 200 terms is evaluated exactly", () => {
    const a = checkInvariants("input 3\ndense " + Array(200).fill("1").join(" + "));
    expect(a.hasErrors).toBe(false);
    expect(summarize(a.selected!).totalParams).toBe(denseParams(3, 200));
  });

  it("thousands of syntax errors stop at a limit instead of overflowing the parser's recovery", () => {
    // `a: a: a: …` is one error per label: Chevrotain recovers from each by recursing once more.
    const a = checkInvariants("input 3\n" + "a: ".repeat(10_000) + "dense 4");
    expect(new Set(codesOf(a))).toEqual(new Set(["syntax-error"]));
    expect(a.diagnostics).toHaveLength(101);
    expect(a.diagnostics[100]!.message).toMatch(/too many syntax errors/);
    expect(a.diagnostics[100]!.span.offset).toBeGreaterThan(a.diagnostics[99]!.span.offset);
    // Runs of junk that recovery skips in one go stay one error each.
    for (const text of ["input 3\n" + ": ".repeat(20_000), "network n {\n  input 3\n" + ") ".repeat(20_000) + "\n}"]) {
      expect(errorsOf(text)).toEqual(["syntax-error"]);
    }
  });
});

describe("broken and odd files", () => {
  it("an unterminated network is a syntax error at the end of the file", () => {
    const text = "network n {\n  input 3\n  dense 4\n";
    const a = checkInvariants(text);
    const e = a.diagnostics.find((d) => d.code === "syntax-error")!;
    expect(e.message).toMatch(/'\}'/);
    expect(e.message).toMatch(/end of file/);
    // At the end of the last line (where its newline stands), or at the very end.
    expect([text.length - 1, text.length]).toContain(e.span.offset);
  });

  it("unterminated repeat, block and parallel bodies are syntax errors", () => {
    for (const text of ["input 3\nrepeat 3 { dense 4", "block b { dense 4\ninput 3\nb", "input 3\nparallel { branch { relu }", "input 3\nresidual {"]) {
      expect(errorsOf(text)).toContain("syntax-error");
    }
  });

  it("a stray closing brace is a syntax error on that brace", () => {
    const a = checkInvariants("input 3\n}\ndense 4");
    const e = a.diagnostics.find((d) => d.code === "syntax-error")!;
    expect([e.span.line, e.span.column]).toEqual([2, 1]);
  });

  it("an empty file is no-network", () => {
    expect(errorsOf("")).toEqual(["no-network"]);
    expect(errorsOf("\n\n   \n")).toEqual(["no-network"]);
  });

  it("a file of only comments is no-network", () => {
    expect(errorsOf("# just a comment\n// and another\n#")).toEqual(["no-network"]);
  });

  const oneLiner = "layer dense 2 relu; conv 3x3 stride 1 pad 0; lstm 8";
  const program = "# a comment\nnetwork n {\n  input 4\n  dense 2 relu\n  conv 3x3\n}\n";

  it("CRLF line endings give the same lines and columns as LF", () => {
    for (const lf of [program, `input 5\n${oneLiner}\n`, "block b(c) {\n  dense c\n  conv 3x3\n}\ninput 4\nb 7\n"]) {
      const crlf = lf.replace(/\n/g, "\r\n");
      const a = checkInvariants(lf).diagnostics.map((d) => [d.code, d.span.line, d.span.column, d.span.endLine, d.span.endColumn, d.message]);
      const b = checkInvariants(crlf).diagnostics.map((d) => [d.code, d.span.line, d.span.column, d.span.endLine, d.span.endColumn, d.message]);
      expect(a.length).toBeGreaterThan(0);
      expect(b).toEqual(a);
    }
  });

  it("CRLF: the conv error points at line 5, column 3, and names 'dense 2 relu' (4:3)", () => {
    const a = checkInvariants(program.replace(/\n/g, "\r\n"));
    const e = a.diagnostics.find((d) => d.code === "shape-rank")!;
    expect([e.span.line, e.span.column, e.span.endColumn]).toEqual([5, 3, 11]);
    expect(e.message).toContain("'dense 2 relu' (4:3)");
    expect(renderAll(a.diagnostics, "f.dl", program.replace(/\n/g, "\r\n"))).not.toContain("\r");
  });

  it("tabs count as one column, and the caret still sits under the statement", () => {
    const text = "network n {\n\tinput 4\n\tdense 2\n\tconv 3x3\n}";
    const a = checkInvariants(text);
    const e = a.diagnostics.find((d) => d.code === "shape-rank")!;
    expect([e.span.line, e.span.column]).toEqual([4, 2]);
    const [, source, carets] = renderAll([e], "f.dl", text).split("\n");
    const sourceText = source!.slice(source!.indexOf("| ") + 2);
    const caretText = carets!.slice(carets!.indexOf("| ") + 2);
    expect(caretText.indexOf("^")).toBe(sourceText.indexOf("conv"));
    expect(caretText.trim()).toBe("^".repeat("conv 3x3".length));
  });

  it("a UTF-8 byte-order mark at the start is accepted silently", () => {
    const a = checkInvariants("\uFEFFnetwork n {\n  input 3\n  dense 4\n}\n");
    expect(a.diagnostics).toEqual([]);
    expect(summarize(a.selected!).totalParams).toBe(denseParams(3, 4));
    const b = checkInvariants("\uFEFFinput 3\ndense 4\nconv 3x3");
    expect(b.diagnostics.map((d) => [d.code, d.span.line, d.span.column])).toEqual([["shape-rank", 3, 1]]);
  });

  it("non-ASCII identifiers are a lex error on the character, naming it; the rest is still checked", () => {
    const a = checkInvariants("input 3\ncouché: dense 4\nconv 3x3");
    const lex = a.diagnostics.filter((d) => d.code === "lex-error");
    expect(lex).toHaveLength(1);
    expect([lex[0]!.span.line, lex[0]!.span.column, lex[0]!.span.endColumn]).toEqual([2, 6, 7]);
    expect(lex[0]!.message).toContain("é");
    expect(lex[0]!.message).toMatch(/ASCII/);
    expect(codesOf(a)).toContain("shape-rank");
    expect(errorsOf("input 3\nΣ: dense 4")).toContain("lex-error");
    expect(errorsOf("input 3\n😀 dense 4")).toContain("lex-error");
  });

  it("non-ASCII text in comments is fine", () => {
    const a = checkInvariants("# café ∑ 😀 — naïve\ninput 3 // größe\ndense 4 # ok");
    expect(a.diagnostics).toEqual([]);
  });

  it("control characters are lex errors, not crashes, and never reach the terminal raw", () => {
    expect(errorsOf("input 3\ndense\u0000 4")).toContain("lex-error");
    expect(errorsOf("input 3\u0007\ndense 4")).toContain("lex-error");
    const text = "input 3\ndense\u001b[2J 4\nconv 3x3";
    const rendered = renderAll(checkInvariants(text).diagnostics, "f.dl", text);
    expect(rendered).toContain("f.dl:2:6: error: ");
    expect(rendered).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/);
  });

  it("a layer before the network's input is misplaced-statement (nothing flows into it)", () => {
    const a = checkInvariants("layernorm\ninput 28x28x1\nconv 2 3x3");
    expect(codesOf(a)).toEqual(["misplaced-statement"]);
    expect(a.diagnostics[0]!.span.line).toBe(1);
  });

  it("an error at the very end of the file has an in-range span", () => {
    for (const text of ["network n", "network n {", "input 3\nrepeat 2", "block b(c"]) {
      const a = checkInvariants(text);
      expect(codesOf(a)).toContain("syntax-error");
      for (const d of a.diagnostics) expect(d.span.endOffset).toBeLessThanOrEqual(text.length);
    }
  });

  it("a very long line of errors renders a bounded excerpt per diagnostic", () => {
    const text = "input 3\n" + "é ".repeat(20_000);
    const a = checkInvariants(text);
    // The first MAX_LEX_ERRORS, then one saying that reading stopped.
    expect(a.diagnostics.length).toBe(MAX_LEX_ERRORS + 1);
    expect(a.diagnostics[MAX_LEX_ERRORS]!.message).toMatch(/too many unexpected characters/);
    const rendered = renderAll(a.diagnostics, "f.dl", text);
    // Each diagnostic quotes a window of its line, not all 40,000 characters of it.
    expect(rendered.length).toBeLessThan(a.diagnostics.length * 600);
  });
});
