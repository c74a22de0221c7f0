// Bad input, at random: token soup, loosely structured programs and mutilated examples.
// Whatever arrives, `analyze` returns (a hang shows as the test's timeout), never throws,
// and every diagnostic's span is in range and agrees with its offsets; rendering and JSON
// never throw either. See tests/helpers/robustness.ts for the invariants. "hostile sizes" adds
// issue 12's bombs: nested and empty repeats with huge counts, names of up to 200,000 characters
// used many times, numbers past float64. About 3,250 cases in all at ROBUSTNESS_SCALE=1.
import { readdirSync, readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { analyze } from "../src/index.js";
import { checkInvariants } from "./helpers/robustness.js";

/** ROBUSTNESS_SCALE=20 npx vitest run tests/robustness.test.ts fuzzes 20 times longer. */
const scale = Math.max(1, Number(process.env.ROBUSTNESS_SCALE ?? "1") || 1);

const KEYWORDS = ["network", "block", "train", "layer", "repeat", "residual", "shortcut", "parallel", "branch"];
const KINDS = [
  "input", "dense", "conv", "maxpool", "avgpool", "minpool", "globalavgpool", "flatten", "upsample", "dropout",
  "batchnorm", "layernorm", "relu", "sigmoid", "tanh", "softmax", "linear", "leakyrelu", "embedding", "rnn", "lstm",
  "gru", "add", "concat", "attention", "from",
];
const OPTIONS = [
  "stride", "pad", "same", "valid", "ceil", "bias", "false", "true", "frozen", "sequences", "bidirectional", "layers",
  "units", "dot", "bilinear", "mlp", "alpha", "bptt", "loss", "optimizer", "sgd", "adam", "lr", "momentum", "batch",
  "epochs", "seed", "squared", "cross_entropy", "binary_cross_entropy",
];
const NAMES = ["a", "b", "c", "x", "enc", "dec", "net", "blk", "s", "n", "_", "conv1", "dense2"];
const NUMBERS = [
  "0", "1", "2", "3", "4", "5", "7", "10", "16", "28", "64", "784", "1000000", "1000000000", "1000000000000",
  "99999999999999999999", "0.5", "0.99", "1e-3", "1.5e2", ".5", "1e400", "007", "2147483648",
];
const DIMS = ["3x3", "5x5", "1x1", "0x0", "2x2", "28x28x1", "227x227x3", "1x2x3x4", "10x20", "99999x99999x99999"];
const PUNCT = ["{", "}", "(", ")", ":", ";", ",", "=", "+", "-", "*", "/"];
const LAYOUT = ["\n", "\r\n", "\n\n", "\t", "# a comment\n", "// another\n", "#", "//", "\r"];
const STRAY = [
  "é", "ß", "∑", "→", "😀", "\u0000", "\u0007", "\u001b", "\u007f", "\u200b", "\ufeff", "\u2028", "\ud800", "\\", '"', "'",
  "@", "$", "`", "~", "!", "?", ".", "..", "x", "[", "]", "<", ">", "|", "&", "%", "^",
];

const token = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...KEYWORDS) },
  { weight: 5, arbitrary: fc.constantFrom(...KINDS) },
  { weight: 4, arbitrary: fc.constantFrom(...OPTIONS) },
  { weight: 2, arbitrary: fc.constantFrom(...NAMES) },
  { weight: 5, arbitrary: fc.oneof(fc.constantFrom(...NUMBERS), fc.nat({ max: 300 }).map(String)) },
  { weight: 3, arbitrary: fc.oneof(fc.constantFrom(...DIMS), fc.tuple(fc.nat(40), fc.nat(40)).map(([h, w]) => `${h}x${w}`)) },
  { weight: 6, arbitrary: fc.constantFrom(...PUNCT) },
  { weight: 3, arbitrary: fc.constantFrom(...LAYOUT) },
  { weight: 2, arbitrary: fc.constantFrom(...STRAY) },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 3 }) },
);
const separator = fc.constantFrom(" ", " ", " ", "", "\n", "  ", "\t");

/** Tokens of the language and garbage, glued by random layout. */
const soup = fc.array(fc.tuple(token, separator), { maxLength: 60 }).map((parts) => parts.map(([t, s]) => t + s).join(""));

/** Loosely structured programs: plausible statements in random structures, lightly corrupted. */
const argument = fc.oneof(
  fc.constantFrom(...NUMBERS, ...DIMS, ...OPTIONS, ...NAMES),
  fc.nat({ max: 64 }).map(String),
  fc.tuple(fc.constantFrom(...OPTIONS, ...NAMES), fc.constantFrom(...NUMBERS, ...OPTIONS, ...NAMES)).map(([k, v]) => `${k} = ${v}`),
  fc.tuple(fc.constantFrom("c", "s", "n", "2", "3"), fc.constantFrom("+", "-", "*", "/"), fc.constantFrom("c", "s", "1", "2", "0")).map(([a, op, b]) => `(${a} ${op} ${b})`),
);
const statementText = fc
  .tuple(fc.option(fc.constantFrom(...NAMES), { nil: undefined }), fc.constantFrom(...KINDS, ...NAMES), fc.array(argument, { maxLength: 4 }), fc.boolean())
  .map(([label, head, args, call]) => `${label ? `${label}: ` : ""}${head}${call ? `(${args.join(", ")})` : args.length ? " " + args.join(" ") : ""}`);
const { program } = fc.letrec<{ program: string; body: string; statement: string }>((tie) => ({
  statement: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    { weight: 6, arbitrary: statementText },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom("2", "0", "n", "3*c", "-1", "1000000000"), tie("body")).map(([n, b]) => `repeat ${n} ${b}`) },
    { weight: 1, arbitrary: fc.tuple(tie("body"), fc.option(tie("body"), { nil: undefined })).map(([b, s]) => `residual ${b}${s ? ` shortcut ${s}` : ""}`) },
    { weight: 1, arbitrary: fc.array(tie("body"), { maxLength: 3 }).map((bs) => `parallel { ${bs.map((b) => `branch ${b}`).join("\n")} }`) },
  ),
  body: fc.array(tie("statement"), { maxLength: 4 }).map((ss) => `{\n${ss.join("\n")}\n}`),
  program: fc
    .array(
      fc.oneof(
        tie("statement"),
        fc.tuple(fc.option(fc.constantFrom(...NAMES), { nil: undefined }), tie("body")).map(([n, b]) => `network ${n ?? ""} ${b}`),
        fc.tuple(fc.constantFrom(...NAMES), fc.array(fc.constantFrom("c", "s = 2", "n = 3", "c = 4*2"), { maxLength: 3 }), tie("body")).map(([n, ps, b]) => `block ${n}(${ps.join(", ")}) ${b}`),
        fc.constantFrom("train { loss cross_entropy\n optimizer sgd lr 0.1 momentum 0.9\n batch 4 }", "train { loss nonsense; epochs -1 }", "input 28x28x1", "input 784", "input 10x8"),
      ),
      { maxLength: 8 },
    )
    .map((parts) => parts.join("\n")),
}));

/** Deletes, duplicates, swaps or inserts characters here and there. */
const corruption = fc.array(
  fc.tuple(fc.constantFrom("delete", "duplicate", "insert", "swap"), fc.nat(), fc.oneof(fc.constantFrom(...PUNCT, ...STRAY, ...LAYOUT), fc.constantFrom(...KINDS))),
  { maxLength: 3 },
);

function corrupt(text: string, edits: readonly (readonly [string, number, string])[]): string {
  let t = text;
  for (const [op, at, piece] of edits) {
    const i = t.length === 0 ? 0 : at % (t.length + 1);
    if (op === "delete") t = t.slice(0, i) + t.slice(i + 1);
    else if (op === "duplicate") t = t.slice(0, i) + t.slice(i, i + 3) + t.slice(i);
    else if (op === "insert") t = t.slice(0, i) + piece + t.slice(i);
    else if (i + 1 < t.length) t = t.slice(0, i) + t[i + 1] + t[i] + t.slice(i + 2);
  }
  return t;
}

/** The options a CLI user can pass: none, an --input shape, a --network name, every network. */
const options = fc.oneof(
  { weight: 4, arbitrary: fc.constant({}) },
  { weight: 1, arbitrary: fc.constantFrom<number[]>([10], [28, 28, 1], [5, 8], [7]).map((inputShape) => ({ inputShape })) },
  { weight: 1, arbitrary: fc.constantFrom(...NAMES).map((network) => ({ network })) },
  { weight: 1, arbitrary: fc.constant({ allNetworks: true }) },
);

describe("token soup", () => {
  it("never throws and keeps every span in range", () => {
    fc.assert(
      fc.property(soup, options, (text, opts) => {
        checkInvariants(text, opts);
      }),
      { numRuns: 500 * scale },
    );
  });

  it("structured programs with light corruption keep every invariant", () => {
    fc.assert(
      fc.property(program, corruption, options, (text, edits, opts) => {
        checkInvariants(corrupt(text, edits), opts);
      }),
      { numRuns: 400 * scale },
    );
  });

  it("structured programs also analyze uncorrupted (the builder and checker see real structure)", () => {
    let clean = 0;
    fc.assert(
      fc.property(program, (text) => {
        if (!checkInvariants(text).hasErrors) clean++;
      }),
      { numRuns: 300 * scale },
    );
    // Not a tautology: some random programs must get through to shape checking cleanly.
    expect(clean).toBeGreaterThan(0);
  });
});

// --- hostile sizes: nested repeats, very long names, numbers past float64 ---------------------
// Issue 12's bombs, at random: nested (and empty) repeats whose counts multiply past any
// budget, names of up to 200,000 characters used again and again (did-you-mean compares them),
// and numbers past float64's range or precision wherever a number goes.

const SMALL_COUNTS = ["0", "1", "2", "3"];
const HUGE_COUNTS = ["1000000000", "1000000000000", "99999999999999999999", "1e309", "9007199254740993", "4294967296"];
const ODD_COUNTS = ["-1", "2.5", "0x10", "n", "(2 * 3)"];
/** Around bodies that make no layer, any count: the work must be bounded, not only the layers made. */
const EMPTY_COUNT = fc.oneof(
  { weight: 2, arbitrary: fc.constantFrom(...SMALL_COUNTS) },
  { weight: 3, arbitrary: fc.constantFrom("10", "1000", "65536", "1000000", ...HUGE_COUNTS) },
  { weight: 1, arbitrary: fc.constantFrom(...ODD_COUNTS) },
);
/**
 * Around bodies that make layers, small or huge counts: small ones keep the network small (this is
 * not a test of how fast a million layers check), huge ones must be refused before expanding.
 */
const LAYER_COUNT = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom(...SMALL_COUNTS) },
  { weight: 2, arbitrary: fc.constantFrom(...HUGE_COUNTS) },
  { weight: 1, arbitrary: fc.constantFrom(...ODD_COUNTS) },
);
const CHEAP_LAYER = fc.constantFrom("relu", "dense 4", "linear", "dropout 0.1", "layernorm", "x: dense 4", "add x");
const repeatOf = (n: string, body: readonly string[]): string => `repeat ${n} {${body.length ? "\n" + body.join("\n") + "\n" : " "}}`;
const { empty, full } = fc.letrec<{ empty: string; full: string }>((tie) => ({
  empty: fc.oneof(
    { depthSize: "small", maxDepth: 5 },
    EMPTY_COUNT.map((n) => repeatOf(n, [])),
    fc.tuple(EMPTY_COUNT, fc.array(tie("empty"), { maxLength: 3 })).map(([n, body]) => repeatOf(n, body)),
  ),
  full: fc
    .tuple(LAYER_COUNT, fc.array(fc.oneof({ depthSize: "small", maxDepth: 4 }, { weight: 3, arbitrary: CHEAP_LAYER }, { weight: 1, arbitrary: tie("empty") }, { weight: 2, arbitrary: tie("full") }), { maxLength: 3 }))
    .map(([n, body]) => repeatOf(n, body)),
}));
/** Chains of repeats, one inside the other, up to 60 deep: around nothing, or around one layer (counts 0, 1 or huge). */
const chain = (counts: fc.Arbitrary<string>, inner: fc.Arbitrary<string>): fc.Arbitrary<string> =>
  fc.tuple(fc.array(counts, { minLength: 1, maxLength: 60 }), inner).map(([ns, body]) => ns.reduceRight((b, n) => `repeat ${n} { ${b} }`, body));
const deepEmpty = chain(EMPTY_COUNT, fc.constant(""));
const deepFull = chain(fc.oneof({ weight: 6, arbitrary: fc.constant("1") }, { weight: 1, arbitrary: fc.constant("0") }, { weight: 2, arbitrary: fc.constantFrom(...HUGE_COUNTS) }), CHEAP_LAYER);
const nestedProgram = fc
  .tuple(
    fc.constantFrom("input 8\n", "input 4x4x2\n", ""),
    fc.array(fc.oneof(empty, full, deepEmpty, deepFull), { minLength: 1, maxLength: 3 }),
    fc.constantFrom("", "\ndense 2", "\nblock b(n) { repeat n { } }\nb 1000000000"),
  )
  .map(([head, parts, tail]) => head + parts.join("\n") + tail);

/** A valid name of 1 to 200,000 characters (mostly short: the long ones are the costly cases). */
const longName = fc
  .tuple(fc.constantFrom("a", "x", "Layer_", "z9", "_q"), fc.oneof({ weight: 3, arbitrary: fc.integer({ min: 1, max: 3000 }) }, { weight: 1, arbitrary: fc.integer({ min: 3000, max: 200_000 }) }))
  .map(([unit, n]) => unit.repeat(Math.ceil(n / unit.length)).slice(0, n));
/** Where a name goes: an unknown kind, a label, a reference, a block, a parameter, an option, a network. */
const NAME_USES: readonly ((name: string, other: string) => string)[] = [
  (n) => `${n} 4`,
  (n) => `${n}: dense 4`,
  (n) => `add ${n}`,
  (n) => `from ${n}\ndense 2`,
  (n) => `attention ${n} dot`,
  (n) => `dense 4 ${n} 3`,
  (n, o) => `block ${n}(c) { dense c }\n${o} 4`,
  (n, o) => `block b(${n}) { dense ${o} }\nb 4`,
  (n, o) => `${n}: input 8\nconcat ${o}`,
  (n) => `train { loss ${n}; optimizer ${n} ${n} 1 }`,
  (n) => `network ${n} { input 8 }`,
];
const longNameProgram = fc
  .tuple(longName, fc.constantFrom("", "x", "_", "Q"), fc.array(fc.nat(NAME_USES.length - 1), { minLength: 1, maxLength: 4 }), fc.integer({ min: 1, max: 60 }))
  .map(([name, suffix, uses, times]) => {
    // The near miss (one character off) is what did-you-mean measures against the name.
    const other = suffix ? name + suffix : name;
    // At most about 4 MB of text: 200,000 characters used 20 times.
    const repeats = Math.max(1, Math.min(times, Math.floor(4_000_000 / (name.length * uses.length))));
    const body = Array.from({ length: repeats }, (_, i) => NAME_USES[uses[i % uses.length]!]!(name, other)).join("\n");
    return { text: `input 8\n${body}\n`, name };
  });

/** Numbers past float64's range or exact integers, or odd spellings of one. */
const BIG_NUMBERS = [
  "1e309", "1e400", "-1e309", "1.7976931348623157e308", "1.7976931348623159e308", "9007199254740993", "9007199254740992",
  "99999999999999999999", "18446744073709551616", "4294967296", "2147483648", "1e-400", "4.9e-324", "0.0000000000000000000001",
  "9".repeat(400), "1" + "0".repeat(310), "0x10", "00000000000000000000001", "1e", "1e+5", "-0", "0.",
];
const bigNumber = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...BIG_NUMBERS) },
  { weight: 1, arbitrary: fc.bigInt({ min: 2n ** 53n, max: 10n ** 40n }).map(String) },
  { weight: 1, arbitrary: fc.integer({ min: 300, max: 400 }).map((e) => `1e${e}`) },
);
const NUMBER_SITES: readonly ((a: string, b: string) => string)[] = [
  (a) => `input ${a}`,
  (a, b) => `input ${a}x${b}x1`,
  (a) => `input 8\ndense ${a}`,
  (a, b) => `input 8x8x1\nconv ${a} ${b}x${b}`,
  (a, b) => `input 8x8x1\nconv 2 3x3 stride ${a} pad ${b}`,
  (a, b) => `input 8x8x1\nmaxpool ${a} stride ${b}`,
  (a) => `input 8x8x1\nupsample ${a}`,
  (a) => `input 8\ndropout ${a}`,
  (a) => `input 8\nleakyrelu ${a}`,
  (a, b) => `input 8\nembedding ${a} ${b}`,
  (a, b) => `input 8x4\nlstm ${a} layers ${b}`,
  (a) => `input 8\nrepeat ${a} { dense 2 }`,
  (a, b) => `q: input 8x4\nm: input ${a}x4\nattention q m mlp units ${b}`,
  (a, b) => `block b(c = ${a}) { dense c * ${b} }\ninput 8\nb`,
  (a, b) => `input 8\ndense (${a} - ${b}) / 2`,
  (a) => `input 8\ndense 2\ntrain { optimizer sgd lr ${a} }`,
  (a, b) => `input 8\ndense 2\ntrain {\n  optimizer sgd lr ${b} momentum ${a}\n}`,
  (a, b) => `input 8\ndense 2\ntrain {\n  optimizer adam lr ${b} beta1 ${a} beta2 ${a} eps ${a}\n}`,
  (a, b) => `input 8\ndense 2\ntrain {\n  optimizer adam eps ${a}\n  batch ${b}\n}`,
  (a) => `input 8\ndense 2\ntrain { batch ${a} }`,
  (a) => `input 8\ndense 2\ntrain { epochs ${a}; seed ${a}; bptt ${a} }`,
];
const bigNumberProgram = fc
  .tuple(fc.nat(NUMBER_SITES.length - 1), bigNumber, fc.oneof(bigNumber, fc.constantFrom("1", "2", "3", "0.5")))
  .map(([site, a, b]) => NUMBER_SITES[site]!(a, b));

describe("hostile sizes", () => {
  it("a train setting past float64 is an error that does not say Infinity (lr 1e309 was taken as Infinity)", () => {
    for (const setting of ["optimizer sgd lr 1e309", "optimizer sgd lr 0.1 momentum 1e400", "optimizer adam eps 1e309", "batch 1e309", "loss 1e309"]) {
      const { diagnostics } = analyze(`input 2\ndense 1\ntrain { ${setting} }\n`);
      expect(diagnostics.map((d) => [d.code, d.message.includes("too large for float64"), d.message.includes("Infinity")]), setting).toEqual([["bad-train", true, false]]);
      expect(diagnostics[0]!.message).toContain(`'${setting.match(/1e\d+/)![0]}'`);
    }
  });

  it("a shape literal with a size past 2^53 is refused as written, never as Infinity or a rounded number", () => {
    for (const dims of [`4x${"9".repeat(400)}`, "99999999999999999999x4", "9007199254740993x2x1"]) {
      const { diagnostics } = analyze(`input ${dims}\ndense 2\n`);
      const large = diagnostics.filter((d) => d.code === "too-large");
      expect(large.map((d) => [d.span.line, d.span.column, d.message.startsWith(`'${dims.slice(0, 40)}`)]), dims).toEqual([[1, 7, true]]);
      for (const d of diagnostics) expect(d.message).not.toMatch(/Infinity|e\+|9007199254740992|100000000000000000000/);
    }
  });

  it("arithmetic on a whole number past 2^53 is refused, not done on the rounded double", () => {
    for (const text of ["input 8\ndense 9007199254740993 + 2", "block b(c = 99999999999999999999) { dense c * 1 }\ninput 8\nb", "block b(c) { dense c / 1 }\ninput 8\nb 18446744073709551616"]) {
      const { diagnostics } = analyze(text);
      expect(diagnostics.map((d) => [d.code, d.message]), text).toEqual([["arithmetic", "whole numbers of 2^53 and more are too large for exact integer arithmetic"]]);
    }
  });

  it("nested repeats (empty bodies, deep chains, huge counts) keep every invariant", () => {
    fc.assert(
      fc.property(nestedProgram, (text) => {
        checkInvariants(text);
      }),
      { numRuns: 500 * scale },
    );
  });

  it("names of up to 200,000 characters, used many times, keep every invariant", () => {
    fc.assert(
      fc.property(longNameProgram, fc.boolean(), ({ text, name }, select) => {
        checkInvariants(text, select ? { network: name + "x" } : {});
      }),
      { numRuns: 150 * scale },
    );
  });

  it("numbers past float64 keep every invariant, are never called Infinity or NaN, and never reach a clean train block", () => {
    fc.assert(
      fc.property(bigNumberProgram, (text) => {
        const analysis = checkInvariants(text);
        // A literal float64 cannot hold is echoed as written, not as the number it rounds to.
        const rounded = (text.match(/\b\d{16,}\b/g) ?? []).map((l) => String(Number(l))).filter((r) => !text.includes(r));
        for (const d of analysis.diagnostics) {
          expect(d.message, text).not.toMatch(/Infinity|NaN/);
          for (const r of rounded) expect(d.message, text).not.toContain(r);
        }
        if (!analysis.hasErrors && analysis.train) {
          const { optimizer, span: _span, loss: _loss, ...counts } = analysis.train;
          const { kind: _kind, ...rates } = optimizer ?? { kind: "sgd" };
          for (const v of [...Object.values(counts), ...Object.values(rates)]) expect(Number.isFinite(v), `${text}: ${JSON.stringify(analysis.train)}`).toBe(true);
        }
      }),
      { numRuns: 800 * scale },
    );
  });
});

// --- random edits of the shipped examples --------------------------------------------------

const examplesDir = new URL("../examples/", import.meta.url);
const examples = readdirSync(examplesDir)
  .filter((f) => f.endsWith(".dl"))
  .sort()
  .map((file) => ({ file, text: readFileSync(new URL(file, examplesDir), "utf8") }));

/** Whitespace runs, punctuation and words: enough of a tokenizer to edit at token level. */
function pieces(text: string): string[] {
  return text.match(/\s+|#[^\n]*|\/\/[^\n]*|[{}():;,=+\-*/]|[^\s{}():;,=+\-*/#]+/g) ?? [];
}

type Edit = { op: "delete" | "duplicate" | "swap" | "insert" | "delete-char" | "insert-char"; at: number; piece: string };

const edit: fc.Arbitrary<Edit> = fc.record({
  op: fc.constantFrom("delete", "duplicate", "swap", "insert", "delete-char", "insert-char"),
  at: fc.nat(),
  piece: fc.oneof(token, fc.constantFrom(" ", "\n")),
});

function applyEdit(text: string, e: Edit): string {
  if (e.op === "delete-char" || e.op === "insert-char") {
    const i = e.at % (text.length + 1);
    return e.op === "delete-char" ? text.slice(0, i) + text.slice(i + 1) : text.slice(0, i) + e.piece.slice(0, 1) + text.slice(i);
  }
  const ps = pieces(text);
  const i = e.at % (ps.length + 1);
  switch (e.op) {
    case "delete":
      ps.splice(i, 1);
      break;
    case "duplicate":
      if (i < ps.length) ps.splice(i, 0, ps[i]!);
      break;
    case "swap":
      if (i + 1 < ps.length) [ps[i], ps[i + 1]] = [ps[i + 1]!, ps[i]!];
      break;
    case "insert":
      ps.splice(i, 0, e.piece);
      break;
  }
  return ps.join("");
}

describe("random edits of every example", () => {
  it("finds examples to edit", () => {
    expect(examples.length).toBeGreaterThan(0);
  });

  it("each example itself keeps the invariants", () => {
    for (const { text } of examples) checkInvariants(text);
  });

  // Spread a fixed budget over however many examples there are today.
  const runsEach = Math.max(20, Math.floor(600 / Math.max(1, examples.length)));
  it.each(examples.map((e) => [e.file, e.text] as const))("%s, edited at random, keeps every invariant", (_file, text) => {
    fc.assert(
      fc.property(fc.array(edit, { minLength: 1, maxLength: 6 }), (edits) => {
        checkInvariants(edits.reduce(applyEdit, text));
      }),
      { numRuns: runsEach * scale },
    );
  });

  it("the editor really edits (token pieces put back together give the text)", () => {
    for (const { text } of examples) expect(pieces(text).join("")).toBe(text);
    expect(applyEdit("dense 10 relu", { op: "delete", at: 2, piece: "" })).toBe("dense  relu");
    expect(applyEdit("dense 10 relu", { op: "swap", at: 2, piece: "" })).toBe("dense  10relu");
    expect(analyze(applyEdit("input 3\ndense 4", { op: "insert", at: 2, piece: "{" })).hasErrors).toBe(true);
  });
});
