import type { Cell } from "../recurrent.js";

/**
 * The generated code of one time step of an rnn, lstm or gru cell for one batch row: the same
 * equations, gate order and cached values as cells.ts (the interpreter), written as loops with
 * constant bounds. emit.ts wraps each snippet in a loop over the batch rows and binds, per row:
 *   gx       gate pre-activations from `go` on, [G·H]: input bias + x_t·kernel
 *            (+ h·recurrent_kernel for rnn and lstm)
 *   gh       gru only: recurrent bias + h·recurrent_kernel, [3H] from `ho`
 *   st, cs   hidden and cell states of the direction; `hp` is the row's state before the step,
 *            `hn` its state after it
 *   ac       cached gate values; `ao` is the row's block of the step
 * Backward reads the gradient on the new state from `dh[dho + j]` (and `dc[dco + j]`), and writes
 *   dgx, dgh  gradients on the input and recurrent pre-activations, [G·H] from `gxo` and `gho`
 *            (`sameDg`: rnn and lstm where both are one buffer at one offset: dgx only)
 *   dcp       lstm: the gradient on the old cell state, [H] from `ro`
 *   dhd       gru: the part of the old state's gradient that skips the recurrent kernel, [H] from `ro`
 * `fast` (f32 only): exponentials from the generated `expf` (emit.ts: 2^k·e^r with a polynomial,
 * relative error under 2e-7) and tanh from one of them, 1 − 2/(e^{2v} + 1) — both well inside
 * f32's tolerance and measured faster than Math.exp and Math.tanh in V8.
 */
export interface CellCode {
  readonly gates: number;
  /** Values per unit per step that forward keeps for backward. */
  readonly cached: number;
  readonly carriesCell: boolean;
  /** gru: bias [2, G·H], the recurrent half added to a separate `gh`. */
  readonly recurrentBias: boolean;
  /** gru: h' depends on h besides through the recurrent kernel (dhd); also dgh ≠ dgx. */
  readonly directPath: boolean;
  /** The WebAssembly SIMD step kernels (src/codegen/wasm/cells.ts) that stand in for forward and backward over all rows, where there are. */
  readonly kernels?: { readonly forward: "lstmForward"; readonly backward: "lstmBackward" };
  forward(h: number, fast: boolean): string;
  backward(h: number, sameDg: boolean): string;
}

const sigmoid = (v: string, fast: boolean): string => `1 / (1 + ${fast ? "expf" : "Math.exp"}(-(${v})))`;
const tanh = (v: string, fast: boolean): string => (fast ? `1 - 2 / (expf(2 * (${v})) + 1)` : `Math.tanh(${v})`);

const rnnCode: CellCode = {
  gates: 1,
  cached: 0,
  carriesCell: false,
  recurrentBias: false,
  directPath: false,
  forward: (h, fast) => `
    for (let j = 0; j < ${h}; j++) st[hn + j] = ${tanh("gx[go + j]", fast)};`,
  backward: (h, sameDg) => `
    for (let j = 0; j < ${h}; j++) {
      const v = st[hn + j];
      const d = dh[dho + j] * (1 - v * v);
      dgx[gxo + j] = d;
      ${sameDg ? "" : "dgh[gho + j] = d;"}
    }`,
};

const lstmCode: CellCode = {
  gates: 4,
  cached: 5, // i, f, g, o, tanh(c')
  carriesCell: true,
  recurrentBias: false,
  directPath: false,
  kernels: { forward: "lstmForward", backward: "lstmBackward" },
  forward: (h, fast) => `
    for (let j = 0; j < ${h}; j++) {
      const ig = ${sigmoid("gx[go + j]", fast)};
      const fg = ${sigmoid(`gx[go + ${h} + j]`, fast)};
      const gg = ${tanh(`gx[go + ${2 * h} + j]`, fast)};
      const og = ${sigmoid(`gx[go + ${3 * h} + j]`, fast)};
      const cv = fg * cs[hp + j] + ig * gg;
      const tc = ${tanh("cv", fast)};
      cs[hn + j] = cv;
      st[hn + j] = og * tc;
      ac[ao + j] = ig;
      ac[ao + ${h} + j] = fg;
      ac[ao + ${2 * h} + j] = gg;
      ac[ao + ${3 * h} + j] = og;
      ac[ao + ${4 * h} + j] = tc;
    }`,
  backward: (h, sameDg) => `
    for (let j = 0; j < ${h}; j++) {
      const ig = ac[ao + j];
      const fg = ac[ao + ${h} + j];
      const gg = ac[ao + ${2 * h} + j];
      const og = ac[ao + ${3 * h} + j];
      const tc = ac[ao + ${4 * h} + j];
      const dhv = dh[dho + j];
      const dcv = dc[dco + j] + dhv * og * (1 - tc * tc);
      const di = dcv * gg * ig * (1 - ig);
      const df = dcv * cs[hp + j] * fg * (1 - fg);
      const dg = dcv * ig * (1 - gg * gg);
      const dO = dhv * tc * og * (1 - og);
      dgx[gxo + j] = di;
      dgx[gxo + ${h} + j] = df;
      dgx[gxo + ${2 * h} + j] = dg;
      dgx[gxo + ${3 * h} + j] = dO;${
        sameDg
          ? ""
          : `
      dgh[gho + j] = di;
      dgh[gho + ${h} + j] = df;
      dgh[gho + ${2 * h} + j] = dg;
      dgh[gho + ${3 * h} + j] = dO;`
      }
      dcp[ro + j] = dcv * fg;
    }`,
};

const gruCode: CellCode = {
  gates: 3,
  cached: 4, // z, r, n, h_h (the recurrent part of the candidate, before the reset gate)
  carriesCell: false,
  recurrentBias: true,
  directPath: true,
  forward: (h, fast) => `
    for (let j = 0; j < ${h}; j++) {
      const zg = ${sigmoid("gx[go + j] + gh[ho + j]", fast)};
      const rg = ${sigmoid(`gx[go + ${h} + j] + gh[ho + ${h} + j]`, fast)};
      const hh = gh[ho + ${2 * h} + j];
      const nv = ${tanh(`gx[go + ${2 * h} + j] + rg * hh`, fast)};
      st[hn + j] = zg * st[hp + j] + (1 - zg) * nv;
      ac[ao + j] = zg;
      ac[ao + ${h} + j] = rg;
      ac[ao + ${2 * h} + j] = nv;
      ac[ao + ${3 * h} + j] = hh;
    }`,
  backward: (h) => `
    for (let j = 0; j < ${h}; j++) {
      const zg = ac[ao + j];
      const rg = ac[ao + ${h} + j];
      const nv = ac[ao + ${2 * h} + j];
      const hh = ac[ao + ${3 * h} + j];
      const dhv = dh[dho + j];
      const dn = dhv * (1 - zg) * (1 - nv * nv);
      const dz = dhv * (st[hp + j] - nv) * zg * (1 - zg);
      const dr = dn * hh * rg * (1 - rg);
      dgx[gxo + j] = dz;
      dgh[gho + j] = dz;
      dgx[gxo + ${h} + j] = dr;
      dgh[gho + ${h} + j] = dr;
      dgx[gxo + ${2 * h} + j] = dn;
      dgh[gho + ${2 * h} + j] = dn * rg;
      dhd[ro + j] = dhv * zg;
    }`,
};

export const CELL_CODE: Record<Cell, CellCode> = { rnn: rnnCode, lstm: lstmCode, gru: gruCode };
