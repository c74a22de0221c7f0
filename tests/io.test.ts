import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { analyze } from "../src/index.js";
import type { Tensor } from "../src/interp/tensor.js";
import { loadData } from "../src/io/data.js";
import { dataSpecOf, type DataSpec } from "../src/io/data-spec.js";
import { DataError } from "../src/io/index.js";
import { Packed, parseJsonBytes } from "../src/codegen/runtime/json.js";
import { decodeSafetensors, encodeSafetensors, halfToNumber } from "../src/codegen/runtime/safetensors.js";
import { expectedWeights, type ExpectedWeight } from "../src/io/weight-names.js";
import { checkWeights, readWeights, readWeightsFile, writeWeights } from "../src/io/weights.js";
import { loadSeedCases, seedCasesPath } from "./helpers/seed-cases.js";

const root = mkdtempSync(join(tmpdir(), "dlc-io-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let counter = 0;
function dir(): string {
  const d = join(root, `case${++counter}`);
  mkdirSync(d);
  return d;
}

function checked(text: string) {
  const a = analyze(text);
  expect(a.diagnostics.filter((d) => d.severity === "error").map((d) => d.message)).toEqual([]);
  return { net: a.selected!, train: a.train };
}

function names(text: string): string[] {
  return expectedWeights(checked(text).net).map((w) => `${w.name} [${w.shape.join(",")}]${w.kind === "state" ? " state" : ""}`);
}

/** Runs `f`, which must throw a DataError, and returns its message. */
function dataError(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(DataError);
    return (e as Error).message;
  }
  throw new Error("expected a DataError, but nothing was thrown");
}

/** Deterministic, irregular values (not from our own code under test). */
function values(n: number, seed: number): Float64Array {
  const out = new Float64Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    out[i] = (s / 2147483648 - 0.5) * 3.7 + i * 1e-7;
  }
  return out;
}

function randomWeights(expected: readonly ExpectedWeight[]): Map<string, Tensor> {
  const m = new Map<string, Tensor>();
  expected.forEach((e, k) => m.set(e.name, { shape: [...e.shape], data: values(e.shape.reduce((a, b) => a * b, 1), k + 1) }));
  return m;
}

describe("weight names and layouts (§8)", () => {
  it("dense, conv and batchnorm: Keras layouts, batchnorm statistics as state", () => {
    // conv 3x3 on 8x8x3 → 6x6x4; flatten 144.
    expect(names("input 8x8x3\nconv 4 3x3\nbn1: batchnorm\nflatten\ndense 2")).toEqual([
      "conv1.kernel [3,3,3,4]",
      "conv1.bias [4]",
      "bn1.gamma [4]",
      "bn1.beta [4]",
      "bn1.moving_mean [4] state",
      "bn1.moving_variance [4] state",
      "dense1.kernel [144,2]",
      "dense1.bias [2]",
    ]);
  });

  it("bias false drops the bias; layernorm and embedding", () => {
    expect(names("input 6\nembedding 11 5\nlayernorm\nflatten\ndense 3 bias false")).toEqual(["embedding1.embeddings [11,5]", "layernorm1.gamma [5]", "layernorm1.beta [5]", "dense1.kernel [30,3]"]);
  });

  it("stacked bidirectional lstm: <layer>.l<k>.<fw|bw>.<param>, layer 2 sees 2H", () => {
    expect(names("input 5x3\nlstm 4 sequences bidirectional layers 2")).toEqual([
      "lstm1.l1.fw.kernel [3,16]",
      "lstm1.l1.fw.recurrent_kernel [4,16]",
      "lstm1.l1.fw.bias [16]",
      "lstm1.l1.bw.kernel [3,16]",
      "lstm1.l1.bw.recurrent_kernel [4,16]",
      "lstm1.l1.bw.bias [16]",
      "lstm1.l2.fw.kernel [8,16]",
      "lstm1.l2.fw.recurrent_kernel [4,16]",
      "lstm1.l2.fw.bias [16]",
      "lstm1.l2.bw.kernel [8,16]",
      "lstm1.l2.bw.recurrent_kernel [4,16]",
      "lstm1.l2.bw.bias [16]",
    ]);
  });

  it("a single-layer one-way gru is <layer>.<param>, bias [2,3H]; rnn has G = 1", () => {
    expect(names("input 7x3\ngru 4\ndense 1")).toEqual(["gru1.kernel [3,12]", "gru1.recurrent_kernel [4,12]", "gru1.bias [2,12]", "dense1.kernel [4,1]", "dense1.bias [1]"]);
    expect(names("input 7x3\nrnn 5 layers 2")).toEqual([
      "rnn1.l1.fw.kernel [3,5]",
      "rnn1.l1.fw.recurrent_kernel [5,5]",
      "rnn1.l1.fw.bias [5]",
      "rnn1.l2.fw.kernel [5,5]",
      "rnn1.l2.fw.recurrent_kernel [5,5]",
      "rnn1.l2.fw.bias [5]",
    ]);
  });

  it("frozen layers' weights are listed as not trainable", () => {
    const w = expectedWeights(checked("input 4\ndense 3 frozen\ndense 2").net);
    expect(w.map((e) => [e.name, e.trainable])).toEqual([
      ["dense1.kernel", false],
      ["dense1.bias", false],
      ["dense2.kernel", true],
      ["dense2.bias", true],
    ]);
  });

  it("refuses to list weights whose shapes are unknown", () => {
    const a = analyze("input 5x3\nlstm 4\ngru 2");
    expect(a.hasErrors).toBe(true);
    expect(dataError(() => expectedWeights(a.selected!))).toMatch(/gru1.*input shape is unknown/);
  });
});

/** Packed arrays back to plain arrays, for comparison with JSON.parse. */
function unpack(v: unknown): unknown {
  if (v instanceof Packed) return v.toArrays();
  if (Array.isArray(v)) return v.map(unpack);
  if (v !== null && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, unpack(x)]));
  return v;
}

describe("the JSON parser agrees with JSON.parse", () => {
  const parseAs = (text: string, pack: boolean): unknown => parseJsonBytes(Buffer.from(text, "utf8"), "t.json", { pack });
  const parse = (text: string): unknown => parseAs(text, false);

  it("on random documents, packed or not", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const text = JSON.stringify(v);
        const want = JSON.stringify(JSON.parse(text));
        expect(JSON.stringify(parse(text))).toBe(want);
        expect(JSON.stringify(unpack(parseAs(text, true)))).toBe(want);
      }),
      { numRuns: 500 },
    );
  });

  it("on regular number arrays, which pack into one shape", () => {
    const v = parseAs("[[[1, -2.5e-3], [3, 4]], [[5, 6], [7, 0.1]], [[9, 10], [11, 12]]]", true) as Packed;
    expect(v).toBeInstanceOf(Packed);
    expect(v.shape).toEqual([3, 2, 2]);
    expect(Array.from(v.values())).toEqual([1, -2.5e-3, 3, 4, 5, 6, 7, 0.1, 9, 10, 11, 12]);
    expect(parseAs('{"a": [[1, 2], [3]], "b": [[], []]}', true)).toMatchObject({ a: [[1, 2], [3]] });
    expect((parseAs('{"b": [[], []]}', true) as { b: Packed }).b.shape).toEqual([2, 0]);
  });

  it("on every number text, to the last bit", () => {
    const numberText = fc.stringMatching(/^-?(0|[1-9][0-9]{0,24})(\.[0-9]{1,24})?([eE][+-]?[0-9]{1,3})?$/);
    fc.assert(
      fc.property(numberText, (t) => {
        const want = Number(t);
        if (!Number.isFinite(want)) expect(() => parse(t)).toThrow(/too large for float64/);
        else expect(Object.is(parse(t), want) || (want === 0 && parse(t) === 0)).toBe(true);
      }),
      { numRuns: 3000 },
    );
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (d) => {
        for (const t of [String(d), d.toExponential(), d.toExponential(3), d.toPrecision(17)]) {
          if (!Number.isFinite(Number(t))) continue; // rounding up past the largest double
          expect((parseAs(`[${t}]`, true) as Packed).values()[0]).toBe(Number(t));
        }
      }),
      { numRuns: 2000 },
    );
    expect(Object.is(parse("-0"), -0)).toBe(true);
    expect(parse("0.1")).toBe(0.1);
    expect(parse("9007199254740993")).toBe(9007199254740992);
    expect(parse("2.2250738585072011e-308")).toBe(2.2250738585072011e-308);
  });

  it("on what is valid and what is not (random edits)", () => {
    const base = JSON.stringify({ a: [1, 2.5, -3e2], b: { c: "x\\y\u00e9", d: [true, false, null] }, e: [[1, 2], [3, 4]] });
    const edits = "[]{},:\"0123456789-+.eEtfnul \\x";
    fc.assert(
      fc.property(fc.nat(base.length - 1), fc.nat(edits.length - 1), fc.boolean(), (at, k, insert) => {
        const text = base.slice(0, at) + edits[k] + base.slice(insert ? at : at + 1);
        let valid = true;
        try {
          JSON.parse(text);
        } catch {
          valid = false;
        }
        for (const pack of [false, true]) {
          let ours = true;
          try {
            parseAs(text, pack);
          } catch (e) {
            expect(e).toBeInstanceOf(DataError);
            ours = false;
          }
          expect(ours).toBe(valid);
        }
      }),
      { numRuns: 3000 },
    );
  });
});

describe("JSON weights", () => {
  const net = checked("input 8x8x3\nconv 4 3x3\nbatchnorm\nflatten\ndense 2").net;
  const expected = expectedWeights(net);

  it("round-trips exactly (float64), as nested arrays in the Keras layout", () => {
    const w = randomWeights(expected);
    const file = join(dir(), "w.json");
    writeWeights(file, w);
    const back = readWeights(file, expected);
    expect([...back.keys()]).toEqual(expected.map((e) => e.name));
    for (const [name, t] of w) {
      expect(back.get(name)!.shape).toEqual(t.shape);
      expect(Array.from(back.get(name)!.data)).toEqual(Array.from(t.data));
    }
    // The file itself: dense1.kernel[r][c] is element r*2 + c of the row-major data.
    const doc = JSON.parse(readFileSync(file, "utf8")) as Record<string, number[][]>;
    const k = w.get("dense1.kernel")!.data;
    expect(doc["dense1.kernel"]!.length).toBe(144);
    expect(doc["dense1.kernel"]![37]![1]).toBe(k[37 * 2 + 1]);
    const conv = doc["conv1.kernel"] as unknown as number[][][][];
    expect(conv[2]![1]![0]![3]).toBe(w.get("conv1.kernel")!.data[((2 * 3 + 1) * 3 + 0) * 4 + 3]);
  });

  it("keeps -0 and extreme magnitudes", () => {
    const file = join(dir(), "w.json");
    const t = { shape: [4], data: Float64Array.from([-0, 5e-324, 1.7976931348623157e308, -1 / 3]) };
    writeWeights(file, [["a.b", t]]);
    const back = readWeightsFile(file).get("a.b")!;
    expect(Object.is(back.data[0], -0)).toBe(true);
    expect(Array.from(back.data.slice(1))).toEqual([5e-324, 1.7976931348623157e308, -1 / 3]);
  });

  it("cannot hold NaN: says so instead of writing null", () => {
    const file = join(dir(), "w.json");
    expect(dataError(() => writeWeights(file, [["dense1.bias", { shape: [2], data: Float64Array.from([1, NaN]) }]]))).toMatch(/dense1\.bias holds NaN.*safetensors/);
  });
});

describe("weights errors", () => {
  const net = checked("input 4\ndense 2 relu\ndense 1").net;
  const expected = expectedWeights(net);
  const good = (): Record<string, unknown> => ({
    "dense1.kernel": [
      [1, 2],
      [3, 4],
      [5, 6],
      [7, 8],
    ],
    "dense1.bias": [0.5, -0.5],
    "dense2.kernel": [[1], [2]],
    "dense2.bias": [3],
  });
  const writeJson = (doc: unknown): string => {
    const file = join(dir(), "w.json");
    writeFileSync(file, typeof doc === "string" ? doc : JSON.stringify(doc));
    return file;
  };

  it("values that are not finite are refused when read: 1e999 in JSON, NaN and infinities in safetensors", () => {
    const text = JSON.stringify(good()).replace("0.5", "1e999");
    expect(dataError(() => readWeights(writeJson(text), expected))).toMatch(/w\.json:1:\d+: malformed JSON: a number too large for float64/);
    for (const [bad, shown] of [
      [NaN, "NaN"],
      [-Infinity, "-Infinity"],
    ] as const) {
      const tensors = Object.entries(good()).map(([name, v]) => [name, { shape: name.endsWith("kernel") ? [(v as number[][]).length, (v as number[][])[0]!.length] : [(v as number[]).length], data: Float64Array.from((v as number[] | number[][]).flat()) }] as [string, Tensor]);
      tensors[2]![1].data[1] = bad;
      const file = join(dir(), "w.safetensors");
      writeFileSync(file, encodeSafetensors(tensors, file, "F64"));
      expect(dataError(() => readWeights(file, expected))).toBe(`${file}: 'dense2.kernel' holds ${shown} at flat index 1; weights must be finite numbers`);
    }
  });

  it("reads a good file", () => {
    const w = readWeights(writeJson(good()), expected);
    expect(Array.from(w.get("dense1.kernel")!.data)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(w.get("dense2.bias")!.shape).toEqual([1]);
  });

  it("a missing weight, with a did-you-mean from the file's names", () => {
    const doc = good();
    doc["dense_1.kernel"] = doc["dense1.kernel"];
    delete doc["dense1.kernel"];
    expect(dataError(() => readWeights(writeJson(doc), expected))).toMatch(/: 'dense1\.kernel' \[4,2\] is missing; did you mean 'dense_1\.kernel'\?$/);
  });

  it("a missing weight without a near name", () => {
    const doc = good();
    delete doc["dense2.bias"];
    expect(dataError(() => readWeights(writeJson(doc), expected))).toMatch(/w\.json: 'dense2\.bias' \[1\] is missing$/);
  });

  it("an extra weight is a warning (ignored), an error with strict", () => {
    const doc = { ...good(), "dense9.kernel": [[1]] };
    const warnings: string[] = [];
    const file = writeJson(doc);
    const w = readWeights(file, expected, { onWarning: (m) => warnings.push(m) });
    expect([...w.keys()]).toEqual(["dense1.kernel", "dense1.bias", "dense2.kernel", "dense2.bias"]);
    expect(warnings).toEqual([`${file}: 'dense9.kernel' is not a weight of this network; ignored`]);
    expect(dataError(() => readWeights(file, expected, { strict: true }))).toMatch(/'dense9\.kernel' is not a weight of this network/);
  });

  it("a shape mismatch names the weight and both shapes", () => {
    const doc = good();
    doc["dense1.kernel"] = [
      [1, 2],
      [3, 4],
      [5, 6],
    ];
    expect(dataError(() => readWeights(writeJson(doc), expected))).toMatch(/'dense1\.kernel' has shape \[3,2\] in the file but the network needs \[4,2\]$/);
  });

  it("a transposed kernel gets a layout hint", () => {
    const doc = good();
    doc["dense1.kernel"] = [
      [1, 2, 3, 4],
      [5, 6, 7, 8],
    ];
    expect(dataError(() => readWeights(writeJson(doc), expected))).toMatch(/has shape \[2,4\] in the file but the network needs \[4,2\] \(the same sizes in another order: dlc lays weights out as Keras does/);
  });

  it("several problems are listed together", () => {
    const doc = good();
    delete doc["dense2.bias"];
    doc["dense1.bias"] = [1, 2, 3];
    const m = dataError(() => readWeights(writeJson(doc), expected));
    expect(m).toMatch(/does not fit the network \(2 problems\):/);
    expect(m).toContain("  - 'dense1.bias' has shape [3] in the file but the network needs [2]");
    expect(m).toContain("  - 'dense2.bias' [1] is missing");
  });

  it("a non-numeric value at its JSON path", () => {
    const doc = good();
    (doc["dense1.kernel"] as unknown[][])[2]![1] = "abc";
    let err: DataError | undefined;
    try {
      readWeights(writeJson(doc), expected);
    } catch (e) {
      err = e as DataError;
    }
    expect(err).toBeInstanceOf(DataError);
    expect(err!.message).toMatch(/w\.json: dense1\.kernel\[2\]\[1\] is "abc", not a number$/);
    (doc["dense1.kernel"] as unknown[][])[2]![1] = null;
    expect(dataError(() => readWeights(writeJson(doc), expected))).toMatch(/dense1\.kernel\[2\]\[1\] is null, not a number/);
  });

  it("ragged nested arrays", () => {
    const doc = good();
    doc["dense1.kernel"] = [[1, 2], [3, 4], [5], [7, 8]];
    expect(dataError(() => readWeights(writeJson(doc), expected))).toMatch(/dense1\.kernel\[2\] has 1 element but dense1\.kernel\[0\] has 2 \(the array is ragged\)/);
    doc["dense1.kernel"] = [[1, 2], [3, [4, 4]], [5, 6], [7, 8]];
    expect(dataError(() => readWeights(writeJson(doc), expected))).toMatch(/dense1\.kernel\[1\]\[1\] is an array where a number belongs/);
    doc["dense1.kernel"] = [[1, 2], 3, [5, 6], [7, 8]];
    expect(dataError(() => readWeights(writeJson(doc), expected))).toMatch(/dense1\.kernel\[1\] is a number where an array of 2 belongs/);
  });

  it("malformed JSON gives the line and column", () => {
    let err: DataError | undefined;
    try {
      readWeights(writeJson('{\n  "dense1.bias": [1, 2,]\n}'), expected);
    } catch (e) {
      err = e as DataError;
    }
    expect(err).toBeInstanceOf(DataError);
    expect(err!.message).toMatch(/w\.json:2:24: malformed JSON: a trailing comma before '\]' is not allowed in JSON$/);
    expect(dataError(() => readWeights(writeJson('{"a": [1] "b": 2}'), expected))).toMatch(/w\.json:1:11: malformed JSON: expected ',' or '}' after a value, found '"'/);
    expect(dataError(() => readWeights(writeJson('{"a": [1, 2'), expected))).toMatch(/w\.json:1:12: malformed JSON: unexpected end of file: expected ',' or '\]'/);
    expect(dataError(() => readWeights(writeJson('{"a": NaN}'), expected))).toMatch(/:1:7: malformed JSON: NaN is not a JSON number/);
    expect(dataError(() => readWeights(writeJson(""), expected))).toMatch(/:1:1: malformed JSON: the file is empty/);
    expect(dataError(() => readWeights(writeJson("[1, 2]"), expected))).toMatch(/must be one object mapping each weight's name/);
  });

  it("every prefix of a JSON weights file fails with a DataError, never a raw exception", () => {
    const text = JSON.stringify(good(), null, 1);
    const file = join(dir(), "w.json");
    for (let cut = 0; cut < text.length; cut++) {
      writeFileSync(file, text.slice(0, cut));
      expect(() => readWeights(file, expected)).toThrow(DataError);
    }
  });

  it("an unknown extension and a missing file", () => {
    expect(dataError(() => readWeights(join(root, "w.h5"), expected))).toMatch(/name it \.json or \.safetensors/);
    expect(dataError(() => readWeights(join(root, "none.json"), expected))).toMatch(/cannot read the weights file .*none\.json: no such file/);
    expect(dataError(() => writeWeights(join(root, "w.txt"), []))).toMatch(/name it \.json or \.safetensors/);
  });
});

/** Little-endian bytes of a safetensors file, built by hand: no code under test involved. */
function handmadeSafetensors(header: string, data: number[]): Uint8Array {
  const h = Buffer.from(header, "utf8");
  const out = new Uint8Array(8 + h.length + data.length);
  out[0] = h.length & 0xff;
  out[1] = (h.length >> 8) & 0xff;
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

describe("safetensors", () => {
  const net = checked("input 6x2\ngru 3 sequences\nflatten\ndense 2").net;
  const expected = expectedWeights(net);

  it("reads a file built byte by byte: F32, F64, F16 and BF16", () => {
    const header = JSON.stringify({
      __metadata__: { format: "pt" },
      a: { dtype: "F32", shape: [2], data_offsets: [0, 8] },
      b: { dtype: "F64", shape: [1, 1], data_offsets: [8, 16] },
      c: { dtype: "F16", shape: [4], data_offsets: [16, 24] },
      d: { dtype: "BF16", shape: [2], data_offsets: [24, 28] },
    });
    const bytes = handmadeSafetensors(header, [
      // F32 1.5 = 0x3FC00000, -2 = 0xC0000000 (little-endian)
      0x00, 0x00, 0xc0, 0x3f, 0x00, 0x00, 0x00, 0xc0,
      // F64 0.1 = 0x3FB999999999999A
      0x9a, 0x99, 0x99, 0x99, 0x99, 0x99, 0xb9, 0x3f,
      // F16 1.0 = 0x3C00, -0.5 = 0xB800, 65504 = 0x7BFF, 2^-24 = 0x0001
      0x00, 0x3c, 0x00, 0xb8, 0xff, 0x7b, 0x01, 0x00,
      // BF16 1.0 = 0x3F80, 3.0 = 0x4040
      0x80, 0x3f, 0x40, 0x40,
    ]);
    const { tensors, metadata } = decodeSafetensors(bytes, "hand.safetensors");
    expect(metadata).toEqual({ format: "pt" });
    expect(Array.from(tensors.get("a")!.data)).toEqual([1.5, -2]);
    expect(tensors.get("b")!.shape).toEqual([1, 1]);
    expect(tensors.get("b")!.data[0]).toBe(0.1);
    expect(Array.from(tensors.get("c")!.data)).toEqual([1, -0.5, 65504, 2 ** -24]);
    expect(Array.from(tensors.get("d")!.data)).toEqual([1, 3]);
    expect(tensors.get("d")!.dtype).toBe("BF16");
  });

  it("half floats: infinities and NaN", () => {
    expect(halfToNumber(0x7c00)).toBe(Infinity);
    expect(halfToNumber(0xfc00)).toBe(-Infinity);
    expect(halfToNumber(0x7e00)).toBeNaN();
    expect(halfToNumber(0x3555)).toBeCloseTo(0.333251953125, 12);
  });

  it("round-trips F32 (rounded to float32) and F64 (exact)", () => {
    const w = randomWeights(expected);
    for (const dtype of ["f32", "f64"] as const) {
      const file = join(dir(), "w.safetensors");
      writeWeights(file, w, { dtype });
      const back = readWeights(file, expected);
      for (const [name, t] of w) {
        const want = dtype === "f64" ? Array.from(t.data) : Array.from(t.data, (v) => Math.fround(v));
        expect(back.get(name)!.shape).toEqual(t.shape);
        expect(Array.from(back.get(name)!.data)).toEqual(want);
      }
      expect(back.get("gru1.bias")!.shape).toEqual([2, 9]);
      // The header as the format defines it, read independently of our reader.
      const bytes = readFileSync(file);
      const n = Number(bytes.readBigUInt64LE(0));
      expect((8 + n) % 8).toBe(0);
      const header = JSON.parse(bytes.subarray(8, 8 + n).toString("utf8")) as Record<string, { dtype: string; shape: number[]; data_offsets: number[] }>;
      const k = header["dense1.kernel"]!;
      expect(k.dtype).toBe(dtype.toUpperCase());
      expect(k.shape).toEqual([18, 2]);
      const size = dtype === "f64" ? 8 : 4;
      expect(k.data_offsets[1]! - k.data_offsets[0]!).toBe(36 * size);
      const at = 8 + n + k.data_offsets[0]! + 5 * size;
      const raw = dtype === "f64" ? bytes.readDoubleLE(at) : bytes.readFloatLE(at);
      expect(raw).toBe(dtype === "f64" ? w.get("dense1.kernel")!.data[5] : Math.fround(w.get("dense1.kernel")!.data[5]!));
    }
  });

  it("writes __metadata__ and refuses values too large for F32", () => {
    const bytes = encodeSafetensors([["x", { shape: [1], data: Float64Array.of(2) }]], "m.safetensors", "F32", { format: "dlc" });
    expect(decodeSafetensors(bytes, "m.safetensors").metadata).toEqual({ format: "dlc" });
    expect(dataError(() => encodeSafetensors([["x", { shape: [1], data: Float64Array.of(1e39) }]], "big.safetensors", "F32"))).toMatch(/'x' holds 1e\+39 .* too large for F32/);
  });

  it("validates the header and the offsets, with clear errors", () => {
    const f = "bad.safetensors";
    const entry = (o: object): Uint8Array => handmadeSafetensors(JSON.stringify(o), new Array<number>(16).fill(0));
    expect(dataError(() => decodeSafetensors(new Uint8Array(5), f))).toMatch(/truncated safetensors file: 5 bytes, fewer than the 8/);
    const long = handmadeSafetensors("{}", []);
    long[0] = 200;
    expect(dataError(() => decodeSafetensors(long, f))).toMatch(/truncated safetensors file \(or not safetensors at all\): the header claims 200 bytes but only 2 follow/);
    expect(dataError(() => decodeSafetensors(handmadeSafetensors('{"a": ', []), f))).toMatch(/safetensors header\):1:7: malformed JSON header: unexpected end of file/);
    expect(dataError(() => decodeSafetensors(handmadeSafetensors("[1,2]", []), f))).toMatch(/does not start with '\{'/);
    expect(dataError(() => decodeSafetensors(entry({ a: { dtype: "I64", shape: [2], data_offsets: [0, 16] } }), f))).toMatch(/'a' has dtype "I64", which dlc does not read; weights must be F64, F32, F16 or BF16/);
    expect(dataError(() => decodeSafetensors(entry({ a: { dtype: "F32", shape: [2, -1], data_offsets: [0, 8] } }), f))).toMatch(/'a' has shape \[2,-1\]; a shape is a list of non-negative integers/);
    expect(dataError(() => decodeSafetensors(entry({ a: { dtype: "F32", shape: [2], data_offsets: [0] } }), f))).toMatch(/'a' has data_offsets \[0\]; they must be \[begin, end\]/);
    expect(dataError(() => decodeSafetensors(entry({ a: { dtype: "F32", shape: [3], data_offsets: [0, 8] } }), f))).toMatch(/'a' has shape \[3\] of F32, which takes 12 bytes, but its data_offsets \[0, 8\] span 8/);
    expect(dataError(() => decodeSafetensors(entry({ a: { dtype: "F32", shape: [2], data_offsets: [12, 20] } }), f))).toMatch(/truncated safetensors file: 'a' needs bytes 12–20 of the data, but the file holds only 16 bytes/);
    expect(dataError(() => decodeSafetensors(entry({ a: { dtype: "F32", shape: [2], data_offsets: [8, 0] } }), f))).toMatch(/end comes before the beginning/);
    expect(
      dataError(() =>
        decodeSafetensors(entry({ a: { dtype: "F32", shape: [2], data_offsets: [0, 8] }, b: { dtype: "F32", shape: [2], data_offsets: [4, 12] } }), f),
      ),
    ).toMatch(/'a' \(bytes 0–8\) and 'b' \(bytes 4–12\) overlap/);
    expect(dataError(() => decodeSafetensors(entry({ __metadata__: { a: 1 } }), f))).toMatch(/__metadata__\.a must be a string/);
    expect(dataError(() => decodeSafetensors(entry({ a: 3 }), f))).toMatch(/the header entry 'a' must be an object/);
  });

  it("a truncated file from our writer reports the tensor that runs off the end", () => {
    const w = randomWeights(expected);
    const file = join(dir(), "w.safetensors");
    writeWeights(file, w);
    const bytes = readFileSync(file);
    writeFileSync(file, bytes.subarray(0, bytes.length - 10));
    expect(dataError(() => readWeights(file, expected))).toMatch(
      // gru1: 18 + 27 + 18 floats = 252 bytes; dense1.kernel 36 floats → 252–396; dense1.bias → 404; cut 10 → 394.
      /truncated safetensors file: 'dense1\.kernel' needs bytes 252–396 of the data, but the file holds only 394 bytes of data$/,
    );
  });

  it("random corruption and every truncation give a DataError, never a raw exception", () => {
    const bytes = encodeSafetensors([...randomWeights(expected)], "w.safetensors", "F32");
    let s = 7;
    for (let trial = 0; trial < 400; trial++) {
      const copy = new Uint8Array(bytes);
      for (let k = 0; k < 3; k++) {
        s = (s * 1103515245 + 12345) % 2147483648;
        const at = trial < 200 ? s % Math.min(copy.length, 400) : s % copy.length;
        copy[at] = (s >> 8) & 0xff;
      }
      try {
        decodeSafetensors(copy, "w.safetensors");
      } catch (e) {
        expect(e).toBeInstanceOf(DataError);
      }
    }
    for (let cut = 0; cut < 300; cut++) expect(() => decodeSafetensors(bytes.subarray(0, cut), "w.safetensors")).toThrow(DataError);
  });

  it("the same weights move between JSON and safetensors", () => {
    const w = randomWeights(expected);
    const d = dir();
    writeWeights(join(d, "a.json"), w);
    writeWeights(join(d, "b.safetensors"), readWeights(join(d, "a.json"), expected), { dtype: "f64" });
    const back = readWeights(join(d, "b.safetensors"), expected);
    for (const [name, t] of w) expect(Array.from(back.get(name)!.data)).toEqual(Array.from(t.data));
  });
});

describe("atomic writes", () => {
  const w = (v: number): [string, Tensor][] => [["dense1.bias", { shape: [2], data: Float64Array.of(v, v) }]];

  it("a failure before the rename keeps the old file and leaves no temporary file", () => {
    for (const ext of ["json", "safetensors"]) {
      const d = dir();
      const file = join(d, `w.${ext}`);
      writeWeights(file, w(1));
      const before = readFileSync(file);
      let temp = "";
      const m = dataError(() =>
        writeWeights(file, w(2), {
          hooks: {
            beforeRename: (t) => {
              temp = t;
              // The new contents are complete on disk before they replace the old file.
              const written = readFileSync(t);
              const value = ext === "json" ? (JSON.parse(written.toString("utf8")) as Record<string, number[]>)["dense1.bias"]![0] : decodeSafetensors(written, t).tensors.get("dense1.bias")!.data[0];
              expect(value).toBe(2);
              throw Object.assign(new Error("disk unplugged"), { code: "EIO" });
            },
          },
        }),
      );
      expect(m).toMatch(/cannot write .*w\.(json|safetensors): disk unplugged; the previous file, if any, is unchanged/);
      expect(temp).not.toBe("");
      expect(readFileSync(file).equals(before)).toBe(true);
      expect(readdirSync(d)).toEqual([`w.${ext}`]);
      writeWeights(file, w(3));
      expect(readWeightsFile(file).get("dense1.bias")!.data[0]).toBe(3);
      expect(readdirSync(d)).toEqual([`w.${ext}`]);
    }
  });

  it("a target that is a directory is refused, and left alone", () => {
    const d = dir();
    mkdirSync(join(d, "w.json"));
    writeFileSync(join(d, "w.json", "keep"), "x");
    expect(dataError(() => writeWeights(join(d, "w.json"), w(1)))).toMatch(/it is a directory/);
    expect(readdirSync(join(d, "w.json"))).toEqual(["keep"]);
    expect(readdirSync(d)).toEqual(["w.json"]);
  });

  it("a missing directory is an I/O error, not a crash", () => {
    expect(dataError(() => writeWeights(join(root, "no", "such", "w.json"), w(1)))).toMatch(/cannot write .*: no such file or directory/);
  });

  it("a temporary file that cannot be created (a read-only directory, simulated: root may write anyway) keeps the previous file", () => {
    const d = dir();
    const file = join(d, "w.json");
    writeWeights(file, w(1));
    const before = readFileSync(file);
    const denied = { beforeOpen: () => {
      throw Object.assign(new Error("EACCES: permission denied, open"), { code: "EACCES" });
    } };
    expect(dataError(() => writeWeights(file, w(2), { hooks: denied }))).toMatch(/cannot write .*w\.json: permission denied; the previous file, if any, is unchanged/);
    expect(readFileSync(file).equals(before)).toBe(true);
    expect(readdirSync(d)).toEqual(["w.json"]);
  });

  it("removes the temporary files of the same target whose process is gone, keeps those of live processes and other targets", async () => {
    const d = dir();
    const dead = await new Promise<number>((resolve, reject) => {
      const child = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
      child.on("error", reject);
      child.on("close", () => resolve(child.pid!));
    });
    const names = {
      stale: `.w.json.${dead}.k3j9x2.tmp`,
      staleToo: `.w.json.${dead}.a.tmp`,
      live: `.w.json.${process.pid}.k3j9x2.tmp`,
      otherTarget: `.v.json.${dead}.k3j9x2.tmp`,
      // The temporary file of target "w.json.5", which starts like w.json's.
      longerTarget: `.w.json.5.${dead}.k3j9x2.tmp`,
      notOurs: `.w.json.${dead}.k3j9x2.tmp.bak`,
    };
    for (const n of Object.values(names)) writeFileSync(join(d, n), "partial");
    writeWeights(join(d, "w.json"), w(1));
    expect(readdirSync(d).sort()).toEqual([names.live, names.otherTarget, names.longerTarget, names.notOurs, "w.json"].sort());
  });
});

describe("files that are not regular files", () => {
  const spec: DataSpec = { inputs: [{ name: "input", shape: [2] }], output: [1], loss: "squared", needTargets: true };
  const fifo = (): string => {
    const path = join(dir(), "pipe.json");
    execFileSync("mkfifo", [path]);
    return path;
  };

  it("a device such as /dev/zero is refused as data and as weights, before reading a byte", () => {
    expect(dataError(() => loadData("/dev/zero", spec))).toBe("cannot read the data file /dev/zero: it is a character device, not a regular file; dlc reads only regular files");
    const zeros = join(dir(), "zero.safetensors");
    symlinkSync("/dev/zero", zeros);
    expect(dataError(() => readWeightsFile(zeros))).toMatch(/cannot read the weights file .*zero\.safetensors: it is a character device, not a regular file/);
  });

  it("a FIFO is refused without waiting for a writer", () => {
    const path = fifo();
    expect(dataError(() => loadData(path, spec))).toMatch(/pipe\.json: it is a FIFO \(named pipe\), not a regular file/);
    expect(dataError(() => readWeightsFile(path))).toMatch(/pipe\.json: it is a FIFO/);
  });
});

describe("JSON data", () => {
  const write = (doc: unknown, name = "data.json"): string => {
    const file = join(dir(), name);
    writeFileSync(file, typeof doc === "string" ? doc : JSON.stringify(doc));
    return file;
  };
  const image = (h: number, w: number, c: number, v: (i: number) => number) =>
    Array.from({ length: h }, (_, i) => Array.from({ length: w }, (_, j) => Array.from({ length: c }, (_, k) => v((i * w + j) * c + k))));
  const conv: DataSpec = { inputs: [{ name: "input", shape: [4, 4, 1] }], output: [3], loss: "cross_entropy", needTargets: true };

  it("samples into one row-major array, class indices for cross_entropy", () => {
    const x = [image(4, 4, 1, (i) => i), image(4, 4, 1, (i) => 100 + i)];
    const d = loadData(write({ x, y: [2, 0] }), conv);
    expect(d.size).toBe(2);
    expect(d.inputs[0]!.shape).toEqual([4, 4, 1]);
    expect(d.inputs[0]!.data.length).toBe(32);
    expect(d.inputs[0]!.data[16 + 5]).toBe(105);
    expect(d.targets).toEqual({ kind: "classes", shape: [], perSample: 1, classes: 3, data: Int32Array.of(2, 0) });
  });

  it("one-hot targets shaped like the output are values", () => {
    const d = loadData(write({ x: [image(4, 4, 1, () => 0)], y: [[0, 1, 0]] }), conv);
    expect(d.targets).toEqual({ kind: "values", shape: [3], data: Float64Array.of(0, 1, 0) });
  });

  it("a class index becomes one-hot for squared loss", () => {
    const d = loadData(write({ x: [image(4, 4, 1, () => 0), image(4, 4, 1, () => 0)], y: [2, 0] }), { ...conv, loss: "squared" });
    expect(d.targets).toEqual({ kind: "values", shape: [3], data: Float64Array.of(0, 0, 1, 1, 0, 0) });
  });

  it("a sample of the wrong shape", () => {
    const x = [image(4, 4, 1, () => 0), image(4, 4, 1, () => 0), image(3, 4, 1, () => 0)];
    const file = write({ x, y: [0, 1, 2] });
    expect(dataError(() => loadData(file, conv))).toBe(`sample 2 of ${file} (x[2]) has shape [3,4,1]; the network's input is [4,4,1]`);
  });

  it("a ragged sample and a non-number", () => {
    const x = [image(4, 4, 1, () => 0)];
    (x[0]![2] as number[][]).pop();
    expect(dataError(() => loadData(write({ x, y: [0] }), conv))).toMatch(/sample 0 of .*: x\[0\]\[2\] has 3 elements but x\[0\]\[0\] has 4 \(the array is ragged\)/);
    const y = [image(4, 4, 1, () => 0)];
    (y[0]![1]![3] as unknown[])[0] = "7";
    expect(dataError(() => loadData(write({ x: y, y: [0] }), conv))).toMatch(/x\[0\]\[1\]\[3\]\[0\] is "7", not a number/);
  });

  it("a class index out of range, or not whole", () => {
    const x = Array.from({ length: 4 }, () => image(4, 4, 1, () => 0));
    const file = write({ x, y: [0, 1, 2, 3] });
    expect(dataError(() => loadData(file, conv))).toBe(`${file}: y[3] = 3 is not a class index for 3 classes (0 to 2)`);
    expect(dataError(() => loadData(write({ x, y: [0, 1.5, 2, 0] }), conv))).toMatch(/y\[1\] = 1\.5 is not a class index \(a whole number from 0 to 2\)/);
    expect(dataError(() => loadData(write({ x, y: [0, -1, 2, 0] }), conv))).toMatch(/y\[1\] = -1 is not a class index for 3 classes/);
  });

  it("x and y must have as many samples", () => {
    const x = Array.from({ length: 3 }, () => image(4, 4, 1, () => 0));
    const file = write({ x, y: [0, 1] });
    expect(dataError(() => loadData(file, conv))).toBe(`${file} has 3 samples in x but 2 in y`);
  });

  it("a target of the wrong shape, and mixed target forms", () => {
    const x = [image(4, 4, 1, () => 0), image(4, 4, 1, () => 0)];
    expect(dataError(() => loadData(write({ x, y: [[1, 0], 0] }), conv))).toMatch(/y\[0\] has shape \[2\]; the network's output is \[3\], so a target is shaped \[3\] or a class index/);
    expect(dataError(() => loadData(write({ x, y: [[1, 0, 0], 0] }), conv))).toMatch(/y\[1\] is a class index but the first target is shaped like the output/);
  });

  it("y is needed for training, optional for run", () => {
    const x = [image(4, 4, 1, () => 1)];
    const file = write({ x });
    expect(dataError(() => loadData(file, conv))).toMatch(/has no "y" \(the targets\), which training needs/);
    const d = loadData(file, { ...conv, needTargets: false });
    expect(d.targets).toBeUndefined();
    expect(d.size).toBe(1);
    expect(dataError(() => loadData(write({ X: x }), conv))).toMatch(/has no "x" \(the samples\); is "X" meant to be "x"\?/);
    expect(dataError(() => loadData(write({ x: [] }), { ...conv, needTargets: false }))).toMatch(/has no samples/);
    expect(dataError(() => loadData(write('{"x": [1, 2,\n  3]]}'), conv))).toMatch(/data\.json:2:5: malformed JSON: expected ',' or '}' after a value, found '\]'$/);
    expect(dataError(() => loadData(write('{"x": [[1]]}\n}'), conv))).toMatch(/data\.json:2:1: malformed JSON: unexpected '}' after the end of the JSON value$/);
  });

  it("a [T,V] output takes one class index per position (a language model)", () => {
    const a = checked("input 4\nembedding 10 3\nlstm 5 sequences\ndense 10 softmax\ntrain { loss cross_entropy }");
    const spec = dataSpecOf(a.net, { loss: a.train?.loss, needTargets: true });
    expect(spec.inputs[0]!.vocabulary).toBe(10);
    const d = loadData(write({ x: [[1, 2, 3, 4], [5, 6, 7, 8]], y: [[2, 3, 4, 5], [6, 7, 8, 9]] }), spec);
    expect(d.targets).toEqual({ kind: "classes", shape: [4], perSample: 4, classes: 10, data: Int32Array.of(2, 3, 4, 5, 6, 7, 8, 9) });
    expect(dataError(() => loadData(write({ x: [[1, 2, 3, 4]], y: [[2, 3, 10, 5]] }), spec))).toMatch(/y\[0\]\[2\] = 10 is not a class index for 10 classes \(0 to 9\)/);
    expect(dataError(() => loadData(write({ x: [[1, 2, 10, 4]], y: [[2, 3, 4, 5]] }), spec))).toMatch(/x\[0\]\[2\] = 10 is not a token id for the embedding's vocabulary of 10/);
  });

  it("a scalar target for an output of size 1 (squared loss)", () => {
    const spec: DataSpec = { inputs: [{ name: "input", shape: [2] }], output: [1], loss: "squared", needTargets: true };
    const d = loadData(write({ x: [[1, 2], [3, 4]], y: [0.5, [1.5]] }), spec);
    expect(d.targets).toEqual({ kind: "values", shape: [1], data: Float64Array.of(0.5, 1.5) });
  });

  it("several inputs: x keyed by input name", () => {
    const text = "network s {\n src: input 3\n tgt: input 2\n from src\n embedding 7 4\n enc: lstm 5 sequences\n from tgt\n embedding 6 4\n dec: lstm 5 sequences\n attention dec enc dot\n dense 6 softmax\n}\ntrain { loss cross_entropy }";
    const a = checked(text);
    const spec = dataSpecOf(a.net, { loss: a.train?.loss, needTargets: true });
    expect(spec.inputs.map((i) => [i.name, i.shape])).toEqual([
      ["src", [3]],
      ["tgt", [2]],
    ]);
    const d = loadData(write({ x: { src: [[1, 2, 3], [4, 5, 6]], tgt: [[1, 2], [3, 4]] }, y: [[1, 2], [3, 4]] }), spec);
    expect(d.inputs.map((i) => i.name)).toEqual(["src", "tgt"]);
    expect(Array.from(d.inputs[0]!.data)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(Array.from(d.inputs[1]!.data)).toEqual([1, 2, 3, 4]);
    expect(d.targets).toMatchObject({ kind: "classes", perSample: 2, classes: 6 });
    expect(dataError(() => loadData(write({ x: [[1, 2, 3]], y: [[1, 2]] }), spec))).toMatch(/the network has 2 inputs \(src, tgt\), so "x" must be an object keyed by input name/);
    expect(dataError(() => loadData(write({ x: { src: [[1, 2, 3]], tgr: [[1, 2]] }, y: [[1, 2]] }), spec))).toMatch(/"x" has no "tgt"; did you mean "tgr"\?/);
    expect(dataError(() => loadData(write({ x: { src: [[1, 2, 3]], tgt: [[1, 2], [1, 2]] }, y: [[1, 2]] }), spec))).toMatch(/x\.tgt has 2 samples but x\.src has 1/);
    expect(dataError(() => loadData(write({ x: { src: [[1, 2, 3]], tgt: [[1, 2, 3]] }, y: [[1, 2]] }), spec))).toMatch(/sample 0 of .* \(x\.tgt\[0\]\) has shape \[3\]; the network's input 'tgt' is \[2\]/);
  });
});

describe("CSV data", () => {
  const spec: DataSpec = { inputs: [{ name: "input", shape: [2, 2] }], output: [3], loss: "cross_entropy", needTargets: true };
  const write = (text: string): string => {
    const file = join(dir(), "data.csv");
    writeFileSync(file, text);
    return file;
  };

  it("without a header: rows flattened to the input, the last column a class index", () => {
    const d = loadData(write("1,2,3,4,2\n5,6,7,8,0\n"), spec);
    expect(d.size).toBe(2);
    expect(Array.from(d.inputs[0]!.data)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(d.targets).toEqual({ kind: "classes", shape: [], perSample: 1, classes: 3, data: Int32Array.of(2, 0) });
  });

  it("with a header (detected), CRLF, quotes and blank lines", () => {
    const d = loadData(write('p1,p2,"p3",p4,label\r\n1,2,3,4,1\r\n\r\n"5",6,7,8.5,2\r\n'), spec);
    expect(d.size).toBe(2);
    expect(Array.from(d.inputs[0]!.data)).toEqual([1, 2, 3, 4, 5, 6, 7, 8.5]);
    expect(Array.from((d.targets as { data: Int32Array }).data)).toEqual([1, 2]);
  });

  it("a number label for a squared-loss output of size 1", () => {
    const d = loadData(write("x1,x2,y\n9,2,0.25\n7,1,-1.5\n"), { inputs: [{ name: "input", shape: [2] }], output: [1], loss: "squared", needTargets: true });
    expect(d.targets).toEqual({ kind: "values", shape: [1], data: Float64Array.of(0.25, -1.5) });
  });

  it("no label column is fine for run, not for training", () => {
    const file = write("1,2,3,4\n5,6,7,8\n");
    expect(loadData(file, { ...spec, needTargets: false }).targets).toBeUndefined();
    expect(dataError(() => loadData(file, spec))).toMatch(/data\.csv:1: rows have 4 columns: the network's input \[2,2\] takes 4 values per row but there is no label column/);
  });

  it("errors carry the line and column", () => {
    let err: DataError | undefined;
    try {
      loadData(write("a,b,c,d,y\n1,2,3,4,0\n1,2,x3,4,0\n"), spec);
    } catch (e) {
      err = e as DataError;
    }
    expect(err).toBeInstanceOf(DataError);
    expect(err!.message).toMatch(/data\.csv:3:5: field 3 is 'x3', not a number$/);
    expect(dataError(() => loadData(write("1,2,3,4,0\n1,2,,4,0\n"), spec))).toMatch(/data\.csv:2:5: field 3 is empty, not a number/);
    expect(dataError(() => loadData(write("1,2,3,4,0\n1,2,3,4\n"), spec))).toMatch(/data\.csv:2: has 4 fields, but the first row has 5/);
    expect(dataError(() => loadData(write("1,2,3,4,0\n1,2,3,4,3\n"), spec))).toMatch(/data\.csv:2:9: the label = 3 is not a class index for 3 classes \(0 to 2\)/);
    expect(dataError(() => loadData(write("1,2,3\n"), spec))).toMatch(/data\.csv:1: the first row has 3 columns; the network's input \[2,2\] takes 4 values per row, plus the label in the last column \(5 in all\)/);
    expect(dataError(() => loadData(write("a,b,c,d,y\n"), spec))).toMatch(/has no samples, only a header/);
    expect(dataError(() => loadData(write(""), spec))).toMatch(/has no samples/);
  });

  it("a first row of number-like fields is data, never a header: NaN and inf are refused, not dropped", () => {
    for (const [first, message] of [
      ["NaN,1,2,3,4", /data\.csv:1:1: field 1 is 'NaN': data must be finite numbers/],
      ["1,-inf,2,3,4", /data\.csv:1:3: field 2 is '-inf': data must be finite numbers/],
      ["1,2,Infinity,3,4", /data\.csv:1:5: field 3 is 'Infinity': data must be finite numbers/],
      ["0x10,1,2,3,1", /data\.csv:1:1: field 1 is '0x10', not a decimal number/],
      ["1,2,3,4,nan", /data\.csv:1:9: the label \(field 5\) is 'nan': data must be finite numbers/],
    ] as const) {
      expect(dataError(() => loadData(write(`${first}\n1,2,3,4,0\n`), spec))).toMatch(message);
    }
  });

  it("numbers are decimal only: hexadecimal, binary, octal and digit separators are refused; 1e999 is too large", () => {
    for (const [field, message] of [
      ["0x10", "'0x10', not a decimal number"],
      ["0b1", "'0b1', not a decimal number"],
      ["0o7", "'0o7', not a decimal number"],
      ["1_000", "'1_000', not a decimal number"],
      ["1e999", "'1e999', a number too large for float64"],
      ["-1e999", "'-1e999', a number too large for float64"],
    ] as const) {
      expect(dataError(() => loadData(write(`1,2,3,4,0\n1,${field},3,4,0\n`), spec))).toContain(`data.csv:2:3: field 2 is ${message}`);
    }
    // Decimal forms all read as their values.
    const d = loadData(write("+1,.5,2.,-3e-1,1\n"), spec);
    expect(Array.from(d.inputs[0]!.data)).toEqual([1, 0.5, 2, -0.3]);
  });

  it("a header is a first row with a field that is not number-like, an empty one included (pandas' index column)", () => {
    const d = loadData(write(",0,1,2,3\n1,2,3,4,1\n"), spec);
    expect(d.size).toBe(1);
    expect(loadData(write("x1,x2,x3,x4,label\n1,2,3,4,1\n"), spec).size).toBe(1);
  });
});

/** An IDX file built by hand: magic 0 0 type rank, big-endian dims, then the bytes. */
function idx(type: number, dims: number[], data: number[]): Uint8Array {
  const out = new Uint8Array(4 + 4 * dims.length + data.length);
  out.set([0, 0, type, dims.length]);
  dims.forEach((d, k) => out.set([(d >>> 24) & 255, (d >>> 16) & 255, (d >>> 8) & 255, d & 255], 4 + 4 * k));
  out.set(data, 4 + 4 * dims.length);
  return out;
}

describe("IDX data (MNIST)", () => {
  const spec: DataSpec = { inputs: [{ name: "input", shape: [2, 2, 1] }], output: [10], loss: "cross_entropy", needTargets: true };
  const pixels = [0, 51, 102, 255, 255, 0, 0, 153, 10, 20, 30, 40];
  const images = idx(0x08, [3, 2, 2], pixels);
  const labels = idx(0x08, [3], [7, 0, 9]);

  const check = (d: ReturnType<typeof loadData>): void => {
    expect(d.size).toBe(3);
    expect(d.inputs[0]!.shape).toEqual([2, 2, 1]);
    expect(Array.from(d.inputs[0]!.data)).toEqual(pixels.map((p) => p / 255));
    expect(d.inputs[0]!.data[1]).toBeCloseTo(0.2, 15);
    expect(d.inputs[0]!.data[3]).toBe(1);
    expect(d.targets).toEqual({ kind: "classes", shape: [], perSample: 1, classes: 10, data: Int32Array.of(7, 0, 9) });
  };

  it("an images file finds its labels beside it", () => {
    const d = dir();
    writeFileSync(join(d, "train-images-idx3-ubyte"), images);
    writeFileSync(join(d, "train-labels-idx1-ubyte"), labels);
    check(loadData(join(d, "train-images-idx3-ubyte"), spec));
  });

  it("gzip-compressed, as MNIST is distributed", () => {
    const d = dir();
    writeFileSync(join(d, "t10k-images-idx3-ubyte.gz"), gzipSync(images));
    writeFileSync(join(d, "t10k-labels-idx1-ubyte.gz"), gzipSync(labels));
    check(loadData(join(d, "t10k-images-idx3-ubyte.gz"), spec));
  });

  it("both files named, in either order; reshaped to a flat input", () => {
    const d = dir();
    writeFileSync(join(d, "a.idx"), images);
    writeFileSync(join(d, "b.idx"), labels);
    check(loadData(`${join(d, "a.idx")},${join(d, "b.idx")}`, spec));
    check(loadData(`${join(d, "b.idx")},${join(d, "a.idx")}`, spec));
    const flat = loadData(`${join(d, "a.idx")},${join(d, "b.idx")}`, { ...spec, inputs: [{ name: "input", shape: [4] }] });
    expect(flat.inputs[0]!.shape).toEqual([4]);
  });

  it("labels are optional for run; float images are not scaled", () => {
    const d = dir();
    const f32 = new Uint8Array(4 + 12 + 16);
    f32.set(idx(0x0d, [1, 2, 2], []));
    const view = new DataView(f32.buffer);
    [0.5, -2, 3, 1e3].forEach((v, i) => view.setFloat32(16 + 4 * i, v, false));
    writeFileSync(join(d, "x.idx"), f32);
    const data = loadData(join(d, "x.idx"), { ...spec, needTargets: false });
    expect(Array.from(data.inputs[0]!.data)).toEqual([0.5, -2, 3, 1000]);
    expect(dataError(() => loadData(join(d, "x.idx"), spec))).toMatch(/training needs labels/);
  });

  it("errors: truncated, wrong sizes, counts that differ, labels out of range", () => {
    const d = dir();
    writeFileSync(join(d, "short-images-idx3-ubyte"), images.subarray(0, images.length - 1));
    expect(dataError(() => loadData(join(d, "short-images-idx3-ubyte"), spec))).toMatch(/truncated IDX file: dimensions \[3,2,2\] of u8 need 12 bytes of data but the file has 11/);
    writeFileSync(join(d, "big-images-idx3-ubyte"), idx(0x08, [1, 3, 3], new Array<number>(9).fill(0)));
    expect(dataError(() => loadData(join(d, "big-images-idx3-ubyte"), spec))).toMatch(/its samples are \[3,3\] \(9 values each\); the network's input \[2,2,1\] takes 4/);
    writeFileSync(join(d, "n-images-idx3-ubyte"), images);
    writeFileSync(join(d, "n-labels-idx1-ubyte"), idx(0x08, [2], [1, 2]));
    expect(dataError(() => loadData(join(d, "n-images-idx3-ubyte"), spec))).toMatch(/has 3 samples but .*n-labels-idx1-ubyte has 2 labels/);
    writeFileSync(join(d, "r-images-idx3-ubyte"), images);
    writeFileSync(join(d, "r-labels-idx1-ubyte"), idx(0x08, [3], [1, 12, 2]));
    expect(dataError(() => loadData(join(d, "r-images-idx3-ubyte"), spec))).toMatch(/r-labels-idx1-ubyte: label 1 = 12 is not a class index for 10 classes/);
    writeFileSync(join(d, "bad.idx"), Uint8Array.of(1, 2, 3, 4, 5));
    expect(dataError(() => loadData(join(d, "bad.idx"), spec))).toMatch(/not an IDX file: it must start with two zero bytes/);
    writeFileSync(join(d, "bad.gz"), Uint8Array.of(1, 2, 3));
    expect(dataError(() => loadData(join(d, "bad.gz"), spec))).toMatch(/not a valid gzip file/);
    expect(dataError(() => loadData(join(d, "n-labels-idx1-ubyte"), spec))).toMatch(/a labels file; pass the images file/);
    expect(dataError(() => loadData(join(d, "missing.json"), spec))).toMatch(/cannot read the data file .*missing\.json: no such file/);
  });
});

describe("IDX data: values that are not finite, sizes from the header", () => {
  const spec: DataSpec = { inputs: [{ name: "input", shape: [2, 2, 1] }], output: [1], loss: "squared", needTargets: false };
  /** A big-endian float IDX file [n, 2, 2] (0x0D: float32, 0x0E: float64). */
  const floats = (type: 0x0d | 0x0e, values: number[]): Uint8Array => {
    const size = type === 0x0d ? 4 : 8;
    const out = new Uint8Array(16 + values.length * size);
    out.set(idx(type, [values.length / 4, 2, 2], []));
    const view = new DataView(out.buffer);
    values.forEach((v, i) => (type === 0x0d ? view.setFloat32(16 + 4 * i, v, false) : view.setFloat64(16 + 8 * i, v, false)));
    return out;
  };

  it("float images holding NaN or ±Infinity are refused, naming the sample and the value", () => {
    const d = dir();
    for (const [type, bad, text] of [
      [0x0d, NaN, "NaN"],
      [0x0e, -Infinity, "-Infinity"],
      [0x0e, Infinity, "Infinity"],
    ] as const) {
      const values = [0, 1, 2, 3, 4, 5, 6, 7];
      values[5] = bad;
      writeFileSync(join(d, "x.idx"), floats(type, values));
      expect(dataError(() => loadData(join(d, "x.idx"), spec))).toBe(`${join(d, "x.idx")}: sample 1, value 1 is ${text}; data must be finite numbers`);
    }
  });

  it("float labels holding NaN are refused", () => {
    const d = dir();
    writeFileSync(join(d, "a-images-idx3-ubyte"), idx(0x08, [2, 2, 2], [0, 1, 2, 3, 4, 5, 6, 7]));
    const labels = new Uint8Array(8 + 8);
    labels.set(idx(0x0d, [2], []));
    new DataView(labels.buffer).setFloat32(12, NaN, false);
    writeFileSync(join(d, "a-labels-idx1-ubyte"), labels);
    expect(dataError(() => loadData(join(d, "a-images-idx3-ubyte"), { ...spec, needTargets: true }))).toMatch(/a-labels-idx1-ubyte: value 1 is NaN; data must be finite numbers/);
  });

  it("a gzip bomb is refused once it inflates past the size its header declares", () => {
    const d = dir();
    // The header declares 3 images of 2x2 (28 bytes); 64 MiB of zeros follow (64 KiB gzip'd).
    const bomb = new Uint8Array(28 + 64 * 2 ** 20);
    bomb.set(idx(0x08, [3, 2, 2], []));
    writeFileSync(join(d, "bomb-images-idx3-ubyte.gz"), gzipSync(bomb));
    expect(dataError(() => loadData(join(d, "bomb-images-idx3-ubyte.gz"), spec))).toMatch(/bomb-images-idx3-ubyte\.gz: refused: it inflates to more than 28 bytes, the size its IDX header declares/);
    // Named with its labels, without a telling name, and as a labels file beside the images.
    writeFileSync(join(d, "bomb.gz"), gzipSync(bomb));
    writeFileSync(join(d, "labels.idx"), idx(0x08, [3], [0, 1, 0]));
    expect(dataError(() => loadData(`${join(d, "bomb.gz")},${join(d, "labels.idx")}`, spec))).toMatch(/bomb\.gz: refused: it inflates to more than 28 bytes/);
    expect(dataError(() => loadData(join(d, "bomb.gz"), spec))).toMatch(/bomb\.gz: refused: it inflates to more than 28 bytes/);
    writeFileSync(join(d, "b-images-idx3-ubyte"), idx(0x08, [3, 2, 2], new Array<number>(12).fill(1)));
    const labelBomb = new Uint8Array(8 + 64 * 2 ** 20);
    labelBomb.set(idx(0x08, [3], []));
    writeFileSync(join(d, "b-labels-idx1-ubyte.gz"), gzipSync(labelBomb));
    expect(dataError(() => loadData(join(d, "b-images-idx3-ubyte"), spec))).toMatch(/b-labels-idx1-ubyte\.gz: refused: it inflates to more than 11 bytes/);
  });

  it("a header that declares more values than dlc reads is refused before inflating", () => {
    const d = dir();
    writeFileSync(join(d, "huge-images-idx3-ubyte.gz"), gzipSync(idx(0x08, [60000, 4096, 4096], [])));
    expect(dataError(() => loadData(join(d, "huge-images-idx3-ubyte.gz"), spec))).toMatch(/declares dimensions \[60000,4096,4096\], 1006632960000 values; dlc reads IDX files of up to 268435456 values/);
  });
});

describe("the homework_q3 seed case", () => {
  const seed = { cases: loadSeedCases() } as unknown as {
    cases: { id: string; inputs: { W1: number[][]; W2: number[][]; W3: number[][]; b1: number; b2: number; b3: number; x: number[]; y: number }; dlc: { dl: string; weights: unknown; data: unknown } }[];
  };
  const c = seed.cases.find((k) => k.id === "homework_q3")!;

  it("its dlc.weights and dlc.data load against dlc.dl", () => {
    const { net, train } = checked(c.dlc.dl);
    const expected = expectedWeights(net);
    expect(expected.map((e) => `${e.name} [${e.shape.join(",")}]`)).toEqual(["dense1.kernel [3,2]", "dense1.bias [2]", "dense2.kernel [2,2]", "dense2.bias [2]", "dense3.kernel [2,1]", "dense3.bias [1]"]);
    const d = dir();
    writeFileSync(join(d, "w.json"), JSON.stringify(c.dlc.weights));
    writeFileSync(join(d, "data.json"), JSON.stringify(c.dlc.data));
    const w = readWeights(join(d, "w.json"), expected);
    // Keras layout: kernel[i][j] = W[j][i] (the notes' W rows are neurons).
    const transposed = (W: number[][]): number[] => W[0]!.flatMap((_, i) => W.map((row) => row[i]!));
    expect(Array.from(w.get("dense1.kernel")!.data)).toEqual(transposed(c.inputs.W1));
    expect(Array.from(w.get("dense2.kernel")!.data)).toEqual(transposed(c.inputs.W2));
    expect(Array.from(w.get("dense3.kernel")!.data)).toEqual(transposed(c.inputs.W3));
    expect(Array.from(w.get("dense1.bias")!.data)).toEqual([c.inputs.b1, c.inputs.b1]);
    expect(Array.from(w.get("dense3.bias")!.data)).toEqual([c.inputs.b3]);
    const data = loadData(join(d, "data.json"), dataSpecOf(net, { loss: train?.loss, needTargets: true }));
    expect(train?.loss).toBe("squared");
    expect(data.size).toBe(1);
    expect(Array.from(data.inputs[0]!.data)).toEqual(c.inputs.x);
    expect(data.targets).toEqual({ kind: "values", shape: [1], data: Float64Array.of(c.inputs.y) });
  });

  it("checkWeights works on tensors already in memory", () => {
    const { net } = checked(c.dlc.dl);
    const expected = expectedWeights(net);
    const found = new Map<string, Tensor>([["dense1.kernel", { shape: [3, 2], data: new Float64Array(6) }]]);
    expect(dataError(() => checkWeights(found, expected, "mem"))).toMatch(/^mem does not fit the network \(5 problems\)/);
  });
});
