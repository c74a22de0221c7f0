import type { LayerEmitter } from "../codegen/emit-types.js";
import type { ConvArgs } from "./conv.js";
import { minus, plus, times, windowAxis, type WindowAxis } from "./window-emit.js";
import { planWindow } from "./window-plan.js";

/**
 * Direct convolution (no im2col) over [n, H, W, C] with the Keras kernel [KH, KW, C, F].
 *
 * For each output cell and each kernel row, the window's real cells of that row and their
 * channels are one contiguous run of the input, and the matching kernel rows one contiguous run
 * of the kernel: the generated code walks both with a single index `t`. The filters are
 * register-blocked: up to 16 filters (all of them when F ≤ 16, else blocks of 8) accumulate in
 * local variables (a0, a1, …) and are written to y once; zero inputs (after relu) are skipped.
 * Row/column clipping for padding is computed once per output row/cell, and left out entirely
 * where no window is ever clipped.
 *
 * Backward walks the same order with the block's dy values in locals (d0, d1, …): bias and kernel
 * gradients accumulate into `g`, and dx (only when the input needs one) gets Σ_q dy·k.
 * Each output's sum runs in the interpreter's order (src/layers/conv-kernel.ts); with F > 16, dx
 * receives one partial sum per filter block.
 */
export const convEmit: LayerEmitter<ConvArgs> = {
  forward(a, c) {
    const g = geometry(a, c.inShapes[0]!);
    const f = a.filters;
    const kernel = c.offset("kernel");
    const bias = a.bias ? c.offset("bias") : undefined;
    const block = (q0: string, m: number): string => {
      const acc = range(m);
      return `{
              ${acc.map((j) => `let a${j} = ${bias === undefined ? "0" : `w[${plus(`${bias}`, plus(q0, `${j}`))}]`};`).join("\n")}
              for (let u = ${g.rows.lo}; u < ${g.rows.hi}; u++) {
                const xo = ${g.inputRun};
                const ko = ${plus(g.kernelRun(kernel), q0)};
                for (let t = 0; t < len; t++) {
                  const xv = x0[xo + t];
                  if (xv === 0) continue;
                  const kt = ko + t * ${f};
                  ${acc.map((j) => `a${j} += xv * w[${plus("kt", `${j}`)}];`).join("\n")}
                }
              }
              ${acc.map((j) => `y[${plus(plus("yo", q0), `${j}`)}] = a${j};`).join("\n")}
            }`;
    };
    return `
      for (let b = 0; b < n; b++) {
        const xb = b * ${g.inSize};
        for (let i = 0; i < ${g.oh}; i++) {
          ${g.rows.decl}
          for (let j = 0; j < ${g.ow}; j++) {
            ${g.cols.decl}
            const yo = ((b * ${g.oh} + i) * ${g.ow} + j) * ${f};
            const len = ${g.runLength};
            ${filterBlocks(f, block)}
          }
        }
      }`;
  },

  backward(a, c) {
    const g = geometry(a, c.inShapes[0]!);
    const f = a.filters;
    const kernel = c.offset("kernel");
    const dx = c.needsDx(0);
    const block = (q0: string, m: number): string => {
      const d = range(m);
      const biasGrad = a.bias ? d.map((j) => `g[${plus(`${c.offset("bias")}`, plus(q0, `${j}`))}] += d${j};`).join("\n") : "";
      const body = dx
        ? `const xv = x0[xo + t];
                  const kt = ko + t * ${f};
                  dx0[xo + t] += ${d.map((j) => `d${j} * w[${plus("kt", `${j}`)}]`).join(" + ")};
                  if (xv === 0) continue;
                  ${d.map((j) => `g[${plus("kt", `${j}`)}] += xv * d${j};`).join("\n")}`
        : `const xv = x0[xo + t];
                  if (xv === 0) continue;
                  const kt = ko + t * ${f};
                  ${d.map((j) => `g[${plus("kt", `${j}`)}] += xv * d${j};`).join("\n")}`;
      return `{
              ${d.map((j) => `const d${j} = dy[${plus(plus("yo", q0), `${j}`)}];`).join("\n")}
              ${biasGrad}
              for (let u = ${g.rows.lo}; u < ${g.rows.hi}; u++) {
                const xo = ${g.inputRun};
                const ko = ${plus(g.kernelRun(kernel), q0)};
                for (let t = 0; t < len; t++) {
                  ${body}
                }
              }
            }`;
    };
    return `
      for (let b = 0; b < n; b++) {
        const xb = b * ${g.inSize};
        for (let i = 0; i < ${g.oh}; i++) {
          ${g.rows.decl}
          for (let j = 0; j < ${g.ow}; j++) {
            ${g.cols.decl}
            const yo = ((b * ${g.oh} + i) * ${g.ow} + j) * ${f};
            const len = ${g.runLength};
            ${filterBlocks(f, block)}
          }
        }
      }`;
  },
};

/** Filters per register block when F is too large to keep them all in locals. */
const BLOCK = 8;
const ALL_IN_REGISTERS = 16;

function range(m: number): number[] {
  return Array.from({ length: m }, (_, j) => j);
}

/** The code of `block(q0, m)` over all filters: one block of F, or a loop of 8-blocks and a rest. */
function filterBlocks(f: number, block: (q0: string, m: number) => string): string {
  if (f <= ALL_IN_REGISTERS) return block("0", f);
  const full = f - (f % BLOCK);
  const loop = `for (let q0 = 0; q0 < ${full}; q0 += ${BLOCK}) ${block("q0", BLOCK)}`;
  return f % BLOCK === 0 ? loop : `${loop}\n${block(`${full}`, f % BLOCK)}`;
}

interface ConvGeometry {
  readonly oh: number;
  readonly ow: number;
  readonly inSize: number;
  readonly rows: WindowAxis;
  readonly cols: WindowAxis;
  /** The real cells of one kernel row times the channels: an expression. */
  readonly runLength: string;
  /** Where kernel row u's run starts in the input (uses xb, u and the column bounds). */
  readonly inputRun: string;
  /** Where kernel row u's run starts in the weights arena. */
  kernelRun(kernelOffset: number): string;
}

function geometry(a: ConvArgs, x: readonly number[]): ConvGeometry {
  const [h, w, c] = x as [number, number, number];
  const { kh, kw, stride } = a.window;
  const { oh, ow, top, left } = planWindow(a.window, h, w);
  const rows = windowAxis("r", "i", oh, h, kh, stride, top);
  const cols = windowAxis("s", "j", ow, w, kw, stride, left);
  const unclippedCols = cols.lo === "0" && cols.hi === `${kw}`;
  return {
    oh,
    ow,
    inSize: h * w * c,
    rows,
    cols,
    runLength: unclippedCols ? `${kw * c}` : times(`(${minus(cols.hi, cols.lo)})`, c),
    inputRun: `xb + ${times(`((${rows.start} + u) * ${w} + ${plus(cols.start, cols.lo)})`, c)}`,
    kernelRun: (k) => plus(`${k}`, `(u * ${kw}${cols.lo === "0" ? "" : ` + ${cols.lo}`}) * ${c * a.filters}`),
  };
}
