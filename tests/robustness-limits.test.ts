// Resource bounds: work that grows without layers, suggestions for huge names, arrays spread into
// calls, and networks too big to hold. Each case ends in a result or a clear refusal; the expected
// numbers are worked out by hand in the comments beside them.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { analyze, summarize } from "../src/index.js";
import { memoryNeeds } from "../src/check/memory.js";
import { renderSummaryTable } from "../src/cli/summary-table.js";
import { MAX_COMPILED_LAYERS, tooLargeToCompile } from "../src/codegen/limits.js";
import { noColors } from "../src/diag/render.js";
import { closest as moduleClosest } from "../src/codegen/runtime/errors.js";
import { closest } from "../src/util/suggest.js";
import { dlc, ROOT, type Run } from "./helpers/dlc-cli.js";
import { checkInvariants, codesOf, errorsOf, nodeCount } from "./helpers/robustness.js";

describe("repeats whose bodies make nothing", () => {
  it("four nested repeats of 1000 around an empty body are nothing, and quick", () => {
    const text = "input 3\nrepeat 1000 { repeat 1000 { repeat 1000 { repeat 1000 { } } } }\nrelu";
    const a = checkInvariants(text);
    expect(a.diagnostics).toEqual([]);
    expect(nodeCount(text)).toBe(2);
  });

  it("the same nest with one layer deep inside is too-large before anything is expanded", () => {
    const text = "input 3\nrepeat 1000 { repeat 1000 { repeat 1000 { repeat 1000 { relu } } } }";
    expect(errorsOf(text)).toEqual(["too-large"]);
    expect(nodeCount(text)).toBe(1);
  });

  it("an empty body is still checked, once: a bad count deep inside is one error", () => {
    const a = checkInvariants("input 3\nrepeat 1000 { repeat 1000 { repeat 1000 { repeat 0 - 1 { } } } }");
    expect(codesOf(a)).toEqual(["bad-value"]);
  });

  it("a block that makes nothing, called 10^9 times, is nothing (not a billion layers)", () => {
    const a = checkInvariants("block nothing { }\ninput 3\nrepeat 1000000000 { nothing }\ndense 2");
    expect(a.diagnostics).toEqual([]);
    expect(summarize(a.selected!).totalParams).toBe(3 * 2 + 2);
  });

  it("a body of one layer and 20 empty repeats, 400,000 times, is refused by the statements it would visit", () => {
    // 400,000 layers fit under 1,000,000, but each iteration visits 21 statements: 8.4 million.
    const text = "input 3\nrepeat 400000 { relu " + "repeat 1 { } ".repeat(20) + "}";
    const a = checkInvariants(text);
    expect(codesOf(a)).toEqual(["too-large"]);
    expect(a.diagnostics[0]!.message).toMatch(/statements/);
    expect(nodeCount(text)).toBe(1);
  });

  it("a repeat whose layers and statements fit still expands exactly", () => {
    // 1000 × (one dense 3 → 3 plus five empty repeats visited once each).
    const a = checkInvariants("input 3\nrepeat 1000 { dense 3 " + "repeat 7 { } ".repeat(5) + "}");
    expect(a.hasErrors).toBe(false);
    expect(summarize(a.selected!).totalParams).toBe(1000 * (3 * 3 + 3));
  });
});

describe("did you mean, for huge and many names", () => {
  const long = "q".repeat(20_000);

  it("a name far longer than every candidate is skipped without filling a table", () => {
    const budget = { cells: 1000 };
    expect(closest(long, ["dense", "relu", "conv", "q".repeat(30)], budget)).toBeUndefined();
    expect(budget.cells).toBe(1000);
  });

  it("the tables filled stop at the budget, and what was found before still counts", () => {
    // 10 × 10 = 100 cells a candidate: a budget of 250 pays for two, and the third stops the search.
    const budget = { cells: 250 };
    const candidates = ["abcdefghiz", "zzzzzzzzzz", "abcdefghij", "yyyyyyyyyy"];
    expect(closest("abcdefghik", candidates, budget)).toBe("abcdefghiz");
    expect(budget.cells).toBe(0);
    // With room for all: the equal candidate costs no table, the three others 100 cells each.
    const roomy = { cells: 400 };
    expect(closest("abcdefghij", candidates, roomy)).toBe("abcdefghij");
    expect(roomy.cells).toBe(100);
  });

  it("two 100,000-character names one edit apart are past the budget: no suggestion, in dlc and in the module", () => {
    // 10^10 cells would be needed; both stop at the default budget instead of filling them.
    const word = "x".repeat(100_000);
    expect(closest(word, [word + "y"])).toBeUndefined();
    expect(moduleClosest(word, [word + "y"])).toBeUndefined();
    // The module's copy skips by length as dlc's does, and still suggests what is close.
    expect(moduleClosest(long, ["x", "y"])).toBeUndefined();
    expect(moduleClosest("lables", ["labels", "inputs"])).toBe("labels");
  });

  it("an unknown option word of 20,000 characters is echoed cut, with its length", () => {
    const a = checkInvariants(`input 3\ndense 4 ${long}`);
    expect(codesOf(a)).toEqual(["unknown-option"]);
    expect(a.diagnostics[0]!.message).toMatch(/^dense has no option 'q{60}… \(20,000 characters\)'; it takes /);
  });

  it("ordinary typos are still suggested", () => {
    expect(closest("dnse", ["dense", "relu", "dropout"])).toBe("dense");
    expect(closest("Relu", ["dense", "relu"])).toBe("relu");
  });

  it("a 20,000-character unknown name used 50 times, as a value and as a layer kind, is reported once each", () => {
    const text = ["input 3", "a: dense 3", ...Array(50).fill(`from ${long}`), ...Array(50).fill(long)].join("\n");
    const a = checkInvariants(text);
    expect(codesOf(a).sort()).toEqual(["unknown-layer", "unknown-name"]);
    for (const d of a.diagnostics) {
      expect(d.message).not.toMatch(/did you mean/);
      expect(d.message).toContain("(20,000 characters)");
      expect(d.message.length).toBeLessThan(200);
      expect(d.notes).toEqual([expect.stringMatching(/ and 46 more places \(reported once\)$/)]);
    }
    const name = a.diagnostics.find((d) => d.code === "unknown-name")!;
    expect(name.span.line).toBe(3);
    expect(name.notes[0]).toMatch(/^also used at 4:6, 5:6, 6:6 and 46 more/);
  });

  it("a typo used twice is one diagnostic with the suggestion and a note naming the other place", () => {
    const a = checkInvariants("input 3\nskip: dense 3\nfrom skp\nrelu\nfrom skp");
    expect(a.diagnostics.map((d) => [d.code, d.span.line, d.message, d.notes])).toEqual([
      ["unknown-name", 3, "no value is named 'skp'; did you mean 'skip'?", ["also used at 5:6 (reported once)"]],
    ]);
  });

  it("one use inside a block called three times stays one diagnostic without a note", () => {
    const a = checkInvariants("block b { from nope }\ninput 3\nb\nb\nb");
    expect(a.diagnostics.map((d) => [d.code, d.notes.filter((n) => n.startsWith("also"))])).toEqual([["unknown-name", []]]);
  });
});

describe("no argument spread over network-sized arrays", () => {
  it("the summary table of repeat 125000 { relu } renders every row", () => {
    const a = analyze("input 3\nrepeat 125000 { relu }");
    const table = renderSummaryTable(summarize(a.selected!), { file: "f.dl", batch: 1, convention: "dlc", colors: noColors });
    expect(table).toContain("relu125000");
    expect(table.split("\n").filter((l) => /^relu\d+ /.test(l))).toHaveLength(125_000);
  });
});

describe("memory needs", () => {
  it("are counted per part: input 3, dense 4, relu at batch 5 in float64 with Adam", () => {
    const a = analyze("input 3\ndense 4\nrelu");
    const needs = memoryNeeds(a.selected!, { bytesPerValue: 8, batch: 5, training: true, optimizerSlots: 2 });
    // 3·4 + 4 = 16 parameters, 16 gradients, 32 Adam moments; outputs 4 + 4 per sample × 5 = 40.
    expect([needs.parameters, needs.gradients, needs.optimizerState, needs.activations]).toEqual([16 * 8, 16 * 8, 32 * 8, 40 * 8]);
    expect(needs.total).toBe((16 + 16 + 32 + 40) * 8);
    // The largest array: one layer's output at batch 5 (20 values), more than the 12 weights.
    expect(needs.largestArray).toBe(20);
    expect(needs.biggest?.kind).toBe("dense");
    const inference = memoryNeeds(a.selected!, { bytesPerValue: 4, batch: 1, training: false, optimizerSlots: 2 });
    expect(inference.total).toBe((16 + 8) * 4);
  });

  it("check warns (too-much-memory, a warning) for 14.55 TiB of training, at the first of the two biggest layers", () => {
    const a = checkInvariants("input 1000000\ndense 1000000\ndense 1000000");
    expect(a.hasErrors).toBe(false);
    expect(codesOf(a)).toEqual(["too-much-memory"]);
    const w = a.diagnostics[0]!;
    expect([w.severity, w.span.line]).toEqual(["warning", 2]);
    // Float32 at batch 1: 2 · (10^12 + 10^6) parameters and as many gradients, 2 · 10^6 outputs:
    // (4 · (10^12 + 10^6) + 2 · 10^6) · 4 bytes = 16,000,024,000,000 B = 14.552 TiB.
    expect(w.message).toContain("14.55 TiB");
    expect(w.message).toContain("4.00 GiB");
  });

  it("the warning's line is 4 GiB: 16384 → 16384 dense with SGD stays under it, with Adam passes it", () => {
    // 16384² + 16384 = 268,451,840 weights. SGD: (2 · 268,451,840 + 16,384) · 4 = 2,147,680,256 B.
    // Adam adds two moments: (4 · 268,451,840 + 16,384) · 4 = 4,295,294,976 B > 4,294,967,296.
    expect(codesOf(checkInvariants("input 16384\ndense 16384\ntrain {\n  loss squared\n  optimizer sgd lr 0.1\n}"))).toEqual([]);
    expect(codesOf(checkInvariants("input 16384\ndense 16384\ntrain {\n  loss squared\n  optimizer adam\n}"))).toEqual(["too-much-memory"]);
  });

  it("every example checks without it", () => {
    for (const f of readdirSync(join(ROOT, "examples")).filter((x) => x.endsWith(".dl"))) {
      expect(codesOf(analyze(readFileSync(join(ROOT, "examples", f), "utf8"))), f).not.toContain("too-much-memory");
    }
  });
});

describe("compile limits", () => {
  it(`more than ${MAX_COMPILED_LAYERS.toLocaleString("en-US")} layers is refused with the count, before generating`, () => {
    const over = analyze(`input 3\nrepeat ${MAX_COMPILED_LAYERS + 1} { relu }`).selected!;
    expect(tooLargeToCompile(over, { precision: "f32" })).toMatch(/has 10,001 layers; dlc compile generates modules of up to 10,000/);
    const at = analyze(`input 3\nrepeat ${MAX_COMPILED_LAYERS} { relu }`).selected!;
    expect(tooLargeToCompile(at, { precision: "f32" })).toBeUndefined();
  });

  it("arrays past 4 GiB are refused for the WebAssembly kernels; past one array's length for any kernels", () => {
    // One sample of 100000x100000x3 is 3·10^10 values, and conv 8 3x3 makes 8·99998² ≈ 8·10^10 more.
    const huge = analyze("input 100000x100000x3\nconv 8 3x3\nglobalavgpool\ndense 10").selected!;
    expect(tooLargeToCompile(huge, { precision: "f32" })).toMatch(/more than the 4\.00 GiB its WebAssembly kernels address/);
    expect(tooLargeToCompile(huge, { precision: "f64" })).toMatch(/an array of 79,996,800,032 values, more than the 4,294,967,296/);
    // 16384 → 16384 with Adam: 4.0003 GiB in float32 (as above), over for wasm; f64 arrays are each small enough.
    const adam = analyze("input 16384\ndense 16384\ntrain {\n  loss squared\n  optimizer adam\n}");
    expect(tooLargeToCompile(adam.selected!, { precision: "f32", train: adam.train })).toMatch(/4\.00 GiB/);
    expect(tooLargeToCompile(adam.selected!, { precision: "f32", kernels: "js", train: adam.train })).toBeUndefined();
  });
});

describe("too big to run: refused with the sizes, exit 2, never an internal error", () => {
  let dir = "";
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "dlc-limits-"));
    writeFileSync(join(dir, "big.dl"), "input 1000000\ndense 1000000\ndense 1000000\ntrain { loss squared }\n");
    writeFileSync(join(dir, "wide.dl"), "input 100000x100000x3\nconv 8 3x3\nglobalavgpool\ndense 10\n");
    writeFileSync(join(dir, "long.dl"), "input 4\nrepeat 80000 { relu }\n");
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const refused = (r: Run, pattern: RegExp): void => {
    expect(r.stderr).not.toMatch(/internal error/);
    expect(r.stderr).toMatch(pattern);
    expect(r.code).toBe(2);
  };

  it("dlc train and dlc run of 10^12-weight layers name what they need before allocating", async () => {
    // Float64 at batch 1, training: 2 · (10^12 + 10^6) weights and gradients = 29.10 TiB.
    refused(await dlc(["train", "big.dl", "--data", "none.json"], { cwd: dir }), /training this network needs at least 29\.10 TiB .*; this machine has .* of memory/);
    refused(await dlc(["run", "big.dl", "--data", "none.json", "--weights", "none.json"], { cwd: dir }), /running this network needs at least 14\.55 TiB/);
  });

  it("dlc compile of a 100000x100000x3 input says why instead of failing in the encoder", async () => {
    refused(await dlc(["compile", "wide.dl", "-o", "wide.mjs"], { cwd: dir }), /dlc compile cannot generate this module: .*4\.00 GiB/);
    expect(existsSync(join(dir, "wide.mjs"))).toBe(false);
  });

  it("dlc compile of 80,000 layers is refused with the limit", async () => {
    refused(await dlc(["compile", "long.dl", "-o", "long.mjs"], { cwd: dir }), /has 80,000 layers; dlc compile generates modules of up to 10,000/);
    expect(existsSync(join(dir, "long.mjs"))).toBe(false);
  });
});
