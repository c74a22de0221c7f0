// Golden diagnostics: one small `.dl` per diagnostic code, with its rendered human output beside it.
//
//   tests/golden/<code>.dl             the source that triggers <code>
//   tests/golden/<code>--<variant>.dl  more cases for the same code (the one-liner of §1, §7's example, block chains)
//   tests/golden/<name>.txt            renderAll(diagnostics, "<name>.dl", text), no colour
//
// Run with UPDATE_GOLDEN=1 to rewrite the .txt files, then read every changed one by eye.
import { existsSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { analyze } from "../src/index.js";
import { CODES } from "../src/diag/codes.js";
import { renderAll, toJson } from "../src/diag/render.js";
import { expectGolden } from "./helpers/golden.js";

const GOLDEN_DIR = join(dirname(fileURLToPath(import.meta.url)), "golden");

/**
 * Codes no `.dl` file can trigger yet. Each entry says why; when one becomes reachable, add its
 * golden file and remove it from here (the test below fails while both exist).
 */
const UNTRIGGERABLE: Readonly<Record<string, string>> = {
  // src/layers/geometry.ts checks kernel-too-large first. A kernel that fits its padded input gives
  // floor((H + 2P - K) / S) + 1 ≥ 1 (and ceil mode only ever adds), stride, pad and sizes are
  // validated as ≥ 1 / ≥ 0 before, so no conv or pool reaches a non-positive output size.
  "shape-size": "guarded by kernel-too-large and argument validation",
  // Reported by `dlc export --to onnx`, not by `dlc check`: tests/export-onnx.test.ts covers it.
  "onnx-export": "an export diagnostic, tested in tests/export-onnx.test.ts",
  "pytorch-export": "an export diagnostic, tested in tests/export-pytorch.test.ts",
};

const goldenSources = readdirSync(GOLDEN_DIR)
  .filter((f) => f.endsWith(".dl"))
  .sort();

/** `shape-rank--one-liner.dl` → `shape-rank`. */
function codeOf(file: string): string {
  return basename(file, ".dl").split("--")[0]!;
}

function analyzeGolden(file: string) {
  const text = readFileSync(join(GOLDEN_DIR, file), "utf8");
  // As `dlc check` does without --network: every network of the file is checked.
  return { text, analysis: analyze(text, { allNetworks: true }) };
}

describe("golden diagnostics", () => {
  it("has golden sources", () => {
    expect(goldenSources.length).toBeGreaterThan(20);
  });

  for (const file of goldenSources) {
    const code = codeOf(file);
    const txt = join(GOLDEN_DIR, file.replace(/\.dl$/, ".txt"));

    it(`${file} triggers '${code}' with the catalogue's severity`, () => {
      expect(Object.keys(CODES), `'${code}' (from the file name) is not a code in src/diag/codes.ts`).toContain(code);
      const { analysis } = analyzeGolden(file);
      const own = analysis.diagnostics.filter((d) => d.code === code);
      expect(own.length, `${file} no longer produces '${code}'; it produced: ${analysis.diagnostics.map((d) => d.code).join(", ") || "nothing"}`).toBeGreaterThan(0);
      for (const d of own) expect(d.severity).toBe(CODES[code as keyof typeof CODES].severity);
    });

    it(`${file} renders as ${basename(txt)}`, () => {
      const { text, analysis } = analyzeGolden(file);
      const rendered = renderAll(analysis.diagnostics, file, text) + "\n";
      expect(rendered).not.toMatch(/\x1b\[/);
      expectGolden(rendered, txt, "tests/golden.test.ts");
    });
  }

  it("every .txt has its .dl", () => {
    const orphans = readdirSync(GOLDEN_DIR)
      .filter((f) => f.endsWith(".txt"))
      .filter((f) => !goldenSources.includes(f.replace(/\.txt$/, ".dl")));
    expect(orphans).toEqual([]);
  });

  it("every code in the catalogue has a golden file or is listed as untriggerable", () => {
    const covered = new Set(goldenSources.map(codeOf));
    const uncovered = Object.keys(CODES).filter((c) => !covered.has(c) && !(c in UNTRIGGERABLE));
    expect(uncovered, "add tests/golden/<code>.dl (and its .txt) for each of these").toEqual([]);
  });

  it("the untriggerable list names only catalogue codes without a golden file", () => {
    const covered = new Set(goldenSources.map(codeOf));
    for (const code of Object.keys(UNTRIGGERABLE)) {
      expect(Object.keys(CODES)).toContain(code);
      expect(covered.has(code), `'${code}' now has a golden file: remove it from UNTRIGGERABLE`).toBe(false);
    }
  });
});

describe("golden files are compared, not created", () => {
  it("a missing golden file fails and is not written; UPDATE_GOLDEN writes it", () => {
    const path = join(mkdtempSync(join(tmpdir(), "dlc-golden-")), "missing.txt");
    expect(() => expectGolden("text\n", path, "tests/golden.test.ts", false)).toThrow(/missing\.txt is missing: run UPDATE_GOLDEN=1/);
    expect(existsSync(path)).toBe(false);
    expectGolden("text\n", path, "tests/golden.test.ts", true);
    expect(readFileSync(path, "utf8")).toBe("text\n");
    expectGolden("text\n", path, "tests/golden.test.ts", false);
    expect(() => expectGolden("other\n", path, "tests/golden.test.ts", false)).toThrow();
  });
});

describe("LANGUAGE.md examples", () => {
  it("§1: the one-liner parses as written and fails the shape check on conv", () => {
    const text = readFileSync(join(GOLDEN_DIR, "shape-rank--one-liner.dl"), "utf8");
    expect(text.trim()).toBe("layer dense 2 relu; conv 3x3 stride 1 pad 0; lstm 8");
    const { diagnostics } = analyze(text);
    expect(diagnostics.filter((d) => d.code === "syntax-error" || d.code === "lex-error")).toEqual([]);
    const rank = diagnostics.filter((d) => d.code === "shape-rank");
    expect(rank.map((d) => d.message)).toEqual(["conv expects an [H,W,C] input, got [2] from 'dense 2 relu' (1:1)"]);
    // The span is the conv statement: columns 21 to 43 ("conv 3x3 stride 1 pad 0").
    expect([rank[0]!.span.line, rank[0]!.span.column, rank[0]!.span.endColumn]).toEqual([1, 21, 44]);
  });

  it("§7: the human form of the conv error, exactly", () => {
    const text = readFileSync(join(GOLDEN_DIR, "shape-rank--section7.dl"), "utf8");
    const lines = text.split("\n");
    expect(lines[0]).toBe("dense 2 relu");
    expect(lines[2]).toBe("  conv 3x3 stride 1 pad 0");
    const rank = analyze(text).diagnostics.filter((d) => d.code === "shape-rank");
    expect(rank).toHaveLength(1);
    expect(renderAll(rank, "net.dl", text)).toBe(
      [
        "net.dl:3:3: error: conv expects an [H,W,C] input, got [2] from 'dense 2 relu' (1:1)",
        "  3 |   conv 3x3 stride 1 pad 0",
        "    |   ^^^^^^^^^^^^^^^^^^^^^^^",
      ].join("\n"),
    );
  });

  it("§7: the JSON form of the conv error", () => {
    const text = readFileSync(join(GOLDEN_DIR, "shape-rank--section7.dl"), "utf8");
    const rank = analyze(text).diagnostics.filter((d) => d.code === "shape-rank");
    expect(toJson(rank[0]!, "net.dl")).toEqual({
      severity: "error",
      code: "shape-rank",
      message: "conv expects an [H,W,C] input, got [2] from 'dense 2 relu' (1:1)",
      file: "net.dl",
      line: 3,
      column: 3,
      endLine: 3,
      endColumn: 26,
    });
  });

  it("an error inside nested block calls names every call site, innermost first", () => {
    const { analysis } = analyzeGolden("shape-mismatch--block-chain.dl");
    const mismatch = analysis.diagnostics.filter((d) => d.code === "shape-mismatch");
    expect(mismatch).toHaveLength(1);
    expect(mismatch[0]!.notes).toEqual(["in block 'bottleneck' called at 12:5", "in block 'stage' called at 18:3"]);
    // 8x8x16 through conv 8 1x1, then conv 4*8 3x3 pad 1: [8,8,32] cannot be added to the input [8,8,16].
    expect(mismatch[0]!.message).toContain("[8,8,32]");
    expect(mismatch[0]!.message).toContain("[8,8,16]");
  });
});
