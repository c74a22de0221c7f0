import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { base64 } from "../src/codegen/wasm/embed.js";
import { FunctionBuilder, ModuleBuilder, sleb, uleb } from "../src/codegen/wasm/encoder.js";
import { buildUnaryKernel } from "../src/codegen/wasm/cells.js";
import { buildFinite } from "../src/codegen/wasm/finite.js";
import { buildConvWalk, type ConvWalkSpec } from "../src/codegen/wasm/im2col.js";
import { DEFAULT_TILES, kernelName, NN_K_CHUNK, TN_K_CHUNK, PACKED_STRIP, STAGE_FROM_ROWS, TN_STAGE_A, matmulModule, packedLength, packedStripWidths, matmulParams, stageLength, type MatmulSpec, type MatmulTile, type MatmulVariant } from "../src/codegen/wasm/matmul.js";

/** Plain float64 reference: C (+)= op(A)·op(B) with the variant's storage. */
function reference(variant: MatmulVariant, a: Float32Array, b: Float32Array, c0: Float32Array, m: number, k: number, n: number, accumulate: boolean): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) {
        const x = variant === "tn" ? a[p * m + i]! : a[i * k + p]!;
        const y = variant === "nt" ? b[j * k + p]! : b[p * n + j]!;
        s += x * y;
      }
      c[i * n + j] = (accumulate ? c0[i * n + j]! : 0) + s;
    }
  }
  return c;
}

/** Same, but the sum of |terms| per element: the scale of the f32 rounding error. */
function magnitude(variant: MatmulVariant, a: Float32Array, b: Float32Array, c0: Float32Array, m: number, k: number, n: number, accumulate: boolean): Float64Array {
  const abs = (x: Float32Array): Float32Array => x.map(Math.abs);
  return reference(variant, abs(a), abs(b), abs(c0), m, k, n, accumulate);
}

interface Case {
  variant: MatmulVariant;
  m: number;
  k: number;
  n: number;
  accumulate: boolean;
  dynM: boolean;
  dynK: boolean;
  tile: MatmulTile;
  seed: number;
  fma?: boolean;
  /** nn: B passed packed in column strips (packedStripWidths' layout). */
  packedB?: boolean;
  /** nn: the kernel stages B's strips in scratch (a fourth operand). */
  stageB?: boolean;
}

/** B [k×n] in the packed-B kernels' column strips, as the generated modules' packStrips writes it. */
function packStripsReference(b: Float32Array, k: number, n: number): Float32Array {
  const out = new Float32Array(packedLength(k, n));
  let o = 0;
  let s = 0;
  for (const width of packedStripWidths(n)) {
    for (let p = 0; p < k; p++) for (let j = 0; j < width; j++, o++) out[o] = s + j < n ? b[p * n + s + j]! : 0;
    s += width;
  }
  return out;
}

function rand(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32 - 0.5;
  };
}

/** Runs one kernel at misaligned, padded offsets and checks result and guard floats. */
function check(cs: Case): void {
  const spec: MatmulSpec = { variant: cs.variant, m: cs.dynM ? "dynamic" : cs.m, k: cs.dynK ? "dynamic" : cs.k, n: cs.n, accumulate: cs.accumulate, tile: cs.tile, fma: cs.fma ?? false, ...(cs.packedB ? { packedB: true } : {}), ...(cs.stageB ? { stageB: true } : {}) };
  const bytes = matmulModule([{ name: "mm", spec }]);
  if (cs.fma && !WebAssembly.validate(bytes)) return; // engine without relaxed SIMD (Node 20 without its flag)
  expect(WebAssembly.validate(bytes)).toBe(true);
  const { m, k, n } = cs;
  const pad = 5; // guard floats around each operand; offsets only 4-byte aligned
  const sizes = [m * k, cs.packedB ? packedLength(k, n) : k * n, m * n, ...(cs.stageB ? [stageLength(cs.variant === "tn" ? "tn" : "nn", k, n)] : [])];
  const offs: number[] = [];
  let at = 1 + pad;
  for (const s of sizes) {
    offs.push(at);
    at += s + pad;
  }
  const memory = new WebAssembly.Memory({ initial: Math.ceil((at * 4) / 65536) + 1 });
  const { exports } = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
  const f32 = new Float32Array(memory.buffer);
  const r = rand(cs.seed);
  f32.fill(12345);
  const views = sizes.map((s, i) => f32.subarray(offs[i]!, offs[i]! + s));
  for (const v of views) for (let i = 0; i < v.length; i++) v[i] = r() * 4;
  const [a, b, c] = views as [Float32Array, Float32Array, Float32Array];
  const unpacked = cs.packedB ? Float32Array.from({ length: k * n }, () => r() * 4) : b;
  if (cs.packedB) b.set(packStripsReference(unpacked, k, n));
  const c0 = c.slice();
  const a0 = a.slice();
  const b0 = b.slice();
  const s0 = views[3]?.slice();
  const want = reference(cs.variant, a, unpacked, c0, m, k, n, cs.accumulate);
  const scale = magnitude(cs.variant, a, unpacked, c0, m, k, n, cs.accumulate);
  const args = [offs[0]! * 4, offs[1]! * 4, offs[2]! * 4, ...(cs.stageB ? [offs[3]! * 4] : []), ...(cs.dynM ? [m] : []), ...(cs.dynK ? [k] : [])];
  expect(args.length).toBe(matmulParams(spec).length);
  (exports["mm"] as (...x: number[]) => void)(...args);
  for (let i = 0; i < m * n; i++) {
    const err = Math.abs(c[i]! - want[i]!);
    if (!(err <= 1e-5 * Math.max(scale[i]!, 1e-30))) throw new Error(`${kernelName(spec)} m=${m} k=${k} n=${n}: C[${i}] = ${c[i]} want ${want[i]} (rel ${err / scale[i]!})`);
  }
  // A and B untouched, nothing outside the operands written
  expect(a).toEqual(a0);
  expect(b).toEqual(b0);
  if (cs.stageB) {
    // Staged (a full strip; nn: enough rows): the scratch holds the last full strip's rows of the
    // last chunk of K (tn: after a row block's columns of A); else it is untouched.
    const scratch = views[3]!;
    const strips = Math.floor(n / PACKED_STRIP);
    const chunk = cs.variant === "tn" ? TN_K_CHUNK : NN_K_CHUNK;
    if ((cs.variant === "tn" || m >= STAGE_FROM_ROWS) && strips > 0 && k > 0 && m > 0) {
      const k0 = Math.floor((k - 1) / chunk) * chunk;
      const at = cs.variant === "tn" ? TN_STAGE_A + (strips - 1) * (k - k0) * PACKED_STRIP : 0;
      for (let p = 0; p < k - k0; p++)
        for (let j = 0; j < PACKED_STRIP; j++) expect(scratch[at + p * PACKED_STRIP + j]).toBe(b[(k0 + p) * n + (strips - 1) * PACKED_STRIP + j]);
    } else if (cs.variant === "nn") expect(scratch).toEqual(s0);
    // The same sums in the same order as the kernel reading B in place: equal bit for bit.
    const inPlace = matmulModule([{ name: "mm", spec: { ...spec, stageB: false } }]);
    const staged = c.slice();
    c.set(c0);
    (new WebAssembly.Instance(new WebAssembly.Module(inPlace), { env: { memory } }).exports["mm"] as (...x: number[]) => void)(...args.filter((_, i) => i !== 3));
    expect(staged).toEqual(c);
  }
  for (let i = 0; i < f32.length && i < at + 8; i++) {
    const inside = offs.some((o, j) => i >= o && i < o + sizes[j]!);
    if (!inside && f32[i] !== 12345) throw new Error(`${kernelName(spec)}: wrote outside its operands at float ${i}`);
  }
}

const edge = fc.constantFrom(1, 3, 4, 5, 17);
const small = fc.oneof(edge, fc.integer({ min: 1, max: 40 }));
const tiles = fc.constantFrom<MatmulTile>({ rows: 2, cols: 4 }, { rows: 4, cols: 2 }, { rows: 1, cols: 1 }, { rows: 3, cols: 3 }, { rows: 4, cols: 4 }, { rows: 2, cols: 2 });
const caseArb = (variant: MatmulVariant): fc.Arbitrary<Case> =>
  fc.record({ variant: fc.constant(variant), m: small, k: small, n: small, accumulate: fc.boolean(), dynM: fc.boolean(), dynK: fc.boolean(), tile: tiles, seed: fc.integer({ min: 1, max: 1e9 }) });

/** The entry count of section `id` of a module's bytes (undefined without one). */
function sectionEntries(bin: Uint8Array, id: number): number | undefined {
  const uleb = (at: number): [number, number] => {
    let value = 0;
    for (let shift = 0; ; shift += 7) {
      const byte = bin[at++]!;
      value += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return [value, at];
    }
  };
  for (let at = 8; at < bin.length; ) {
    const sectionId = bin[at]!;
    const [size, body] = uleb(at + 1);
    if (sectionId === id) return uleb(body)[0];
    at = body + size;
  }
  return undefined;
}

describe("wasm encoder", () => {
  it("writes LEB128", () => {
    expect(uleb(0)).toEqual([0]);
    expect(uleb(127)).toEqual([0x7f]);
    expect(uleb(128)).toEqual([0x80, 0x01]);
    expect(uleb(624485)).toEqual([0xe5, 0x8e, 0x26]);
    expect(uleb(0xffffffff)).toEqual([0xff, 0xff, 0xff, 0xff, 0x0f]);
    expect(sleb(0)).toEqual([0]);
    expect(sleb(-1)).toEqual([0x7f]);
    expect(sleb(63)).toEqual([0x3f]);
    expect(sleb(64)).toEqual([0xc0, 0x00]);
    expect(sleb(-64)).toEqual([0x40]);
    expect(sleb(-123456)).toEqual([0xc0, 0xbb, 0x78]);
    expect(() => uleb(-1)).toThrow();
  });

  it("builds a valid module with SIMD, lane and control instructions", () => {
    // sum4(p) = Σ of the 4 floats at p, via a loop over v128 loads; also stores 3 lanes
    const f = new FunctionBuilder([["p", "i32"], ["n", "i32"]], ["f32"]);
    const acc = f.local("acc", "v128");
    f.block("done", () => {
      f.localGet("n").i32Eqz().brIf("done");
      f.loop("l", () => {
        f.localGet("p").v128Load({ align: 2 }).localGet(acc).f32x4Add().localSet(acc);
        f.localGet("p").i32Const(16).i32Add().localSet("p");
        f.localGet("n").i32Const(1).i32Sub().localTee("n").brIf("l");
      });
    });
    f.localGet(acc).f32x4ExtractLane(0).localGet(acc).f32x4ExtractLane(1).f32Add();
    f.localGet(acc).f32x4ExtractLane(2).f32Add().localGet(acc).f32x4ExtractLane(3).f32Add();
    const g = new FunctionBuilder([["p", "i32"], ["x", "f32"]]);
    g.localGet("p").localGet("x").f32x4Splat().v128Store64Lane(0, { offset: 0 });
    g.localGet("p").localGet("x").f32x4Splat().v128Store32Lane(2, { offset: 8 });
    const mod = new ModuleBuilder().importMemory({ min: 1 });
    mod.addFunction("sum", f);
    mod.addFunction("fill3", g);
    const bin = mod.toBytes();
    expect(WebAssembly.validate(bin)).toBe(true);
    const memory = new WebAssembly.Memory({ initial: 1 });
    const inst = new WebAssembly.Instance(new WebAssembly.Module(bin), { env: { memory } });
    const mem = new Float32Array(memory.buffer);
    for (let i = 0; i < 12; i++) mem[i + 1] = i + 1;
    expect((inst.exports["sum"] as (p: number, n: number) => number)(4, 3)).toBe(78);
    (inst.exports["fill3"] as (p: number, x: number) => void)(400, 2.5);
    expect([...mem.subarray(100, 104)]).toEqual([2.5, 2.5, 2.5, 0]);
  });

  it("imports a shared memory", () => {
    const f = new FunctionBuilder([["p", "i32"]]);
    f.localGet("p").f32Const(1).f32Store();
    const mod = new ModuleBuilder().importMemory({ min: 1, max: 4, shared: true });
    mod.addFunction("one", f);
    const bin = mod.toBytes();
    expect(WebAssembly.validate(bin)).toBe(true);
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 4, shared: true });
    const inst = new WebAssembly.Instance(new WebAssembly.Module(bin), { env: { memory } });
    (inst.exports["one"] as (p: number) => void)(8);
    expect(new Float32Array(memory.buffer)[2]).toBe(1);
  });

  it("base64 round-trips through atob, as an embedded module decodes it", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 70 }), (bytes) => {
        expect(base64(bytes)).toBe(Buffer.from(bytes).toString("base64"));
        expect(Uint8Array.from(atob(base64(bytes)), (ch) => ch.charCodeAt(0))).toEqual(bytes);
      }),
    );
  });

  it("pools splat constants in module globals: one per distinct value, loaded by each function that uses it", () => {
    const fill = (values: readonly number[], asInt = false): FunctionBuilder => {
      const f = new FunctionBuilder([["p", "i32"]]);
      values.forEach((v, i) => {
        f.localGet("p");
        if (asInt) f.splatConstantI32(v);
        else f.splatConstant(v);
        f.v128Store({ offset: 16 * i, align: 2 });
      });
      return f;
    };
    const a = fill([1.5, -0.1, 1.5]);
    const b = fill([-0.1, 7]);
    const c = fill([127], true);
    expect(a.pooledConstants()).toHaveLength(2);
    const mod = new ModuleBuilder().importMemory({ min: 1 });
    mod.addFunction("a", a);
    mod.addFunction("b", b);
    mod.addFunction("c", c);
    const bin = mod.toBytes();
    expect(WebAssembly.validate(bin)).toBe(true);
    const compiled = new WebAssembly.Module(bin);
    expect(WebAssembly.Module.exports(compiled).map((e) => e.kind)).toEqual(["function", "function", "function"]);
    const memory = new WebAssembly.Memory({ initial: 1 });
    const inst = new WebAssembly.Instance(compiled, { env: { memory } });
    const call = (name: string, p: number): void => (inst.exports[name] as (p: number) => void)(p);
    call("a", 0);
    call("b", 64);
    call("c", 128);
    const f32 = new Float32Array(memory.buffer);
    expect([...f32.subarray(0, 12)]).toEqual([1.5, 1.5, 1.5, 1.5, ...new Array<number>(4).fill(Math.fround(-0.1)), 1.5, 1.5, 1.5, 1.5]);
    expect([...f32.subarray(16, 24)]).toEqual([...new Array<number>(4).fill(Math.fround(-0.1)), 7, 7, 7, 7]);
    expect([...new Int32Array(memory.buffer, 128, 4)]).toEqual([127, 127, 127, 127]);
    // four distinct lanes (1.5, −0.1, 7, 127): the global section holds four entries
    expect(sectionEntries(bin, 6)).toBe(4);
    // a function using pooled constants needs its module to find them
    expect(() => fill([2]).encodeBody()).toThrow(/encoded by its module/);
  });

  it("writes a module with a code section of hundreds of thousands of bytes (no spread-argument limit)", () => {
    const f = new FunctionBuilder([], ["i32"]);
    f.i32Const(0);
    for (let i = 0; i < 60_000; i++) f.i32Const(1000).i32Add();
    const mod = new ModuleBuilder();
    mod.addFunction("sum", f);
    const bin = mod.toBytes();
    expect(bin.length).toBeGreaterThan(200_000);
    const inst = new WebAssembly.Instance(new WebAssembly.Module(bin));
    expect((inst.exports["sum"] as () => number)()).toBe(60_000_000);
  });

  it("rejects unclosed blocks and unknown labels", () => {
    const f = new FunctionBuilder();
    f.block("x");
    expect(() => f.encodeBody()).toThrow(/unclosed/);
    const g = new FunctionBuilder();
    expect(() => g.block("x", () => g.br("y"))).toThrow(/no enclosing label/);
  });
});

describe("wasm SIMD matmul kernels", () => {
  for (const variant of ["nn", "tn", "nt"] as const) {
    it(`${variant}: matches a float64 triple loop on random shapes, tiles and dynamic dims`, () => {
      fc.assert(fc.property(caseArb(variant), (cs) => check(cs)), { numRuns: 150 });
    });

    it(`${variant}: edge sizes 1,3,4,5,17 exhaustively with the default tile`, () => {
      const sizes = [1, 3, 4, 5, 17];
      for (const m of sizes) for (const k of sizes) for (const n of sizes) {
        check({ variant, m, k, n, accumulate: (m + k + n) % 2 === 0, dynM: m % 2 === 1, dynK: k === 4 || k === 17, tile: DEFAULT_TILES[variant], seed: m * 1000 + k * 10 + n });
      }
    });
  }

  it("handles the benchmark shapes", () => {
    check({ variant: "nn", m: 32, k: 784, n: 128, accumulate: false, dynM: true, dynK: false, tile: DEFAULT_TILES.nn, seed: 1 });
    check({ variant: "tn", m: 784, k: 32, n: 128, accumulate: true, dynM: false, dynK: true, tile: DEFAULT_TILES.tn, seed: 2 });
    check({ variant: "nt", m: 32, k: 128, n: 784, accumulate: true, dynM: true, dynK: false, tile: DEFAULT_TILES.nt, seed: 3 });
    check({ variant: "nn", m: 784, k: 25, n: 6, accumulate: false, dynM: false, dynK: false, tile: DEFAULT_TILES.nn, seed: 4 });
  });

  it(`nn takes a long K in chunks of ${NN_K_CHUNK}: every chunk boundary, static and dynamic K, stored and accumulated`, () => {
    let seed = 40;
    for (const k of [0, NN_K_CHUNK - 1, NN_K_CHUNK, NN_K_CHUNK + 1, 2 * NN_K_CHUNK + 3])
      for (const dynK of [false, true])
        for (const accumulate of [false, true]) check({ variant: "nn", m: 5, k, n: 13, accumulate, dynM: true, dynK, tile: DEFAULT_TILES.nn, seed: seed++ });
  });

  it(`tn takes a long K in chunks of ${TN_K_CHUNK}: every chunk boundary, static and dynamic K, stored and accumulated, rows and columns left over`, () => {
    let seed = 60;
    for (const k of [0, TN_K_CHUNK - 1, TN_K_CHUNK, TN_K_CHUNK + 1, 3 * TN_K_CHUNK + 5])
      for (const dynK of [false, true])
        for (const accumulate of [false, true]) check({ variant: "tn", m: 7, k, n: 13, accumulate, dynM: true, dynK, tile: DEFAULT_TILES.tn, seed: seed++ });
  });

  it("nn with B packed in column strips: full and partial strips, static and dynamic dims, stored and accumulated", () => {
    let seed = 80;
    for (const n of [1, 3, 8, 13, 20, 512])
      for (const k of [0, 1, 5, 130])
        for (const [m, dynM] of [[0, true], [1, true], [6, true], [5, false]] as const)
          check({ variant: "nn", m, k, n, accumulate: (n + k) % 2 === 0, dynM, dynK: k !== 5, tile: DEFAULT_TILES.nn, seed: seed++, packedB: true });
    expect(() => matmulModule([{ name: "mm", spec: { variant: "tn", m: 4, k: 4, n: 4, accumulate: false, packedB: true } }])).toThrow(/packed B/);
  });

  it("nn staging B's strips in scratch: below and at the rows that stage, every chunk boundary of K, full and partial strips, static and dynamic dims", () => {
    let seed = 120;
    for (const n of [7, 8, 13, 64])
      for (const k of [0, 1, 9, NN_K_CHUNK - 1, NN_K_CHUNK, NN_K_CHUNK + 1, 2 * NN_K_CHUNK + 3])
        for (const m of [0, 3, STAGE_FROM_ROWS - 1, STAGE_FROM_ROWS, STAGE_FROM_ROWS + 7])
          check({ variant: "nn", m, k, n, accumulate: (m + k + n) % 2 === 0, dynM: (m + n) % 3 !== 0, dynK: (k + n) % 2 === 0, tile: DEFAULT_TILES.nn, seed: seed++, stageB: true });
    expect(() => matmulModule([{ name: "mm", spec: { variant: "nn", m: 4, k: 4, n: 4, accumulate: false, stageB: true, packedB: true } }])).toThrow(/packed or staged/);
  });

  it("tn staging A's columns and B's strips in scratch: every chunk boundary of K, full and partial strips and row blocks, static and dynamic dims", () => {
    let seed = 300;
    for (const n of [7, 8, 13, 64])
      for (const k of [0, 1, 9, TN_K_CHUNK - 1, TN_K_CHUNK, TN_K_CHUNK + 1, 2 * TN_K_CHUNK + 3])
        for (const m of [1, 4, 7, 64])
          check({ variant: "tn", m, k, n, accumulate: (m + k + n) % 2 === 0, dynM: (m + n) % 3 !== 0, dynK: (k + n) % 2 === 0, tile: DEFAULT_TILES.tn, seed: seed++, stageB: true });
    expect(() => matmulModule([{ name: "mm", spec: { variant: "tn", m: 4, k: 4, n: 4, accumulate: false, step: true, stageB: true } }])).toThrow(/staged B/);
    expect(() => matmulModule([{ name: "mm", spec: { variant: "nt", m: 4, k: 4, n: 4, accumulate: false, stageB: true } }])).toThrow(/staged B/);
  });

  it("a dynamic-M kernel serves any batch up to its buffers, zero included", () => {
    for (const m of [0, 1, 2, 7, 32]) check({ variant: "nn", m, k: 9, n: 10, accumulate: true, dynM: true, dynK: false, tile: DEFAULT_TILES.nn, seed: 7 + m });
    for (const k of [0, 1, 6]) check({ variant: "tn", m: 5, k, n: 10, accumulate: false, dynM: false, dynK: true, tile: DEFAULT_TILES.tn, seed: 9 + k });
    for (const k of [0, 2, 7]) check({ variant: "nt", m: 5, k, n: 6, accumulate: false, dynM: true, dynK: true, tile: DEFAULT_TILES.nt, seed: 19 + k });
  });

  it("static K = 0 gives C = 0 (or leaves C) and several kernels share one module", () => {
    check({ variant: "nn", m: 3, k: 0, n: 5, accumulate: false, dynM: false, dynK: false, tile: DEFAULT_TILES.nn, seed: 3 });
    const bytes = matmulModule(
      (["nn", "tn", "nt"] as const).map((variant) => ({ name: variant, spec: { variant, m: "dynamic", k: 8, n: 12, accumulate: true } })),
      { min: 1, max: 16, shared: true },
    );
    expect(WebAssembly.validate(bytes)).toBe(true);
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 16, shared: true });
    const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
    expect(Object.keys(inst.exports).sort()).toEqual(["nn", "nt", "tn"]);
  });

  it("relaxed-SIMD (fma) kernels are correct where the engine accepts them", () => {
    fc.assert(fc.property(caseArb("nn"), caseArb("tn"), caseArb("nt"), (x, y, z) => [x, y, z].forEach((cs) => check({ ...cs, fma: true }))), { numRuns: 40 });
  });

  it("rejects bad specs", () => {
    expect(() => matmulModule([{ name: "x", spec: { variant: "nn", m: -1, k: 2, n: 2, accumulate: false } }])).toThrow(RangeError);
    expect(() => matmulModule([{ name: "x", spec: { variant: "nn", m: 2, k: 2, n: 2, accumulate: false, tile: { rows: 0, cols: 2 } } }])).toThrow(RangeError);
  });
});

describe("the weights' finiteness check (finite.ts, fit's check after each batch)", () => {
  const mod = new ModuleBuilder().importMemory({ min: 1 });
  mod.addFunction("finite", buildFinite());
  const memory = new WebAssembly.Memory({ initial: 1 });
  const finite = (new WebAssembly.Instance(new WebAssembly.Module(mod.toBytes()), { env: { memory } }).exports as { finite: (w: number, count: number) => number }).finite;
  const w = new Float32Array(memory.buffer);

  it("is 0 for finite weights (huge, tiny, −0, subnormal) of any length, the tail past the last four included", () => {
    for (let count = 0; count <= 13; count++) {
      w.fill(0);
      for (let i = 0; i < count; i++) w[1 + i] = [3.4e38, -3.4e38, 1e-45, -0, 1, -7.5][i % 6]!;
      expect(Object.is(finite(4, count) + 0, 0), `count ${count}`).toBe(true);
    }
  });

  it("is NaN when any weight in the range is NaN or ±Infinity, and ignores what lies outside it", () => {
    for (let count = 1; count <= 13; count++) {
      for (let at = 0; at < count; at++) {
        for (const bad of [NaN, Infinity, -Infinity]) {
          w.fill(0.5);
          w[1 + at] = bad;
          w[0] = NaN; // just before the range
          w[1 + count] = NaN; // just after it
          expect(Number.isNaN(finite(4, count)), `count ${count}, ${bad} at ${at}`).toBe(true);
          w[1 + at] = 0.5;
          expect(finite(4, count), `count ${count}, restored`).toBe(0);
        }
      }
    }
  });
});

describe("SIMD exp, sigmoid and tanh (LSTM cell kernels)", () => {
  function run(fn: "exp" | "sigmoid" | "tanh", xs: readonly number[]): Float32Array {
    const count = Math.ceil(xs.length / 4) * 4;
    const mod = new ModuleBuilder().importMemory({ min: 1 });
    mod.addFunction("f", buildUnaryKernel(fn));
    const memory = new WebAssembly.Memory({ initial: Math.ceil((8 * count + 64) / 65536) });
    const exports = new WebAssembly.Instance(new WebAssembly.Module(mod.toBytes()), { env: { memory } }).exports as { f: (src: number, dst: number, count: number) => void };
    const src = new Float32Array(memory.buffer, 0, count);
    src.set(xs);
    exports.f(0, 4 * count, count);
    return new Float32Array(memory.buffer, 4 * count, xs.length).slice();
  }

  it("keep NaN as NaN and clamp ±Infinity (the clamps are pmin/pmax with x first)", () => {
    const special = [NaN, Infinity, -Infinity, 0, 0, 0, 0, 0];
    for (const fn of ["exp", "sigmoid", "tanh"] as const) expect(Number.isNaN(run(fn, special)[0]!), fn).toBe(true);
    expect(Array.from(run("tanh", special).slice(1, 3))).toEqual([1, -1]);
    expect(Array.from(run("sigmoid", special).slice(1, 3))).toEqual([1, Math.fround(1 / (1 + Math.fround(Math.exp(87))))]);
    const e = run("exp", special);
    expect(e[1]).toBeCloseTo(Math.fround(Math.exp(87)), -31);
    expect(e[2]! > 0 && e[2]! < 1e-37).toBe(true);
  });

  // a wide range: a fine grid, ±100, 0, tiny and subnormal values, and the clamp edges
  const xs: number[] = [0, -0, 1e-30, -1e-30, 1e-40, 1e-7, -1e-7, 1e-4, -3e-4, 100, -100, 87, -87, 86.9, -86.9, 7.9, -7.9, 9, -9, 20, -20];
  for (let x = -90; x <= 90; x += 0.0137) xs.push(x);
  for (let e = -38; e <= 1; e += 0.25) xs.push(10 ** e, -(10 ** e));
  const f32 = Array.from(Float32Array.from(xs));
  const worst = (got: Float32Array, ref: (x: number) => number, floor: number): number => {
    let w = 0;
    f32.forEach((x, i) => {
      const r = ref(x);
      w = Math.max(w, Math.abs(got[i]! - r) / Math.max(Math.abs(r), floor));
    });
    return w;
  };

  it("exp: relative error under 3e-7 on [−87, 87], and clamped outside", () => {
    const got = run("exp", f32);
    const inRange = f32.map((x, i) => [x, got[i]!] as const).filter(([x]) => Math.abs(x) <= 87);
    let w = 0;
    for (const [x, y] of inRange) w = Math.max(w, Math.abs(y - Math.exp(x)) / Math.exp(x));
    expect(w).toBeLessThan(3e-7);
    const [big, small, one, e87, em87] = run("exp", [100, -100, 0, 87, -87]);
    expect(big).toBe(e87);
    expect(small).toBe(em87);
    expect(one).toBe(1);
  });

  it("sigmoid: relative error under 3e-7 (absolute below 1e-37, the clamp at ±87)", () => {
    const got = run("sigmoid", f32);
    expect(worst(got, (x) => 1 / (1 + Math.exp(-x)), 1e-37 / 3e-7)).toBeLessThan(3e-7);
    expect(got[f32.indexOf(100)]).toBe(1);
    expect(got[f32.indexOf(0)]).toBe(0.5);
  });

  it("tanh: relative error under 4e-7, odd, tiny values kept", () => {
    const got = run("tanh", f32);
    expect(worst(got, Math.tanh, 1e-38)).toBeLessThan(4e-7);
    expect(got[f32.indexOf(100)]).toBe(1);
    expect(got[f32.indexOf(-100)]).toBe(-1);
    const tiny = Math.fround(1e-30);
    expect(Math.abs(got[f32.indexOf(tiny)]! - tiny) / tiny).toBeLessThan(4e-7);
    expect(got[f32.indexOf(-tiny)]).toBe(-got[f32.indexOf(tiny)]!);
  });
});

describe("conv window walks (im2col.ts) match a plain walk", () => {
  /** Per (t, j, u, v, c): the col element and its input element, or -1 where padded. */
  function walk(s: ConvWalkSpec, t0: number, t1: number, each: (o: number, xi: number) => void): void {
    let o = 0;
    for (let t = t0; t < t1; t++) {
      const b = Math.floor(t / s.oh);
      const i = t - b * s.oh;
      for (let j = 0; j < s.ow; j++)
        for (let u = 0; u < s.kh; u++)
          for (let v = 0; v < s.kw; v++)
            for (let c = 0; c < s.ch; c++, o++) {
              const r = i * s.stride - s.top + u;
              const q = j * s.stride - s.left + v;
              each(o, r >= 0 && r < s.h && q >= 0 && q < s.w ? ((b * s.h + r) * s.w + q) * s.ch + c : -1);
            }
    }
  }

  const geometry = fc.record({
    h: fc.integer({ min: 1, max: 9 }),
    w: fc.integer({ min: 1, max: 9 }),
    ch: fc.oneof(fc.integer({ min: 1, max: 7 }), fc.integer({ min: 30, max: 40 })),
    kh: fc.integer({ min: 1, max: 4 }),
    kw: fc.integer({ min: 1, max: 4 }),
    stride: fc.integer({ min: 1, max: 3 }),
    top: fc.integer({ min: 0, max: 5 }),
    left: fc.integer({ min: 0, max: 5 }),
    bottom: fc.integer({ min: 0, max: 5 }),
    right: fc.integer({ min: 0, max: 5 }),
    zero: fc.boolean(),
    n: fc.integer({ min: 1, max: 3 }),
    seed: fc.integer({ min: 1, max: 1000 }),
  });

  it("im2col and col2im, padded, strided, chunked and kept", () => {
    fc.assert(
      fc.property(geometry, (g) => {
        const oh = Math.floor((g.h + g.top + g.bottom - g.kh) / g.stride) + 1;
        const ow = Math.floor((g.w + g.left + g.right - g.kw) / g.stride) + 1;
        if (oh < 1 || ow < 1) return;
        const base = { h: g.h, w: g.w, ch: g.ch, kh: g.kh, kw: g.kw, stride: g.stride, top: g.top, left: g.left, oh, ow };
        const im = { ...base, kind: "im2col" as const, zero: g.zero };
        const back = { ...base, kind: "col2im" as const, zero: false };
        const mod = new ModuleBuilder().importMemory({ min: 1 });
        mod.addFunction("im", buildConvWalk(im));
        mod.addFunction("back", buildConvWalk(back));
        const xs = g.n * g.h * g.w * g.ch;
        const k = g.kh * g.kw * g.ch;
        const t0 = g.n > 1 ? 1 : 0;
        const t1 = g.n * oh;
        const cs = (t1 - t0) * ow * k;
        const memory = new WebAssembly.Memory({ initial: Math.ceil((4 * (xs + cs) + 64) / 65536) + 1 });
        const { exports } = new WebAssembly.Instance(new WebAssembly.Module(mod.toBytes()), { env: { memory } });
        const x = new Float32Array(memory.buffer, 16, xs);
        const col = new Float32Array(memory.buffer, 16 + 4 * xs + 4, cs);
        let seed = g.seed;
        const rnd = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
        for (let i = 0; i < xs; i++) x[i] = rnd();
        col.fill(7);
        (exports.im as (x: number, c: number, t0: number, t1: number) => void)(x.byteOffset, col.byteOffset, t0, t1);
        const want = new Float32Array(cs).fill(7);
        walk(im, t0, t1, (o, xi) => void (want[o] = xi >= 0 ? x[xi]! : g.zero ? 0 : 7));
        expect(Array.from(col)).toEqual(Array.from(want));
        for (let i = 0; i < cs; i++) col[i] = rnd();
        const dx = Float32Array.from(x);
        (exports.back as (x: number, c: number, t0: number, t1: number) => void)(x.byteOffset, col.byteOffset, t0, t1);
        walk(back, t0, t1, (o, xi) => void (xi >= 0 && (dx[xi] = dx[xi]! + col[o]!)));
        expect(Array.from(x)).toEqual(Array.from(dx));
      }),
      { numRuns: 150 },
    );
  });
});
