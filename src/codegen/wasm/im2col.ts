/**
 * A convolution's window walks (src/layers/conv-emit.ts) as WebAssembly kernels, one per conv
 * geometry with every shape constant baked in:
 *
 *   im2col(x, col, t0, t1)   col rows ← the windows of output rows t0 … t1 − 1 (of n·OH)
 *   col2im(dx, col, t0, t1)  dx += each col row, onto its window, in col's row order
 *
 * Arguments are byte addresses: x (or dx) at the batch's first element, col at the chunk's first
 * row, and the output-row range. Each kernel row u of a window is a run of KW·C floats, contiguous
 * in both arrays; a run is moved with v128 loads and stores plus a scalar tail (memory.copy for
 * im2col's long runs). Where the window
 * is clipped by padding only the run's real elements are touched, unless `zero` (a col reused
 * chunk by chunk), where the padded elements are written as zeros — exactly as the JS walk does.
 */
import { FunctionBuilder, type MemArg } from "./encoder.js";

export interface ConvWalkSpec {
  readonly kind: "im2col" | "col2im";
  /** Input [h, w, ch]; kernel kh × kw; one stride for both axes; padding before (top, left). */
  readonly h: number;
  readonly w: number;
  readonly ch: number;
  readonly kh: number;
  readonly kw: number;
  readonly stride: number;
  readonly top: number;
  readonly left: number;
  /** Output rows and columns per sample. */
  readonly oh: number;
  readonly ow: number;
  /** im2col into a reused (chunked) col: padded elements are written as zeros. */
  readonly zero: boolean;
}

/** The kernel's name: equal geometries share one. */
export function convWalkName(s: ConvWalkSpec): string {
  const zero = s.kind === "im2col" && s.zero ? "_z" : "";
  return `${s.kind}_${s.h}x${s.w}x${s.ch}_k${s.kh}x${s.kw}_s${s.stride}_p${s.top}x${s.left}_o${s.oh}x${s.ow}${zero}`;
}

/** Some output's window along this axis reaches into the padding. */
function clipped(count: number, size: number, k: number, stride: number, before: number): boolean {
  for (let i = 0; i < count; i++) {
    const start = i * stride - before;
    if (start < 0 || start + k > size) return true;
  }
  return false;
}

/** Runs of at most this many floats are unrolled; longer ones loop. */
const UNROLL = 64;
/** Windows of at most this many floats (KH runs) are written out whole where they lie inside the input. */
const UNROLL_WINDOW = 160;
/**
 * im2col copies runs of at least this many floats with memory.copy: measured on V8 (x64), about
 * 10% faster than the v128 loop from 192 floats up, slower at 80–96.
 */
const MEMORY_COPY = 128;

export function buildConvWalk(s: ConvWalkSpec): FunctionBuilder {
  const f = new FunctionBuilder([
    ["x", "i32"],
    ["col", "i32"],
    ["t0", "i32"],
    ["t1", "i32"],
  ]);
  for (const l of ["t", "b", "xb", "r0", "j", "s0", "lo", "hi", "u", "r", "xo", "o", "e"]) f.local(l, "i32");
  const span = s.kw * s.ch;
  const spanB = 4 * span;
  const rowsClipped = clipped(s.oh, s.h, s.kh, s.stride, s.top);
  const colsClipped = clipped(s.ow, s.w, s.kw, s.stride, s.left);
  const zero = s.kind === "im2col" && s.zero;
  const im2col = s.kind === "im2col";

  /** One move of 4 floats (vector) or 1 (scalar) at x address `xa` (+ xOffset) and col address `ca` (+ offset). */
  const move = (vector: boolean, xa: () => void, ca: () => void, offset: number, xOffset = offset): void => {
    const m = { align: 2, offset };
    const mx = { align: 2, offset: xOffset };
    const load = (at: MemArg): void => void (vector ? f.v128Load(at) : f.f32Load(at));
    const store = (at: MemArg): void => void (vector ? f.v128Store(at) : f.f32Store(at));
    if (im2col) {
      ca();
      xa();
      load(mx);
      store(m);
    } else {
      xa();
      xa();
      load(mx);
      ca();
      load(m);
      if (vector) f.f32x4Add();
      else f.f32Add();
      store(mx);
    }
  };
  /** Zeros of 4 floats (vector) or 1 (scalar) at col address `ca` (+ offset). */
  const clear = (vector: boolean, ca: () => void, offset: number): void => {
    ca();
    if (vector) f.v128Const().v128Store({ align: 2, offset });
    else f.f32Const(0).f32Store({ align: 2, offset });
  };
  const at = (base: string) => (): void => void f.localGet(base).localGet("e").i32Add();
  /** Byte range [from, to) of the run (locals or constants): moved, or cleared. */
  const range = (from: string | number, to: string | number, op: "move" | "clear"): void => {
    const push = (v: string | number): void => void (typeof v === "number" ? f.i32Const(v) : f.localGet(v));
    push(from);
    f.localSet("e");
    if (op === "move" && im2col && span >= MEMORY_COPY) {
      // (not for an empty run: its source address may lie outside memory, which traps)
      push(to);
      f.localGet("e").i32GtS().if(undefined, () => {
        f.localGet("o").localGet("e").i32Add().localGet("xo").localGet("e").i32Add();
        push(to);
        f.localGet("e").i32Sub().memoryCopy();
      });
      return;
    }
    for (const vector of [true, false]) {
      const step = vector ? 16 : 4;
      f.block("rdone", () => {
        f.loop("rloop", () => {
          f.localGet("e").i32Const(step).i32Add();
          push(to);
          f.i32GtS().brIf("rdone");
          if (op === "move") move(vector, at("xo"), at("o"), 0);
          else clear(vector, at("o"), 0);
          f.localGet("e").i32Const(step).i32Add().localSet("e");
          f.br("rloop");
        });
      });
    }
  };
  /** The whole run, 0 … span: unrolled where short. */
  const full = (op: "move" | "clear"): void => {
    if (span > UNROLL) return range(0, spanB, op);
    const xa = (): void => void f.localGet("xo");
    const ca = (): void => void f.localGet("o");
    for (let q = 0; q + 4 <= span; q += 4) op === "move" ? move(true, xa, ca, 4 * q) : clear(true, ca, 4 * q);
    for (let q = span & ~3; q < span; q++) op === "move" ? move(false, xa, ca, 4 * q) : clear(false, ca, 4 * q);
  };
  // A window inside the input (no row or column clipped) where its KH runs are short: written
  // out whole, each run at a constant offset from the first (no per-row loop, bounds or clips).
  const whole = span <= UNROLL && s.kh * span <= UNROLL_WINDOW;
  const wholeWindow = (): void => {
    const xa = (): void => void f.localGet("xo");
    const ca = (): void => void f.localGet("o");
    for (let u = 0; u < s.kh; u++) {
      const xu = 4 * u * s.w * s.ch;
      const cu = u * spanB;
      for (let q = 0; q + 4 <= span; q += 4) move(true, xa, ca, cu + 4 * q, xu + 4 * q);
      for (let q = span & ~3; q < span; q++) move(false, xa, ca, cu + 4 * q, xu + 4 * q);
    }
  };

  f.localGet("col").localSet("o");
  f.localGet("t0").localSet("t");
  f.block("tdone", () => {
    f.loop("tloop", () => {
      f.localGet("t").localGet("t1").i32GeS().brIf("tdone");
      // b = t / OH, i = t − b·OH; xb = x + b·H·W·C floats; r0 = i·stride − top
      f.localGet("t").i32Const(s.oh).i32DivU().localSet("b");
      f.localGet("x").localGet("b").i32Const(4 * s.h * s.w * s.ch).i32Mul().i32Add().localSet("xb");
      f.localGet("t").localGet("b").i32Const(s.oh).i32Mul().i32Sub().i32Const(s.stride).i32Mul().i32Const(s.top).i32Sub().localSet("r0");
      f.i32Const(0).localSet("j");
      f.loop("jloop", () => {
        f.localGet("j").i32Const(s.stride).i32Mul().i32Const(s.left).i32Sub().localSet("s0");
        if (colsClipped) {
          // the run's real bytes lo … hi (clamped so that lo ≤ hi ≤ span even for empty windows)
          f.i32Const(0).localSet("lo");
          f.localGet("s0").i32Const(0).i32LtS().if(undefined, () => {
            f.i32Const(0).localGet("s0").i32Sub().i32Const(4 * s.ch).i32Mul().localSet("lo");
            f.localGet("lo").i32Const(spanB).i32GtS().if(undefined, () => void f.i32Const(spanB).localSet("lo"));
          });
          f.i32Const(spanB).localSet("hi");
          f.localGet("s0").i32Const(s.kw - s.w).i32Add().i32Const(0).i32GtS().if(undefined, () => {
            f.i32Const(s.w).localGet("s0").i32Sub().i32Const(4 * s.ch).i32Mul().localSet("hi");
          });
          f.localGet("hi").localGet("lo").i32LtS().if(undefined, () => void f.localGet("lo").localSet("hi"));
        }
        const runs = (): void => {
          f.i32Const(0).localSet("u");
          f.loop("uloop", () => {
            f.block("next", () => {
              f.localGet("r0").localGet("u").i32Add().localSet("r");
              if (rowsClipped) {
                f.localGet("r").i32Const(s.h).i32GeU().if(undefined, () => {
                  if (zero) full("clear");
                  f.br("next");
                });
              }
              // xo = xb + (r·W + s0)·C floats
              f.localGet("xb").localGet("r").i32Const(s.w).i32Mul().localGet("s0").i32Add().i32Const(4 * s.ch).i32Mul().i32Add().localSet("xo");
              if (!colsClipped) {
                full("move");
                return;
              }
              f.localGet("lo").i32Eqz().localGet("hi").i32Const(spanB).i32Eq().i32And().if(
                undefined,
                () => full("move"),
                () => {
                  if (zero) range(0, "lo", "clear");
                  range("lo", "hi", "move");
                  if (zero) range("hi", spanB, "clear");
                },
              );
            });
            f.localGet("o").i32Const(spanB).i32Add().localSet("o");
            f.localGet("u").i32Const(1).i32Add().localTee("u").i32Const(s.kh).i32LtS().brIf("uloop");
          });
        };
        if (!whole) runs();
        else {
          // inside: rows r0 … r0 + KH − 1 within the input, and the runs unclipped
          f.localGet("r0").i32Const(0).i32GeS().localGet("r0").i32Const(s.h - s.kh).i32LeS().i32And();
          if (colsClipped) f.localGet("lo").i32Eqz().localGet("hi").i32Const(spanB).i32Eq().i32And().i32And();
          f.if(
            undefined,
            () => {
              f.localGet("xb").localGet("r0").i32Const(s.w).i32Mul().localGet("s0").i32Add().i32Const(4 * s.ch).i32Mul().i32Add().localSet("xo");
              wholeWindow();
              f.localGet("o").i32Const(s.kh * spanB).i32Add().localSet("o");
            },
            runs,
          );
        }
        f.localGet("j").i32Const(1).i32Add().localTee("j").i32Const(s.ow).i32LtS().brIf("jloop");
      });
      f.localGet("t").i32Const(1).i32Add().localSet("t");
      f.br("tloop");
    });
  });
  return f;
}
