/**
 * One time step of an rnn, lstm or gru cell for a whole batch, forward and backward, in
 * Keras' layouts (LANGUAGE.md §8). Gate pre-activations arrive in two parts:
 *   xProj = x_t·kernel + input bias         [rows, G·H]
 *   hProj = h_{t-1}·recurrent_kernel (+ recurrent bias, gru only)   [rows, G·H]
 * The equations (σ = logistic sigmoid, ⊙ elementwise; gate blocks in the order given):
 *   rnn:  h' = tanh(xProj + hProj)
 *   lstm: [i, f, g, o] = [σ, σ, tanh, σ](xProj + hProj);  c' = f⊙c + i⊙g;  h' = o⊙tanh(c')
 *   gru:  z = σ(x_z + h_z);  r = σ(x_r + h_r);  n = tanh(x_h + r⊙h_h)   (reset after the matmul)
 *         h' = z⊙h + (1 − z)⊙n   (Keras: z weights the OLD state)
 * Backward is linear in the incoming gradients (dh', dc'), which lets the kernel run several
 * truncated-BPTT gradient streams through the same cached step.
 */

/** Buffers and offsets for one step; the kernel allocates one per direction and moves the offsets. */
export class Step {
  xProj: Float64Array = new Float64Array(0);
  xOff = 0;
  /** h_{t-1}·U (+ recurrent bias), [rows, G·H] at offset 0. */
  hProj: Float64Array = new Float64Array(0);
  /** Hidden states [T+1, rows, H] in processing order; step k reads block k and writes block k+1. */
  h: Float64Array = new Float64Array(0);
  hPrevOff = 0;
  hNextOff = 0;
  /** Cell states (lstm), laid out like `h`. */
  c: Float64Array = new Float64Array(0);
  cPrevOff = 0;
  cNextOff = 0;
  /** Values kept for backward, [rows, cached·H] per step. */
  acts: Float64Array = new Float64Array(0);
  actsOff = 0;

  // Backward: inputs dh (and dc) at offset 0, [rows, H]; outputs overwritten.
  /** Gradient on the new hidden state h' (everything that reaches it). */
  dh: Float64Array = new Float64Array(0);
  /** Gradient on the new cell state c' (lstm). */
  dc: Float64Array = new Float64Array(0);
  /** Out: gradient on xProj, [rows, G·H]. */
  dgx: Float64Array = new Float64Array(0);
  /** Out: gradient on hProj, [rows, G·H]. */
  dgh: Float64Array = new Float64Array(0);
  /** Out (lstm): gradient on the old cell state c. */
  dcPrev: Float64Array = new Float64Array(0);
  /** Out (gru): the part of the old state's gradient that does not pass through U (dh'⊙z). */
  dhDirect: Float64Array = new Float64Array(0);

  constructor(
    readonly rows: number,
    readonly units: number,
  ) {}
}

export interface CellMath {
  /** G: gate blocks in kernel, recurrent_kernel and bias. */
  readonly gates: number;
  /** Values per unit per step that forward keeps for backward. */
  readonly cached: number;
  /** Carries a cell state c besides h (lstm). */
  readonly carriesCell: boolean;
  /** Bias is [2, G·H]: input bias, then a recurrent bias added to hProj (gru). */
  readonly recurrentBias: boolean;
  /** h' depends on h other than through hProj, so backward fills `dhDirect` (gru). */
  readonly directPath: boolean;
  forward(s: Step): void;
  backward(s: Step): void;
}

function sigmoid(v: number): number {
  return 1 / (1 + Math.exp(-v));
}

export const rnnCell: CellMath = {
  gates: 1,
  cached: 0,
  carriesCell: false,
  recurrentBias: false,
  directPath: false,
  forward(s) {
    const n = s.rows * s.units;
    for (let q = 0; q < n; q++) s.h[s.hNextOff + q] = Math.tanh(s.xProj[s.xOff + q]! + s.hProj[q]!);
  },
  backward(s) {
    const n = s.rows * s.units;
    for (let q = 0; q < n; q++) {
      const v = s.h[s.hNextOff + q]!;
      const d = s.dh[q]! * (1 - v * v);
      s.dgx[q] = d;
      s.dgh[q] = d;
    }
  },
};

export const lstmCell: CellMath = {
  gates: 4,
  cached: 5, // i, f, g, o, tanh(c')
  carriesCell: true,
  recurrentBias: false,
  directPath: false,
  forward(s) {
    const hu = s.units;
    for (let r = 0; r < s.rows; r++) {
      const xo = s.xOff + r * 4 * hu;
      const po = r * 4 * hu;
      const ao = s.actsOff + r * 5 * hu;
      const so = r * hu;
      for (let j = 0; j < hu; j++) {
        const i = sigmoid(s.xProj[xo + j]! + s.hProj[po + j]!);
        const f = sigmoid(s.xProj[xo + hu + j]! + s.hProj[po + hu + j]!);
        const g = Math.tanh(s.xProj[xo + 2 * hu + j]! + s.hProj[po + 2 * hu + j]!);
        const o = sigmoid(s.xProj[xo + 3 * hu + j]! + s.hProj[po + 3 * hu + j]!);
        const c = f * s.c[s.cPrevOff + so + j]! + i * g;
        const tc = Math.tanh(c);
        s.c[s.cNextOff + so + j] = c;
        s.h[s.hNextOff + so + j] = o * tc;
        s.acts[ao + j] = i;
        s.acts[ao + hu + j] = f;
        s.acts[ao + 2 * hu + j] = g;
        s.acts[ao + 3 * hu + j] = o;
        s.acts[ao + 4 * hu + j] = tc;
      }
    }
  },
  backward(s) {
    const hu = s.units;
    for (let r = 0; r < s.rows; r++) {
      const ao = s.actsOff + r * 5 * hu;
      const go = r * 4 * hu;
      const so = r * hu;
      for (let j = 0; j < hu; j++) {
        const i = s.acts[ao + j]!;
        const f = s.acts[ao + hu + j]!;
        const g = s.acts[ao + 2 * hu + j]!;
        const o = s.acts[ao + 3 * hu + j]!;
        const tc = s.acts[ao + 4 * hu + j]!;
        const dh = s.dh[so + j]!;
        const dc = s.dc[so + j]! + dh * o * (1 - tc * tc);
        const di = dc * g * i * (1 - i);
        const df = dc * s.c[s.cPrevOff + so + j]! * f * (1 - f);
        const dg = dc * i * (1 - g * g);
        const dO = dh * tc * o * (1 - o);
        s.dgx[go + j] = s.dgh[go + j] = di;
        s.dgx[go + hu + j] = s.dgh[go + hu + j] = df;
        s.dgx[go + 2 * hu + j] = s.dgh[go + 2 * hu + j] = dg;
        s.dgx[go + 3 * hu + j] = s.dgh[go + 3 * hu + j] = dO;
        s.dcPrev[so + j] = dc * f;
      }
    }
  },
};

export const gruCell: CellMath = {
  gates: 3,
  cached: 4, // z, r, n, h_h (the recurrent part of the candidate, before the reset gate)
  carriesCell: false,
  recurrentBias: true,
  directPath: true,
  forward(s) {
    const hu = s.units;
    for (let r = 0; r < s.rows; r++) {
      const xo = s.xOff + r * 3 * hu;
      const po = r * 3 * hu;
      const ao = s.actsOff + r * 4 * hu;
      const so = r * hu;
      for (let j = 0; j < hu; j++) {
        const z = sigmoid(s.xProj[xo + j]! + s.hProj[po + j]!);
        const rg = sigmoid(s.xProj[xo + hu + j]! + s.hProj[po + hu + j]!);
        const hh = s.hProj[po + 2 * hu + j]!;
        const n = Math.tanh(s.xProj[xo + 2 * hu + j]! + rg * hh);
        s.h[s.hNextOff + so + j] = z * s.h[s.hPrevOff + so + j]! + (1 - z) * n;
        s.acts[ao + j] = z;
        s.acts[ao + hu + j] = rg;
        s.acts[ao + 2 * hu + j] = n;
        s.acts[ao + 3 * hu + j] = hh;
      }
    }
  },
  backward(s) {
    const hu = s.units;
    for (let r = 0; r < s.rows; r++) {
      const ao = s.actsOff + r * 4 * hu;
      const go = r * 3 * hu;
      const so = r * hu;
      for (let j = 0; j < hu; j++) {
        const z = s.acts[ao + j]!;
        const rg = s.acts[ao + hu + j]!;
        const n = s.acts[ao + 2 * hu + j]!;
        const hh = s.acts[ao + 3 * hu + j]!;
        const dh = s.dh[so + j]!;
        const dn = dh * (1 - z) * (1 - n * n);
        const dz = dh * (s.h[s.hPrevOff + so + j]! - n) * z * (1 - z);
        const dr = dn * hh * rg * (1 - rg);
        s.dgx[go + j] = s.dgh[go + j] = dz;
        s.dgx[go + hu + j] = s.dgh[go + hu + j] = dr;
        s.dgx[go + 2 * hu + j] = dn;
        s.dgh[go + 2 * hu + j] = dn * rg;
        s.dhDirect[so + j] = dh * z;
      }
    }
  },
};
