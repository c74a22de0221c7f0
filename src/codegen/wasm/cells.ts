/**
 * The elementwise work of one LSTM time step over every batch row, as f32x4 WebAssembly SIMD
 * functions specialised to the unit count H (the same equations and layouts as the generated
 * JS, src/layers/recurrent/emit-cells.ts; gate order i, f, g, o):
 *
 *   lstmForward(gx, cp, cn, sn, ac, n)
 *       per row b (gx [n, 4H]; cp, cn, sn [n, H]; ac [n, 5H]):
 *       i = σ(gx_i), f = σ(gx_f), g = tanh(gx_g), o = σ(gx_o)
 *       cn = f·cp + i·g;  tc = tanh(cn);  sn = o·tc;  ac = [i, f, g, o, tc]
 *   lstmBackward(ac, cp, dh, dc, dgx, dgh, dcp, n)
 *       dcv = dc + dh·o·(1 − tc²)
 *       dgx = dgh = [dcv·g·i(1−i), dcv·cp·f(1−f), dcv·i·(1−g²), dh·tc·o(1−o)];  dcp = dcv·f
 *       (dgh may be dgx: the same values are stored twice)
 *
 * Arrays are byte addresses of the rows' first elements; rows follow each other at their row
 * width. Four units at a time, then the H mod 4 last units one lane at a time (v128.load32_zero
 * and v128.store32_lane), so every unit sees the same arithmetic.
 *
 * e^x = 2^k·p(r), k = nearest(x·log2 e), r = x − k·ln2 (ln2 in two parts, Cody–Waite), p the
 * Cephes expf polynomial, 2^k from the exponent bits ((k + 127) << 23); x clamped to ±87. σ(x) =
 * 1/(1 + e^−x). tanh is the odd rational minimax of degrees 13/6 (Eigen's, clamped at ±7.9053
 * where tanh rounds to ±1), which keeps small arguments' relative accuracy (1 − 2/(e^2x + 1)
 * would cancel). Both within a few f32 ulps (tests/wasm-kernels.test.ts).
 */
import { FunctionBuilder, type ValType } from "./encoder.js";

export type CellKernel = "lstmForward" | "lstmBackward";

/** The export name of a cell kernel for H units. */
export function cellKernelName(kind: CellKernel, units: number): string {
  return `${kind}_h${units}`;
}

const EXP_CLAMP = 87;
const LN2_HI = 0.693359375;
const LN2_LO = -2.12194440e-4;
/** Cephes expf: e^r ≈ 1 + r + r²·(P0 + r·(P1 + …)), highest power first. */
const EXP_POLY = [1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1];
const TANH_CLAMP = 7.90531110763549805;
/** tanh(x) ≈ x·α(x²)/β(x²), highest power first. */
const TANH_ALPHA = [-2.76076847742355e-16, 2.00018790482477e-13, -8.60467152213735e-11, 5.12229709037114e-8, 1.48572235717979e-5, 6.37261928875436e-4, 4.89352455891786e-3];
const TANH_BETA = [1.19825839466702e-6, 1.18534705686654e-4, 2.2684346324390e-3, 4.89352518554385e-3];

/** Declares the scratch locals the math below uses (once per function). */
function mathLocals(f: FunctionBuilder): void {
  for (const name of ["mx", "mk", "mr", "mp"]) f.local(name, "v128");
}

/** Stack: x → e^x (f32x4). */
export function emitExp(f: FunctionBuilder): void {
  // pmin/pmax with x first keep a NaN x (and are one instruction each, where min/max are several)
  f.splatConstant(EXP_CLAMP).f32x4Pmin().splatConstant(-EXP_CLAMP).f32x4Pmax().localTee("mx");
  f.splatConstant(Math.LOG2E).f32x4Mul().f32x4Nearest().localSet("mk");
  // r = x − k·ln2_hi − k·ln2_lo
  f.localGet("mx").localGet("mk").splatConstant(LN2_HI).f32x4Mul().f32x4Sub();
  f.localGet("mk").splatConstant(LN2_LO).f32x4Mul().f32x4Sub().localSet("mr");
  f.splatConstant(EXP_POLY[0]!);
  for (const c of EXP_POLY.slice(1)) f.localGet("mr").f32x4Mul().splatConstant(c).f32x4Add();
  // p·r² + r + 1
  f.localGet("mr").localGet("mr").f32x4Mul().f32x4Mul().localGet("mr").f32x4Add().splatConstant(1).f32x4Add();
  // · 2^k
  f.localGet("mk").i32x4TruncSatF32x4S().splatConstantI32(127).i32x4Add().i32Const(23).i32x4Shl();
  f.f32x4Mul();
}

/** Stack: x → σ(x) = 1/(1 + e^−x). */
export function emitSigmoid(f: FunctionBuilder): void {
  f.f32x4Neg();
  emitExp(f);
  f.splatConstant(1).f32x4Add().localSet("mp");
  f.splatConstant(1).localGet("mp").f32x4Div();
}

/** Stack: x → tanh(x). */
export function emitTanh(f: FunctionBuilder): void {
  f.splatConstant(TANH_CLAMP).f32x4Pmin().splatConstant(-TANH_CLAMP).f32x4Pmax().localTee("mx");
  f.localGet("mx").f32x4Mul().localSet("mr"); // x²
  f.splatConstant(TANH_ALPHA[0]!);
  for (const c of TANH_ALPHA.slice(1)) f.localGet("mr").f32x4Mul().splatConstant(c).f32x4Add();
  f.splatConstant(TANH_BETA[0]!);
  for (const c of TANH_BETA.slice(1)) f.localGet("mr").f32x4Mul().splatConstant(c).f32x4Add();
  // x·(α/β), not (x·α)/β: x·α would lose bits below f32's normal range
  f.f32x4Div().localGet("mx").f32x4Mul();
}

/** A test kernel: out[i] = fn(in[i]) for i < count (count a multiple of 4). */
export function buildUnaryKernel(fn: "exp" | "sigmoid" | "tanh"): FunctionBuilder {
  const f = new FunctionBuilder([
    ["src", "i32"],
    ["dst", "i32"],
    ["count", "i32"],
  ]);
  mathLocals(f);
  f.local("end", "i32");
  f.localGet("src").localGet("count").i32Const(4).i32Mul().i32Add().localSet("end");
  f.block("done", () => {
    f.loop("each", () => {
      f.localGet("src").localGet("end").i32GeU().brIf("done");
      f.localGet("dst");
      f.localGet("src").v128Load({ align: 2 });
      if (fn === "exp") emitExp(f);
      else if (fn === "sigmoid") emitSigmoid(f);
      else emitTanh(f);
      f.v128Store({ align: 2 });
      f.localGet("src").i32Const(16).i32Add().localSet("src");
      f.localGet("dst").i32Const(16).i32Add().localSet("dst");
      f.br("each");
    });
  });
  return f;
}

/** A pointer parameter: its row width in units of H (1: rows are contiguous). */
interface Pointer {
  readonly name: string;
  readonly width: number;
}

/** Loads and stores of four units, or of one (lane 0). `gate` counts H-blocks into the row. */
interface Access {
  load(p: string, gate?: number): void;
  store(p: string, gate: number, value: () => void): void;
}

function access(f: FunctionBuilder, units: number, vector: boolean): Access {
  return {
    load: (p, gate = 0) => {
      f.localGet(p);
      if (vector) f.v128Load({ offset: 4 * units * gate, align: 2 });
      else f.v128Load32Zero({ offset: 4 * units * gate });
    },
    store: (p, gate, value) => {
      f.localGet(p);
      value();
      if (vector) f.v128Store({ offset: 4 * units * gate, align: 2 });
      else f.v128Store32Lane(0, { offset: 4 * units * gate });
    },
  };
}

/**
 * The row loop around `body`: every pointer steps by 4 bytes per unit, and at the end of a row
 * by the rest of its row width; `driver` (a width-1 pointer) counts the rows.
 */
function rowLoop(f: FunctionBuilder, units: number, pointers: readonly Pointer[], driver: string, body: (a: Access) => void): void {
  f.local("end", "i32");
  f.local("rowEnd", "i32");
  f.localGet(driver).localGet("n").i32Const(4 * units).i32Mul().i32Add().localSet("end");
  const advance = (bytes: (p: Pointer) => number): void => {
    for (const p of pointers) {
      const b = bytes(p);
      if (b !== 0) f.localGet(p.name).i32Const(b).i32Add().localSet(p.name);
    }
  };
  const vectors = Math.floor(units / 4);
  f.block("rowsDone", () => {
    f.loop("rows", () => {
      f.localGet(driver).localGet("end").i32GeU().brIf("rowsDone");
      if (vectors > 0) {
        f.localGet(driver).i32Const(16 * vectors).i32Add().localSet("rowEnd");
        f.loop("units", () => {
          body(access(f, units, true));
          advance(() => 16);
          f.localGet(driver).localGet("rowEnd").i32LtU().brIf("units");
        });
      }
      for (let r = 0; r < units % 4; r++) {
        body(access(f, units, false));
        advance(() => 4);
      }
      advance((p) => 4 * units * (p.width - 1));
      f.br("rows");
    });
  });
}

function params(names: readonly string[]): [string, ValType][] {
  return [...names.map((n): [string, ValType] => [n, "i32"]), ["n", "i32"]];
}

/** lstmForward for H units (see the file comment). */
export function buildLstmForward(units: number): FunctionBuilder {
  const f = new FunctionBuilder(params(["gx", "cp", "cn", "sn", "ac"]));
  mathLocals(f);
  for (const v of ["ig", "fg", "gg", "og", "cv", "tc"]) f.local(v, "v128");
  const pointers: Pointer[] = [
    { name: "gx", width: 4 },
    { name: "cp", width: 1 },
    { name: "cn", width: 1 },
    { name: "sn", width: 1 },
    { name: "ac", width: 5 },
  ];
  rowLoop(f, units, pointers, "sn", (a) => {
    a.load("gx", 0);
    emitSigmoid(f);
    f.localSet("ig");
    a.load("gx", 1);
    emitSigmoid(f);
    f.localSet("fg");
    a.load("gx", 2);
    emitTanh(f);
    f.localSet("gg");
    a.load("gx", 3);
    emitSigmoid(f);
    f.localSet("og");
    f.localGet("fg");
    a.load("cp");
    f.f32x4Mul().localGet("ig").localGet("gg").f32x4Mul().f32x4Add().localTee("cv");
    emitTanh(f);
    f.localSet("tc");
    a.store("cn", 0, () => f.localGet("cv"));
    a.store("sn", 0, () => f.localGet("og").localGet("tc").f32x4Mul());
    a.store("ac", 0, () => f.localGet("ig"));
    a.store("ac", 1, () => f.localGet("fg"));
    a.store("ac", 2, () => f.localGet("gg"));
    a.store("ac", 3, () => f.localGet("og"));
    a.store("ac", 4, () => f.localGet("tc"));
  });
  return f;
}

/** lstmBackward for H units (see the file comment). */
export function buildLstmBackward(units: number): FunctionBuilder {
  const f = new FunctionBuilder(params(["ac", "cp", "dh", "dc", "dgx", "dgh", "dcp"]));
  for (const v of ["ig", "fg", "gg", "og", "tc", "dhv", "dcv", "di", "df", "dg", "do"]) f.local(v, "v128");
  const pointers: Pointer[] = [
    { name: "ac", width: 5 },
    { name: "cp", width: 1 },
    { name: "dh", width: 1 },
    { name: "dc", width: 1 },
    { name: "dgx", width: 4 },
    { name: "dgh", width: 4 },
    { name: "dcp", width: 1 },
  ];
  const one = (): void => void f.splatConstant(1);
  rowLoop(f, units, pointers, "dcp", (a) => {
    ["ig", "fg", "gg", "og", "tc"].forEach((v, gate) => {
      a.load("ac", gate);
      f.localSet(v);
    });
    a.load("dh");
    f.localSet("dhv");
    // dcv = dc + dh·o·(1 − tc²)
    a.load("dc");
    f.localGet("dhv").localGet("og").f32x4Mul();
    one();
    f.localGet("tc").localGet("tc").f32x4Mul().f32x4Sub().f32x4Mul().f32x4Add().localSet("dcv");
    // di = dcv·g·i·(1 − i)
    f.localGet("dcv").localGet("gg").f32x4Mul().localGet("ig").f32x4Mul();
    one();
    f.localGet("ig").f32x4Sub().f32x4Mul().localSet("di");
    // df = dcv·cp·f·(1 − f)
    f.localGet("dcv");
    a.load("cp");
    f.f32x4Mul().localGet("fg").f32x4Mul();
    one();
    f.localGet("fg").f32x4Sub().f32x4Mul().localSet("df");
    // dg = dcv·i·(1 − g²)
    f.localGet("dcv").localGet("ig").f32x4Mul();
    one();
    f.localGet("gg").localGet("gg").f32x4Mul().f32x4Sub().f32x4Mul().localSet("dg");
    // do = dh·tc·o·(1 − o)
    f.localGet("dhv").localGet("tc").f32x4Mul().localGet("og").f32x4Mul();
    one();
    f.localGet("og").f32x4Sub().f32x4Mul().localSet("do");
    for (const p of ["dgx", "dgh"]) {
      ["di", "df", "dg", "do"].forEach((v, gate) => a.store(p, gate, () => f.localGet(v)));
    }
    a.store("dcp", 0, () => f.localGet("dcv").localGet("fg").f32x4Mul());
  });
  return f;
}

export function buildCellKernel(kind: CellKernel, units: number): FunctionBuilder {
  return kind === "lstmForward" ? buildLstmForward(units) : buildLstmBackward(units);
}
