import type { EmitContext, LayerEmitter } from "../codegen/emit-types.js";
import type { PoolArgs } from "./pool.js";
import { plus, windowAxis } from "./window-emit.js";
import { planWindow } from "./window-plan.js";

/**
 * Max, min and average pooling over [n, H, W, C], as src/layers/pool-kernel.ts: a window only
 * looks at its real cells (padding and the part of a `ceil` window past the end are skipped,
 * never counted), and a window with no real cell gives 0 and passes no gradient.
 * Each channel's window is walked in row-major order with its running value in a local (one
 * store per output, not one per cell). Max/min keep the first extreme value and its flat input
 * index in an Int32 scratch (`picked`, −1 for an empty window); backward routes dy to that
 * index. Average sums the cells and divides by their count; backward spreads dy/count over the
 * same cells.
 */
export const poolEmit: LayerEmitter<PoolArgs> = {
  forward(a, c) {
    const g = geometry(a, c);
    if (a.mode === "avg" && g.cells) {
      return loops(g, `
            const base = xb + (${g.r0} * ${g.w} + ${g.s0}) * ${g.c};
            for (let ch = 0; ch < ${g.c}; ch++) y[yo + ch] = (${g.cells.map((o) => `x0[base + ${plus(String(o), "ch")}]`).join(" + ")}) / ${g.count};`);
    }
    if (a.mode === "avg") {
      return loops(g, `
            ${g.emptyGuard(`{
              for (let ch = 0; ch < ${g.c}; ch++) y[yo + ch] = 0;
              continue;
            }`)}
            const count = ${g.count};
            for (let ch = 0; ch < ${g.c}; ch++) {
              let sum = 0;
              for (let r = ${g.r0}; r < ${g.r1}; r++) {
                for (let s = ${g.s0}; s < ${g.s1}; s++) sum += x0[xb + (r * ${g.w} + s) * ${g.c} + ch];
              }
              y[yo + ch] = sum / count;
            }`);
    }
    const picked = c.scratch("picked", g.outSize, true, "int");
    const better = a.mode === "max" ? ">" : "<";
    if (g.cells) {
      const rest = g.cells.slice(1).map(
        (o) => `{
                const xi = at0 + ${o};
                const v = x0[xi];
                if (v ${better} best) {
                  best = v;
                  at = xi;
                }
              }`,
      );
      return loops(g, `
            const base = xb + (${g.r0} * ${g.w} + ${g.s0}) * ${g.c};
            for (let ch = 0; ch < ${g.c}; ch++) {
              const at0 = base + ch;
              let best = x0[at0];
              let at = at0;
              ${rest.join("\n              ")}
              y[yo + ch] = best;
              ${picked}[yo + ch] = at;
            }`);
    }
    return loops(g, `
            ${g.emptyGuard(`{
              for (let ch = 0; ch < ${g.c}; ch++) {
                y[yo + ch] = 0;
                ${picked}[yo + ch] = -1;
              }
              continue;
            }`)}
            const first = xb + (${g.r0} * ${g.w} + ${g.s0}) * ${g.c};
            for (let ch = 0; ch < ${g.c}; ch++) {
              let best = x0[first + ch];
              let at = first + ch;
              for (let r = ${g.r0}; r < ${g.r1}; r++) {
                for (let s = ${g.s0}; s < ${g.s1}; s++) {
                  const xi = xb + (r * ${g.w} + s) * ${g.c} + ch;
                  const v = x0[xi];
                  if (v ${better} best) {
                    best = v;
                    at = xi;
                  }
                }
              }
              y[yo + ch] = best;
              ${picked}[yo + ch] = at;
            }`);
  },

  backward(a, c) {
    if (!c.needsDx(0)) return "";
    const g = geometry(a, c);
    if (a.mode === "avg" && g.cells) {
      return loops(g, `
            const base = xb + (${g.r0} * ${g.w} + ${g.s0}) * ${g.c};
            for (let ch = 0; ch < ${g.c}; ch++) {
              const d = dy[yo + ch] * (1 / ${g.count});
              ${g.cells.map((o) => `dx0[base + ${plus(String(o), "ch")}] += d;`).join("\n              ")}
            }`);
    }
    if (a.mode === "avg") {
      return loops(g, `
            ${g.emptyGuard("continue;")}
            const scale = 1 / (${g.count});
            for (let ch = 0; ch < ${g.c}; ch++) {
              const d = dy[yo + ch] * scale;
              for (let r = ${g.r0}; r < ${g.r1}; r++) {
                for (let s = ${g.s0}; s < ${g.s1}; s++) dx0[xb + (r * ${g.w} + s) * ${g.c} + ch] += d;
              }
            }`);
    }
    const picked = c.scratch("picked", g.outSize, true, "int");
    return `
      for (let o = 0; o < n * ${g.outSize}; o++) {
        const xi = ${picked}[o];
        ${g.mayBeEmpty ? "if (xi >= 0) " : ""}dx0[xi] += dy[o];
      }`;
  },
};

/** Largest window written out cell by cell (3×3 and 4×4 pools included). */
const UNROLLED_CELLS = 16;

interface PoolGeometry {
  readonly h: number;
  readonly w: number;
  readonly c: number;
  readonly oh: number;
  readonly ow: number;
  readonly outSize: number;
  readonly rowDecl: string;
  readonly colDecl: string;
  /** The real cells' input rows r0 ≤ r < r1 and columns s0 ≤ s < s1: expressions. */
  readonly r0: string;
  readonly r1: string;
  readonly s0: string;
  readonly s1: string;
  /** The number of real cells: an expression (a constant where no window is clipped). */
  readonly count: string;
  readonly mayBeEmpty: boolean;
  /**
   * Where no window is clipped and a window has at most UNROLLED_CELLS cells: each cell's offset
   * from the window's first (r0, s0) in input elements, row-major, so the window is written out
   * cell by cell with constant offsets instead of two loops. Undefined otherwise.
   */
  readonly cells?: readonly number[];
  /** `if (window empty) then` where an empty window is possible, else nothing. */
  emptyGuard(then: string): string;
}

function geometry(a: PoolArgs, c: EmitContext): PoolGeometry {
  const [h, w, ch] = c.inShapes[0]! as [number, number, number];
  const { kh, kw, stride } = a.window;
  const { oh, ow, top, left } = planWindow(a.window, h, w);
  const rows = windowAxis("r", "i", oh, h, kh, stride, top);
  const cols = windowAxis("s", "j", ow, w, kw, stride, left);
  const clippedRows = rows.lo !== "0";
  const clippedCols = cols.lo !== "0";
  // Real input rows: start + lo … start + hi (clipped), or start … start + K.
  const r0 = clippedRows ? "ra" : rows.start;
  const r1 = clippedRows ? "rb" : `${rows.start} + ${kh}`;
  const s0 = clippedCols ? "sa" : cols.start;
  const s1 = clippedCols ? "sb" : `${cols.start} + ${kw}`;
  const rowDecl = clippedRows ? `${rows.decl}\nconst ra = ${plus(rows.start, rows.lo)};\nconst rb = ${plus(rows.start, rows.hi)};` : rows.decl;
  const colDecl = clippedCols ? `${cols.decl}\nconst sa = ${plus(cols.start, cols.lo)};\nconst sb = ${plus(cols.start, cols.hi)};` : cols.decl;
  const count = clippedRows || clippedCols ? `(${clippedRows ? "rb - ra" : kh}) * (${clippedCols ? "sb - sa" : kw})` : `${kh * kw}`;
  const mayBeEmpty = rows.mayBeEmpty || cols.mayBeEmpty;
  const cells = clippedRows || clippedCols || kh * kw > UNROLLED_CELLS ? undefined : Array.from({ length: kh * kw }, (_, k) => (Math.floor(k / kw) * w + (k % kw)) * ch);
  return {
    h,
    w,
    c: ch,
    oh,
    ow,
    outSize: oh * ow * ch,
    rowDecl,
    colDecl,
    r0,
    r1,
    s0,
    s1,
    count,
    mayBeEmpty,
    ...(cells ? { cells } : {}),
    emptyGuard: (then) => (mayBeEmpty ? `if (${r1} <= ${r0} || ${s1} <= ${s0}) ${then}` : ""),
  };
}

/** The batch, output-row and output-column loops around `body` (which sees xb, yo and the bounds). */
function loops(g: PoolGeometry, body: string): string {
  return `
      for (let b = 0; b < n; b++) {
        const xb = b * ${g.h * g.w * g.c};
        for (let i = 0; i < ${g.oh}; i++) {
          ${g.rowDecl}
          for (let j = 0; j < ${g.ow}; j++) {
            ${g.colDecl}
            const yo = ((b * ${g.oh} + i) * ${g.ow} + j) * ${g.c};
            ${body}
          }
        }
      }`;
}
