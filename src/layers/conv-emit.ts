import type { EmitContext, LayerEmitter } from "../codegen/emit-types.js";
import type { ConvArgs } from "./conv.js";
import { biasGradient, fillRows } from "./bias-emit.js";
import { kernelTProduct } from "./input-gradient-emit.js";
import { times, windowAxis, type WindowAxis } from "./window-emit.js";
import { planWindow } from "./window-plan.js";

/**
 * Convolution over [n, H, W, C] with the Keras kernel [KH, KW, C, F], as matrix products on the
 * shared 4×4-tiled kernels (src/codegen/helpers.ts). The kernel already is a [K, F] matrix,
 * K = KH·KW·C, and y is [n·OH·OW, F]; im2col writes each output cell's window (zeros where padded)
 * as one row of `col` [rows, K] in the kernel's (u, v, channel) order, so that
 *
 *   forward   y = col · kernel, then + bias
 *   backward  bias grad += column sums of dy, kernel grad += colᵀ · dy,
 *             and when the input needs one, dcol = dy · kernelᵀ and col2im adds each dcol row
 *             back onto the window it came from in dx0.
 *
 * Work goes in chunks of G output rows (G·OW·K ≤ COL_CAP elements, chosen here from the shapes),
 * so small layers multiply many samples at once (a large M) and large ones use a bounded buffer.
 * Where one sample's col is small (≤ KEEP_CAP) col holds the whole batch and backward reuses
 * forward's; otherwise col holds one chunk, backward rebuilds it and dcol reuses its buffer.
 * A 1x1, stride-1, unpadded conv needs no im2col: x already is the [n·H·W, C] matrix.
 *
 * Sums run in the interpreter's order (src/layers/conv-kernel.ts) except that the bias is added
 * after the products rather than before, and chunks add their partial kernel gradients in turn.
 */
export const convEmit: LayerEmitter<ConvArgs> = {
  forward(a, c) {
    const g = geometry(a, c);
    const f = a.filters;
    // With a bias, y starts as the bias in every row (one row, then copied natively) and the
    // product accumulates onto it.
    const product = c.matmulCall(f, a.bias, g.k);
    const bias = a.bias ? `\n${fillRows("y", c.offset("bias"), f, `n * ${g.cells * f}`)}` : "";
    if (g.pointwise) {
      return `${bias}
      // y ${a.bias ? "+" : ""}= x · kernel: a 1x1 conv is a matrix product over the n·H·W cells
      ${product.kernel}(x0, 0, w, ${g.kernel}, y, 0, n * ${g.cells}, ${g.k}, ${f}, ${a.bias}${product.args});`;
    }
    return `${bias}${chunks(g, c, `${g.im2col()}
        // y rows ${a.bias ? "+" : ""}= col · kernel ([${g.k}, ${f}])
        ${product.kernel}(col, ${g.colAt}, w, ${g.kernel}, y, t0 * ${g.ow * f}, (t1 - t0) * ${g.ow}, ${g.k}, ${f}, ${a.bias}${product.args});`)}`;
  },

  backward(a, c) {
    const g = geometry(a, c);
    const f = a.filters;
    const gradient = c.matmulTNCall(g.k, f);
    const dxProduct = c.needsDx(0) ? kernelTProduct(c, "kernelT", g.kernel, g.k, f) : undefined;
    const bias = a.bias
      ? `
${biasGradient(c, "dy", c.offset("bias"), f, g.cells)}`
      : "";
    if (g.pointwise) {
      return `${bias}
      // kernel gradient += xᵀ · dy${dxProduct ? "; dx += dy · kernelᵀ" : ""}
      ${gradient.kernel}(x0, 0, dy, 0, g, ${g.kernel}, ${g.k}, n * ${g.cells}, ${f}${gradient.args});${dxProduct ? `${dxProduct.prepare}
      ${dxProduct.product({ a: "dy", aOffset: "0", out: "dx0", outOffset: "0", rows: `n * ${g.cells}`, accumulate: true })}` : ""}`;
    }
    // With col kept from forward, dcol needs a buffer of its own (one chunk); else it reuses col's.
    const dcol = !dxProduct ? "" : g.keep ? c.scratch("dcol", g.chunk * g.ow * g.k) : "col";
    const dx = dxProduct
      ? `
        // dcol = dy · kernelᵀ, then col2im adds it onto the windows in dx
        ${dxProduct.product({ a: "dy", aOffset: `t0 * ${g.ow * f}`, out: dcol, outOffset: "0", rows: `(t1 - t0) * ${g.ow}`, accumulate: false })}${g.col2im(dcol)}`
      : "";
    return `${bias}${dxProduct?.prepare ?? ""}${chunks(g, c, `${g.keep ? "" : g.im2col()}
        // kernel gradient += colᵀ · dy
        ${gradient.kernel}(col, ${g.colAt}, dy, t0 * ${g.ow * f}, g, ${g.kernel}, ${g.k}, (t1 - t0) * ${g.ow}, ${f}${gradient.args});${dx}`)}`;
  },
};

/**
 * col's size: a chunk holds at most COL_CAP elements (unless one output row alone is longer);
 * 2^18 is 1 MiB of f32, which stays in L2 cache between im2col and the matmul that reads it.
 * Where one sample's col has at most KEEP_CAP elements, col holds the whole batch's, kept from
 * forward for backward (LeNet's convs: 20k and 15k); larger layers rebuild it chunk by chunk.
 */
const COL_CAP = 1 << 18;
const KEEP_CAP = 1 << 15;

/** The loop over chunks of output rows t0 … t1 − 1 (of n·OH), with col allocated once. */
function chunks(g: ConvGeometry, c: EmitContext, body: string): string {
  if (g.keep) c.scratch("col", g.cells * g.k, true);
  else c.scratch("col", g.chunk * g.ow * g.k);
  return `
      // chunks of ${g.chunk} output rows (of n·${g.oh})${g.keep ? "" : `: col is [${g.chunk}·${g.ow}, ${g.k}]`}
      for (let t0 = 0; t0 < n * ${g.oh}; t0 += ${g.chunk}) {
        const t1 = Math.min(t0 + ${g.chunk}, n * ${g.oh});${body}
      }`;
}

interface ConvGeometry {
  readonly oh: number;
  readonly ow: number;
  /** Output cells per sample. */
  readonly cells: number;
  /** The kernel's rows: KH·KW·C. */
  readonly k: number;
  /** The kernel's offset in w and g. */
  readonly kernel: number;
  /** 1x1, stride 1, no padding: x is already the col matrix. */
  readonly pointwise: boolean;
  /** Output rows (of n·OH) per chunk. */
  readonly chunk: number;
  /** col holds the whole batch, kept from forward to backward. */
  readonly keep: boolean;
  /** Where the chunk's rows start in col. */
  readonly colAt: string;
  /** col ← the windows of output rows t0 … t1 − 1. */
  im2col(): string;
  /** dx0 += the chunk's rows of `from`, window by window. */
  col2im(from: string): string;
}

function geometry(a: ConvArgs, c: EmitContext): ConvGeometry {
  const [h, w, ch] = c.inShapes[0]! as [number, number, number];
  const { kh, kw, stride } = a.window;
  const { oh, ow, top, left } = planWindow(a.window, h, w);
  const k = kh * kw * ch;
  const rows = windowAxis("r", "i", oh, h, kh, stride, top);
  const cols = windowAxis("s", "j", ow, w, kw, stride, left);
  const keep = oh * ow * k <= KEEP_CAP;
  const colAt = keep ? `t0 * ${ow * k}` : "0";
  const shape: WalkShape = { h, w, ch, kh, kw, oh, ow, keep, rows, cols };
  // With wasm kernels (f32), the walks are kernels for this geometry; the JS walk is their fallback.
  const kernel = (kind: "im2col" | "col2im"): string | undefined => {
    if (c.precision !== "f32" || !c.convWalk) return undefined;
    const js = `(${kind === "im2col" ? "x0" : "dx0"}, col, co, t0, t1) => {${windowWalk(shape, kind, "col", "co")}
    }`;
    return c.convWalk({ kind, h, w, ch, kh, kw, stride, top, left, oh, ow, zero: kind === "im2col" && !keep }, js);
  };
  return {
    oh,
    ow,
    cells: oh * ow,
    k,
    kernel: c.offset("kernel"),
    pointwise: kh === 1 && kw === 1 && stride === 1 && top === 0 && left === 0 && oh === h && ow === w,
    chunk: Math.max(1, Math.floor(COL_CAP / (ow * k))),
    keep,
    colAt,
    im2col: () => {
      const k = kernel("im2col");
      return k
        ? `
        // im2col: each output cell's window as one row of col
        ${k}(x0, col, ${colAt}, t0, t1);`
        : windowWalk(shape, "im2col", "col", colAt);
    },
    col2im: (from) => {
      const k = kernel("col2im");
      return k
        ? `
        // col2im: dx += each ${from} row, onto its window
        ${k}(dx0, ${from}, 0, t0, t1);`
        : windowWalk(shape, "col2im", from, "0");
    },
  };
}

interface WalkShape {
  readonly h: number;
  readonly w: number;
  readonly ch: number;
  readonly kh: number;
  readonly kw: number;
  readonly oh: number;
  readonly ow: number;
  readonly keep: boolean;
  readonly rows: WindowAxis;
  readonly cols: WindowAxis;
}

/**
 * Walks col's rows for output rows t0 … t1 − 1 in order (from colAt): `o` indexes col, `xo + e`
 * the input.
 * One kernel row u of a window is a run of KW·C values in both; where the window is clipped,
 * only the run's elements lo … hi − 1 are real input (the rest are padding: zeros in col).
 */
function windowWalk(s: WalkShape, kind: "im2col" | "col2im", col: string, colAt: string): string {
  const span = s.kw * s.ch;
  const rowsClipped = s.rows.lo !== "0" || s.rows.hi !== `${s.kh}`;
  const colsClipped = s.cols.lo !== "0" || s.cols.hi !== `${s.kw}`;
  // Where col holds the whole batch, a padded element's place in col never changes and nothing
  // else writes col, so it stays the zero it was allocated with: im2col copies the real runs only
  // (zeroing costs LeNet's conv1 half again as much). A chunked col is reused: zero it explicitly.
  const zero = kind === "im2col" && !s.keep;
  // The run's real elements (lo, hi: declared per output cell unless C = 1).
  const [lo, hi] = s.ch > 1 ? ["lo", "hi"] : [s.cols.lo, s.cols.hi];
  const run = kind === "im2col" ? `${col}[o + e] = x0[xo + e]` : `dx0[xo + e] += ${col}[o + e]`;
  const copy = !colsClipped
    ? `for (let e = 0; e < ${span}; e++) ${run};`
    : zero
      ? `for (let e = 0; e < ${lo}; e++) ${col}[o + e] = 0;
              for (let e = ${lo}; e < ${hi}; e++) ${run};
              for (let e = ${hi}; e < ${span}; e++) ${col}[o + e] = 0;`
      : `for (let e = ${lo}; e < ${hi}; e++) ${run};`;
  const paddedRow = zero ? ` for (let e = 0; e < ${span}; e++) ${col}[o + e] = 0;` : "";
  const comment = kind === "im2col" ? "im2col: each output cell's window as one row of col" : "col2im: dx += each col row, onto its window";
  return `
        // ${comment}
        for (let t = t0, o = ${colAt}; t < t1; t++) {
          const b = (t / ${s.oh}) | 0;
          const i = t - b * ${s.oh};
          const xb = b * ${s.h * s.w * s.ch};
          ${s.rows.decl}
          for (let j = 0; j < ${s.ow}; j++) {
            ${s.cols.decl}${colsClipped && s.ch > 1 ? `\n            const lo = ${times(s.cols.lo, s.ch)}, hi = ${times(s.cols.hi, s.ch)};` : ""}
            for (let u = 0; u < ${s.kh}; u++, o += ${span}) {
              ${rowsClipped ? `if (u < ${s.rows.lo} || u >= ${s.rows.hi}) {${paddedRow} continue; }\n              ` : ""}const xo = xb + ${times(`((${s.rows.start} + u) * ${s.w} + ${s.cols.start})`, s.ch)};
              ${copy}
            }
          }
        }`;
}
