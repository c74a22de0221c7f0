import { describe, expect, it } from "vitest";
import { seededRandom } from "../src/interp/random.js";
import { tensor, zeros, type Tensor } from "../src/interp/tensor.js";
import type { AttentionArgs, Score } from "../src/layers/attention.js";
import type { Cell, RecurrentArgs } from "../src/layers/recurrent.js";
import { registry } from "../src/layers/registry.js";
import type { AnyLayerDef, ParamTensors } from "../src/layers/types.js";
import { gradCheck, randomTensor } from "./helpers/gradcheck.js";

const CELLS: readonly Cell[] = ["rnn", "lstm", "gru"];
const GATES: Record<Cell, number> = { rnn: 1, lstm: 4, gru: 3 };
const sig = (v: number): number => 1 / (1 + Math.exp(-v));

function defOf(kind: string): AnyLayerDef {
  const def = registry.get(kind);
  if (!def?.kernel) throw new Error(`${kind} has no kernel`);
  return def;
}

interface Options {
  readonly units: number;
  readonly sequences?: boolean;
  readonly bidirectional?: boolean;
  readonly layers?: number;
  readonly bptt?: number;
}

function argsOf(cell: Cell, o: Options): RecurrentArgs {
  return { cell, units: o.units, sequences: o.sequences ?? false, bidirectional: o.bidirectional ?? false, layers: o.layers ?? 1, bptt: o.bptt };
}

/** Every parameter the layer declares, random in ±scale (biases too, so that both GRU biases matter). */
function paramsFor(def: AnyLayerDef, inputShapes: number[][], args: unknown, seed: number, scale = 0.6): ParamTensors {
  const out: ParamTensors = {};
  def.params!(inputShapes, args).forEach((spec: { name: string; shape: readonly number[] }, i: number) => {
    out[spec.name] = randomTensor(spec.shape, seed * 100 + i, scale);
  });
  return out;
}

function forward(def: AnyLayerDef, args: unknown, xs: Tensor[], p: ParamTensors, bptt?: number): Tensor {
  return def.kernel!.forward(xs, p, args, { training: true, random: seededRandom(1), bptt }).y;
}

/** dx for every input and the parameter gradients of L = Σ w ⊙ y. */
function gradients(def: AnyLayerDef, args: unknown, xs: Tensor[], p: ParamTensors, w: Tensor, bptt?: number): { dx: Tensor[]; g: ParamTensors } {
  const ctx = { training: true, random: seededRandom(1), bptt };
  const { y, cache } = def.kernel!.forward(xs, p, args, ctx);
  const g: ParamTensors = {};
  for (const [k, v] of Object.entries(p)) g[k] = zeros(v.shape);
  const dx = def.kernel!.backward(w, xs, y, cache, p, g, args, ctx);
  return { dx, g };
}

function maxAbsDiff(a: Float64Array, b: Float64Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

// ---------------------------------------------------------------------------------------------
// An independent reference written from the equations (plain loops over number[], no shared code):
// one direction of one layer, from a given state, in Keras' layouts.
// ---------------------------------------------------------------------------------------------
interface RefState {
  h: number[];
  c: number[];
}

function refStep(cell: Cell, p: { W: Float64Array; U: Float64Array; b: Float64Array }, x: number[], s: RefState, H: number): RefState {
  const G = GATES[cell];
  const inPart = (gate: number, j: number): number => {
    let v = p.b[gate * H + j]!;
    for (let f = 0; f < x.length; f++) v += x[f]! * p.W[f * G * H + gate * H + j]!;
    return v;
  };
  const recPart = (gate: number, j: number): number => {
    let v = cell === "gru" ? p.b[G * H + gate * H + j]! : 0;
    for (let k = 0; k < H; k++) v += s.h[k]! * p.U[k * G * H + gate * H + j]!;
    return v;
  };
  const h: number[] = [];
  const c: number[] = [];
  for (let j = 0; j < H; j++) {
    if (cell === "rnn") h.push(Math.tanh(inPart(0, j) + recPart(0, j)));
    else if (cell === "lstm") {
      const i = sig(inPart(0, j) + recPart(0, j));
      const f = sig(inPart(1, j) + recPart(1, j));
      const g = Math.tanh(inPart(2, j) + recPart(2, j));
      const o = sig(inPart(3, j) + recPart(3, j));
      c.push(f * s.c[j]! + i * g);
      h.push(o * Math.tanh(c[j]!));
    } else {
      const z = sig(inPart(0, j) + recPart(0, j));
      const r = sig(inPart(1, j) + recPart(1, j));
      const n = Math.tanh(inPart(2, j) + r * recPart(2, j));
      h.push(z * s.h[j]! + (1 - z) * n);
    }
  }
  return { h, c: cell === "lstm" ? c : s.c };
}

const zeroState = (H: number): RefState => ({ h: new Array<number>(H).fill(0), c: new Array<number>(H).fill(0) });

function refDirection(cell: Cell, p: ParamTensors, prefix: string): { W: Float64Array; U: Float64Array; b: Float64Array } {
  return { W: p[`${prefix}kernel`]!.data, U: p[`${prefix}recurrent_kernel`]!.data, b: p[`${prefix}bias`]!.data };
}

/** Rows x[b][t] of a [B, T, F] tensor. */
function rowsOf(x: Tensor): number[][][] {
  const [B, T, F] = x.shape as [number, number, number];
  return Array.from({ length: B }, (_, b) => Array.from({ length: T }, (_, t) => Array.from(x.data.subarray((b * T + t) * F, (b * T + t + 1) * F))));
}

/** The full layer (directions, stacking, output rule) for one example's sequence xs[t]. */
function refLayer(cell: Cell, a: RecurrentArgs, p: ParamTensors, xs: number[][]): number[] {
  const H = a.units;
  const T = xs.length;
  let seq = xs;
  let finals: number[] = [];
  for (let layer = 0; layer < a.layers; layer++) {
    const outs: number[][] = Array.from({ length: T }, () => []);
    finals = [];
    for (const backward of a.bidirectional ? [false, true] : [false]) {
      const prefix = a.layers === 1 && !a.bidirectional ? "" : `l${layer + 1}.${backward ? "bw" : "fw"}.`;
      const w = refDirection(cell, p, prefix);
      let s = zeroState(H);
      const order = backward ? [...Array(T).keys()].reverse() : [...Array(T).keys()];
      for (const t of order) {
        s = refStep(cell, w, seq[t]!, s, H);
        outs[t]!.push(...s.h);
      }
      finals.push(...s.h);
    }
    seq = outs;
  }
  return a.sequences ? seq.flat() : finals;
}

// ---------------------------------------------------------------------------------------------

describe("recurrent forward equations, by hand (T = 2, H = 1, F = 1)", () => {
  const x1 = 1.5;
  const x2 = -0.7;
  const x = tensor([1, 2, 1], [x1, x2]);

  it("lstm: i, f, c, o gates, one bias, c' = f·c + i·g, h' = o·tanh(c')", () => {
    // kernel [1,4] = [Wi, Wf, Wc, Wo]; recurrent [1,4] = [Ui, Uf, Uc, Uo]; bias [4] = [bi, bf, bc, bo].
    const p = { kernel: tensor([1, 4], [0.5, -0.3, 0.8, 0.2]), recurrent_kernel: tensor([1, 4], [0.1, 0.4, -0.6, 0.7]), bias: tensor([4], [0.05, 1.0, -0.1, 0.2]) };
    const i1 = sig(0.5 * x1 + 0.1 * 0 + 0.05);
    const f1 = sig(-0.3 * x1 + 0.4 * 0 + 1.0);
    const g1 = Math.tanh(0.8 * x1 - 0.6 * 0 - 0.1);
    const o1 = sig(0.2 * x1 + 0.7 * 0 + 0.2);
    const c1 = f1 * 0 + i1 * g1;
    const h1 = o1 * Math.tanh(c1);
    const i2 = sig(0.5 * x2 + 0.1 * h1 + 0.05);
    const f2 = sig(-0.3 * x2 + 0.4 * h1 + 1.0);
    const g2 = Math.tanh(0.8 * x2 - 0.6 * h1 - 0.1);
    const o2 = sig(0.2 * x2 + 0.7 * h1 + 0.2);
    const c2 = f2 * c1 + i2 * g2;
    const h2 = o2 * Math.tanh(c2);
    const y = forward(defOf("lstm"), argsOf("lstm", { units: 1, sequences: true }), [x], p);
    expect(y.shape).toEqual([1, 2, 1]);
    expect(y.data[0]).toBeCloseTo(h1, 14);
    expect(y.data[1]).toBeCloseTo(h2, 14);
    const last = forward(defOf("lstm"), argsOf("lstm", { units: 1 }), [x], p);
    expect(last.shape).toEqual([1, 1]);
    expect(last.data[0]).toBeCloseTo(h2, 14);
  });

  it("gru: z, r, h gates, bias [2,3] (input, recurrent), reset after the matmul, z weights the old state", () => {
    // kernel [Wz, Wr, Wh]; recurrent [Uz, Ur, Uh]; bias [[bz, br, bh], [cz, cr, ch]].
    const p = { kernel: tensor([1, 3], [0.6, -0.4, 0.9]), recurrent_kernel: tensor([1, 3], [0.3, 0.8, -0.5]), bias: tensor([2, 3], [0.1, -0.2, 0.3, -0.15, 0.25, 0.4]) };
    const z1 = sig(0.6 * x1 + 0.1 + (0.3 * 0 - 0.15));
    const r1 = sig(-0.4 * x1 - 0.2 + (0.8 * 0 + 0.25));
    const n1 = Math.tanh(0.9 * x1 + 0.3 + r1 * (-0.5 * 0 + 0.4));
    const h1 = z1 * 0 + (1 - z1) * n1;
    const z2 = sig(0.6 * x2 + 0.1 + (0.3 * h1 - 0.15));
    const r2 = sig(-0.4 * x2 - 0.2 + (0.8 * h1 + 0.25));
    const n2 = Math.tanh(0.9 * x2 + 0.3 + r2 * (-0.5 * h1 + 0.4));
    const h2 = z2 * h1 + (1 - z2) * n2;
    const y = forward(defOf("gru"), argsOf("gru", { units: 1, sequences: true }), [x], p);
    expect(y.data[0]).toBeCloseTo(h1, 14);
    expect(y.data[1]).toBeCloseTo(h2, 14);
  });

  it("rnn: h' = tanh(x·W + h·U + b)", () => {
    const p = { kernel: tensor([1, 1], [0.7]), recurrent_kernel: tensor([1, 1], [-1.2]), bias: tensor([1], [0.1]) };
    const h1 = Math.tanh(0.7 * x1 + 0.1);
    const h2 = Math.tanh(0.7 * x2 - 1.2 * h1 + 0.1);
    const y = forward(defOf("rnn"), argsOf("rnn", { units: 1, sequences: true }), [x], p);
    expect(Array.from(y.data)).toEqual([h1, h2].map((v) => expect.closeTo(v, 14)));
  });
});

describe("bidirectional output rule (rnn, T = 3, H = 1, F = 1)", () => {
  const xs = [0.9, -0.4, 1.3];
  const x = tensor([1, 3, 1], xs);
  const p = {
    "l1.fw.kernel": tensor([1, 1], [0.8]),
    "l1.fw.recurrent_kernel": tensor([1, 1], [0.5]),
    "l1.fw.bias": tensor([1], [0.1]),
    "l1.bw.kernel": tensor([1, 1], [-0.6]),
    "l1.bw.recurrent_kernel": tensor([1, 1], [1.1]),
    "l1.bw.bias": tensor([1], [-0.2]),
  };
  // Forward direction over t = 1, 2, 3; backward direction over t = 3, 2, 1.
  const f1 = Math.tanh(0.8 * xs[0]! + 0.1);
  const f2 = Math.tanh(0.8 * xs[1]! + 0.5 * f1 + 0.1);
  const f3 = Math.tanh(0.8 * xs[2]! + 0.5 * f2 + 0.1);
  const b3 = Math.tanh(-0.6 * xs[2]! - 0.2);
  const b2 = Math.tanh(-0.6 * xs[1]! + 1.1 * b3 - 0.2);
  const b1 = Math.tanh(-0.6 * xs[0]! + 1.1 * b2 - 0.2);

  it("without sequences: forward's last step ‖ backward's final state (the one at t = 1)", () => {
    expect(Math.abs(b1 - b3)).toBeGreaterThan(0.1); // the two candidates differ, so the test can tell them apart
    const y = forward(defOf("rnn"), argsOf("rnn", { units: 1, bidirectional: true }), [x], p);
    expect(y.shape).toEqual([1, 2]);
    expect(y.data[0]).toBeCloseTo(f3, 14);
    expect(y.data[1]).toBeCloseTo(b1, 14);
  });

  it("with sequences: per step, forward ‖ backward at that step", () => {
    const y = forward(defOf("rnn"), argsOf("rnn", { units: 1, bidirectional: true, sequences: true }), [x], p);
    expect(y.shape).toEqual([1, 3, 2]);
    [f1, b1, f2, b2, f3, b3].forEach((v, i) => expect(y.data[i]).toBeCloseTo(v, 14));
  });
});

describe("forward against TensorFlow.js 4.22 (Keras layers, float32; recurrent activation set to sigmoid)", () => {
  // Values made by tf.layers.lstm / simpleRNN / bidirectional (mergeMode concat) with weights set
  // from this formula; tfjs computes in float32, hence the 1e-6 tolerance. (tfjs' GRU has no
  // reset_after, so the GRU is checked by hand above instead.)
  const val = (n: number, seed: number): number[] => Array.from({ length: n }, (_, i) => Math.round(Math.sin(seed * 7.3 + i * 1.7) * 0.5 * 1000) / 1000);
  const [Bt, T, Ft, H] = [2, 3, 3, 2];
  const x = tensor([Bt, T, Ft], val(Bt * T * Ft, 1));
  const directionParams = (cell: Cell, names: string[], firstSeed: number): ParamTensors => {
    const G = GATES[cell];
    const p: ParamTensors = {};
    let seed = firstSeed;
    for (const name of names) {
      const f = name.startsWith("l2.") ? 2 * H : Ft;
      const prefix = name === "" ? "" : `${name}.`;
      p[`${prefix}kernel`] = tensor([f, G * H], val(f * G * H, seed++));
      p[`${prefix}recurrent_kernel`] = tensor([H, G * H], val(H * G * H, seed++));
      p[`${prefix}bias`] = tensor([G * H], val(G * H, seed++));
    }
    return p;
  };
  const close = (y: Tensor, expected: number[]): void => {
    expect(y.data.length).toBe(expected.length);
    expect(maxAbsDiff(y.data, Float64Array.from(expected))).toBeLessThan(1e-6);
  };

  it("lstm with sequences", () => {
    const y = forward(defOf("lstm"), argsOf("lstm", { units: H, sequences: true }), [x], directionParams("lstm", [""], 2));
    close(y, [-0.05084917, -0.06306133, -0.1660953, -0.06233766, -0.2574827, 0.01453494, -0.126692, 0.05272841, -0.1183792, 0.0567953, -0.09233306, -0.007133876]);
  });

  it("lstm bidirectional, layers 2 (= a bidirectional lstm with sequences, then one without)", () => {
    const p = directionParams("lstm", ["l1.fw", "l1.bw", "l2.fw", "l2.bw"], 10);
    const y = forward(defOf("lstm"), argsOf("lstm", { units: H, bidirectional: true, layers: 2 }), [x], p);
    close(y, [-0.0513642, 0.157942, 0.08091082, -0.210197, -0.0357511, 0.1615059, 0.08943084, -0.1900479]);
  });

  it("rnn bidirectional, last step", () => {
    const y = forward(defOf("rnn"), argsOf("rnn", { units: H, bidirectional: true }), [x], directionParams("rnn", ["l1.fw", "l1.bw"], 30));
    close(y, [0.5546413, 0.3503621, -0.3769317, 0.3490458, 0.2972742, 0.007804846, -0.3549494, -0.4320821]);
  });
});

// Every combination: forward against the reference, backward against finite differences.
const B = 2;
const F = 3;
for (const cell of CELLS) {
  describe(`${cell}: forward matches the reference and gradients match finite differences`, () => {
    for (const sequences of [false, true]) {
      for (const bidirectional of [false, true]) {
        for (const layers of [1, 2]) {
          const units = layers === 2 ? 2 : 3;
          const T = bidirectional ? 4 : 3;
          const name = `${sequences ? "sequences" : "last step"}, ${bidirectional ? "bidirectional" : "one-way"}, ${layers} layer${layers > 1 ? "s" : ""} (T ${T}, H ${units})`;
          it(name, () => {
            const def = defOf(cell);
            const args = argsOf(cell, { units, sequences, bidirectional, layers });
            const x = randomTensor([B, T, F], 11 + units + T);
            const params = paramsFor(def, [[T, F]], args, 3 + layers);
            const y = forward(def, args, [x], params);
            const width = (bidirectional ? 2 : 1) * units;
            expect(y.shape).toEqual(sequences ? [B, T, width] : [B, width]);
            const expected = rowsOf(x).flatMap((xs) => refLayer(cell, args, params, xs));
            expect(maxAbsDiff(y.data, Float64Array.from(expected))).toBeLessThan(1e-14);
            const { maxRelativeError, worst } = gradCheck({ def, args, inputs: [x], params });
            expect(maxRelativeError, worst).toBeLessThan(1e-6);
          });
        }
      }
    }
  });
}

describe("gru's two biases", () => {
  const def = defOf("gru");
  const H = 2;
  const T = 3;
  const args = argsOf("gru", { units: H, sequences: true });
  const x = randomTensor([B, T, F], 5);
  const params = paramsFor(def, [[T, F]], args, 9);

  it("both pass the gradient check", () => {
    const { maxRelativeError, worst } = gradCheck({ def, args, inputs: [x], params });
    expect(maxRelativeError, worst).toBeLessThan(1e-6);
  });

  it("z and r see their biases as one sum; the candidate's recurrent bias sits inside the reset gate", () => {
    const w = randomTensor([B, T, H], 77);
    const { g } = gradients(def, args, [x], params, w);
    const gb = g.bias!.data;
    for (let j = 0; j < 2 * H; j++) expect(gb[3 * H + j]).toBeCloseTo(gb[j]!, 13);
    for (let j = 2 * H; j < 3 * H; j++) expect(Math.abs(gb[3 * H + j]! - gb[j]!)).toBeGreaterThan(1e-4);
    // Moving a z/r bias between the rows changes nothing; moving the candidate's changes the output.
    const moved = (j: number): ParamTensors => {
      const b = new Float64Array(params.bias!.data);
      b[3 * H + j] += b[j]!;
      b[j] = 0;
      return { ...params, bias: { shape: [2, 3 * H], data: b } };
    };
    const y0 = forward(def, args, [x], params).data;
    expect(maxAbsDiff(forward(def, args, [x], moved(0)).data, y0)).toBeLessThan(1e-14);
    expect(maxAbsDiff(forward(def, args, [x], moved(H)).data, y0)).toBeLessThan(1e-14);
    expect(maxAbsDiff(forward(def, args, [x], moved(2 * H)).data, y0)).toBeGreaterThan(1e-4);
  });
});

// ---------------------------------------------------------------------------------------------
// Truncated BPTT. Definition (src/layers/recurrent/direction.ts): a gradient entering a recurrence
// at step s reaches steps s, s−1, …, s−K+1 and stops; the state step s−K+1 read is a constant.
// ---------------------------------------------------------------------------------------------

/**
 * The loss that truncated BPTT differentiates, written out: for each step s with a loss
 * gradient w_s, h_s is recomputed from the state before step s−K+1, which is frozen at its
 * value under (x0, θ0). One direction, one layer, processing order given by `backward`.
 */
function frozenWindowLoss(cell: Cell, a: RecurrentArgs, p: ParamTensors, x: Tensor, frozenFrom: { p: ParamTensors; x: Tensor }, w: Tensor, K: number): number {
  const H = a.units;
  const dirs = a.bidirectional ? [false, true] : [false];
  const xs = rowsOf(x);
  const xs0 = rowsOf(frozenFrom.x);
  const [, T] = x.shape as [number, number];
  let loss = 0;
  xs.forEach((seq, b) => {
    dirs.forEach((backward, d) => {
      const prefix = a.bidirectional ? `l1.${backward ? "bw" : "fw"}.` : "";
      const order = backward ? [...Array(T).keys()].reverse() : [...Array(T).keys()];
      // States under the unperturbed values, in processing order: before[k] is the state before step k.
      const before: RefState[] = [zeroState(H)];
      for (const t of order) before.push(refStep(cell, refDirection(cell, frozenFrom.p, prefix), xs0[b]![t]!, before[before.length - 1]!, H));
      const wAt = (k: number, j: number): number => {
        const t = order[k]!;
        const width = dirs.length * H;
        if (a.sequences) return w.data[(b * T + t) * width + d * H + j]!;
        return k === T - 1 ? w.data[b * width + d * H + j]! : 0;
      };
      for (let s = 0; s < T; s++) {
        const start = Math.max(0, s - K + 1);
        let state = before[start]!;
        for (let k = start; k <= s; k++) state = refStep(cell, refDirection(cell, p, prefix), seq[order[k]!]!, state, H);
        for (let j = 0; j < H; j++) loss += wAt(s, j) * state.h[j]!;
      }
    });
  });
  return loss;
}

function checkAgainstFrozenWindows(cell: Cell, o: Options, K: number): number {
  const def = defOf(cell);
  const args = argsOf(cell, o);
  const T = 5;
  const x = randomTensor([B, T, F], 21);
  const params = paramsFor(def, [[T, F]], args, 13);
  const y = forward(def, args, [x], params);
  const w = randomTensor(y.shape, 31);
  const { dx, g } = gradients(def, args, [x], params, w, K);
  const eps = 1e-6;
  const base = { p: params, x };
  let worst = 0;
  const compare = (analytic: number, up: number, down: number): void => {
    const numeric = (up - down) / (2 * eps);
    worst = Math.max(worst, Math.abs(analytic - numeric) / Math.max(1, Math.abs(analytic) + Math.abs(numeric)));
  };
  for (let i = 0; i < x.data.length; i++) {
    const xp = { shape: x.shape, data: new Float64Array(x.data) };
    xp.data[i] += eps;
    const up = frozenWindowLoss(cell, args, params, xp, base, w, K);
    xp.data[i] -= 2 * eps;
    const down = frozenWindowLoss(cell, args, params, xp, base, w, K);
    compare(dx[0]!.data[i]!, up, down);
  }
  for (const [name, t] of Object.entries(params)) {
    for (let i = 0; i < t.data.length; i++) {
      const with_ = (delta: number): ParamTensors => {
        const d = new Float64Array(t.data);
        d[i] += delta;
        return { ...params, [name]: { shape: t.shape, data: d } };
      };
      compare(g[name]!.data[i]!, frozenWindowLoss(cell, args, with_(eps), x, base, w, K), frozenWindowLoss(cell, args, with_(-eps), x, base, w, K));
    }
  }
  return worst;
}

describe("truncated BPTT", () => {
  for (const cell of CELLS) {
    it(`${cell}: K ≥ T gives exactly full BPTT (K = T runs the window streams; K = T + 3 too)`, () => {
      const def = defOf(cell);
      const T = 4;
      const args = argsOf(cell, { units: 2, sequences: true, bidirectional: true, layers: 2 });
      const x = randomTensor([B, T, F], 41);
      const params = paramsFor(def, [[T, F]], args, 17);
      const w = randomTensor([B, T, 4], 43);
      const full = gradients(def, args, [x], params, w);
      for (const K of [T, T + 3]) {
        const cut = gradients(def, args, [x], params, w, K);
        expect(maxAbsDiff(cut.dx[0]!.data, full.dx[0]!.data)).toBeLessThan(1e-13);
        for (const k of Object.keys(params)) expect(maxAbsDiff(cut.g[k]!.data, full.g[k]!.data), k).toBeLessThan(1e-13);
      }
      // …and a window shorter than T does change the gradient (the comparison above can fail).
      const short = gradients(def, args, [x], params, w, 2);
      expect(maxAbsDiff(short.g["l1.fw.recurrent_kernel"]!.data, full.g["l1.fw.recurrent_kernel"]!.data)).toBeGreaterThan(1e-6);
    });

    for (const K of [1, 2]) {
      for (const o of [
        { units: 2, sequences: true },
        { units: 2, sequences: false },
        { units: 2, sequences: true, bidirectional: true },
      ]) {
        it(`${cell}, K = ${K}, ${o.sequences ? "sequences" : "last step"}${o.bidirectional ? ", bidirectional" : ""}: the gradient of the loss with the state before each window frozen`, () => {
          expect(checkAgainstFrozenWindows(cell, o, K)).toBeLessThan(1e-6);
        });
      }
    }

    it(`${cell}, K = 1, last step only: no gradient reaches any earlier step's input`, () => {
      const def = defOf(cell);
      const T = 4;
      const args = argsOf(cell, { units: 3 });
      const x = randomTensor([B, T, F], 51);
      const params = paramsFor(def, [[T, F]], args, 19);
      const w = randomTensor([B, 3], 53);
      const { dx } = gradients(def, args, [x], params, w, 1);
      for (let b = 0; b < B; b++) {
        for (let t = 0; t < T; t++) {
          const row = dx[0]!.data.subarray((b * T + t) * F, (b * T + t + 1) * F);
          const size = Math.max(...Array.from(row, Math.abs));
          if (t < T - 1) expect(size).toBe(0);
          else expect(size).toBeGreaterThan(1e-3);
        }
      }
      // With K = 2 exactly one more step is reached.
      const two = gradients(def, args, [x], params, w, 2).dx[0]!.data;
      expect(Math.max(...Array.from(two.subarray((T - 2) * F, (T - 1) * F), Math.abs))).toBeGreaterThan(1e-4);
      expect(Math.max(...Array.from(two.subarray((T - 3) * F, (T - 2) * F), Math.abs))).toBe(0);
    });
  }

  it("rnn, K = 1: the recurrent-kernel gradient is Σ_t h_{t−1}ᵀ·(dy_t ⊙ (1 − h_t²)), no product of two recurrent Jacobians", () => {
    // Written out by hand: full BPTT would add terms like h_{t−2}ᵀ·(δ_t·Uᵀ ⊙ (1 − h_{t−1}²)), which carry U.
    const def = defOf("rnn");
    const T = 4;
    const H = 2;
    const args = argsOf("rnn", { units: H, sequences: true });
    const x = randomTensor([B, T, F], 61);
    const params = paramsFor(def, [[T, F]], args, 23, 0.9);
    const w = randomTensor([B, T, H], 67);
    const { g, dx } = gradients(def, args, [x], params, w, 1);
    const W = params.kernel!.data;
    const expectedU = new Float64Array(H * H);
    const expectedW = new Float64Array(F * H);
    const expectedDx = new Float64Array(B * T * F);
    rowsOf(x).forEach((seq, b) => {
      let h = [0, 0];
      seq.forEach((xt, t) => {
        const next = refStep("rnn", refDirection("rnn", params, ""), xt, { h, c: [] }, H).h;
        const delta = next.map((v, j) => w.data[(b * T + t) * H + j]! * (1 - v * v));
        for (let k = 0; k < H; k++) for (let j = 0; j < H; j++) expectedU[k * H + j] += h[k]! * delta[j]!;
        for (let f = 0; f < F; f++) {
          for (let j = 0; j < H; j++) {
            expectedW[f * H + j] += xt[f]! * delta[j]!;
            expectedDx[(b * T + t) * F + f] += delta[j]! * W[f * H + j]!;
          }
        }
        h = next;
      });
    });
    expect(maxAbsDiff(g.recurrent_kernel!.data, expectedU)).toBeLessThan(1e-14);
    expect(maxAbsDiff(g.kernel!.data, expectedW)).toBeLessThan(1e-14);
    expect(maxAbsDiff(dx[0]!.data, expectedDx)).toBeLessThan(1e-14);
    // The same sum is NOT the full-BPTT gradient, so this test tells the two apart.
    expect(maxAbsDiff(gradients(def, args, [x], params, w).g.recurrent_kernel!.data, expectedU)).toBeGreaterThan(1e-4);
  });

  it("the layer's own bptt wins over the training setting", () => {
    const def = defOf("lstm");
    const T = 5;
    const x = randomTensor([B, T, F], 71);
    const plain = argsOf("lstm", { units: 2, sequences: true });
    const own = argsOf("lstm", { units: 2, sequences: true, bptt: 2 });
    const params = paramsFor(def, [[T, F]], plain, 29);
    const w = randomTensor([B, T, 2], 73);
    const byLayer = gradients(def, own, [x], params, w, 1);
    const byContext = gradients(def, plain, [x], params, w, 2);
    const other = gradients(def, plain, [x], params, w, 1);
    expect(maxAbsDiff(byLayer.g.recurrent_kernel!.data, byContext.g.recurrent_kernel!.data)).toBe(0);
    expect(maxAbsDiff(byLayer.g.recurrent_kernel!.data, other.g.recurrent_kernel!.data)).toBeGreaterThan(1e-6);
  });

  it("the window applies per layer: `layers 2` equals two single-layer statements in a row", () => {
    const T = 5;
    const K = 2;
    for (const cell of CELLS) {
      const def = defOf(cell);
      const stacked = argsOf(cell, { units: 2, layers: 2, bidirectional: true });
      const params = paramsFor(def, [[T, F]], stacked, 37);
      const x = randomTensor([B, T, F], 79);
      const w = randomTensor([B, 4], 83);
      const both = gradients(def, stacked, [x], params, w, K);
      const first = argsOf(cell, { units: 2, sequences: true, bidirectional: true });
      const second = argsOf(cell, { units: 2, bidirectional: true });
      const part = (layer: number): ParamTensors => {
        const out: ParamTensors = {};
        for (const [k, v] of Object.entries(params)) if (k.startsWith(`l${layer}.`)) out[k.replace(`l${layer}.`, "l1.")] = v;
        return out;
      };
      const ctx = { training: true, random: seededRandom(1), bptt: K };
      const f1 = def.kernel!.forward([x], part(1), first, ctx);
      const f2 = def.kernel!.forward([f1.y], part(2), second, ctx);
      const g2: ParamTensors = Object.fromEntries(Object.entries(part(2)).map(([k, v]) => [k, zeros(v.shape)]));
      const g1: ParamTensors = Object.fromEntries(Object.entries(part(1)).map(([k, v]) => [k, zeros(v.shape)]));
      const [d2] = def.kernel!.backward(w, [f1.y], f2.y, f2.cache, part(2), g2, second, ctx);
      const [d1] = def.kernel!.backward(d2!, [x], f1.y, f1.cache, part(1), g1, first, ctx);
      expect(maxAbsDiff(d1!.data, both.dx[0]!.data)).toBeLessThan(1e-14);
      for (const [k, v] of Object.entries(g1)) expect(maxAbsDiff(v.data, both.g[k]!.data)).toBeLessThan(1e-14);
      for (const [k, v] of Object.entries(g2)) expect(maxAbsDiff(v.data, both.g[k.replace("l1.", "l2.")]!.data)).toBeLessThan(1e-14);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Attention.
// ---------------------------------------------------------------------------------------------

describe("attention forward, by hand (one query, two memory rows)", () => {
  const q = tensor([1, 2], [1, 0.5]);
  const m = tensor([1, 2, 2], [1, 2, 3, -1]);
  const mix = (s1: number, s2: number): number[] => {
    const a1 = Math.exp(s1) / (Math.exp(s1) + Math.exp(s2));
    const a2 = 1 - a1;
    return [a1 * 1 + a2 * 3, a1 * 2 + a2 * -1];
  };
  const run = (score: Score, p: ParamTensors, units?: number): number[] => Array.from(forward(defOf("attention"), { score, units } satisfies AttentionArgs, [q, m], p).data);

  it("dot: s_j = q·m_j", () => {
    const expected = mix(1 * 1 + 0.5 * 2, 1 * 3 + 0.5 * -1);
    run("dot", {}).forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 14));
  });

  it("bilinear: s_j = q·W·m_j", () => {
    // W = [[0.2, -0.4], [0.7, 0.1]]; q·W = [1·0.2 + 0.5·0.7, 1·(−0.4) + 0.5·0.1] = [0.55, −0.35].
    const expected = mix(0.55 * 1 - 0.35 * 2, 0.55 * 3 - 0.35 * -1);
    run("bilinear", { kernel: tensor([2, 2], [0.2, -0.4, 0.7, 0.1]) }).forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 14));
  });

  it("mlp: s_j = v·tanh(q·Wq + m_j·Wk)", () => {
    // U = 1: Wq = [0.3, -0.2], Wk = [0.5, 0.25], v = [2].
    const qw = 1 * 0.3 + 0.5 * -0.2;
    const s1 = 2 * Math.tanh(qw + (1 * 0.5 + 2 * 0.25));
    const s2 = 2 * Math.tanh(qw + (3 * 0.5 - 1 * 0.25));
    const p = { query_kernel: tensor([2, 1], [0.3, -0.2]), memory_kernel: tensor([2, 1], [0.5, 0.25]), score_vector: tensor([1], [2]) };
    run("mlp", p, 1).forEach((v, i) => expect(v).toBeCloseTo(mix(s1, s2)[i]!, 14));
  });
});

describe("attention gradients match finite differences", () => {
  const def = defOf("attention");
  const Tq = 3;
  const Tk = 4;
  for (const score of ["dot", "bilinear", "mlp"] as const) {
    for (const timed of [true, false]) {
      it(`${score}, query ${timed ? "[B,Tq,Hq]" : "[B,Hq]"}`, () => {
        const hq = score === "dot" ? 3 : 2;
        const hk = 3;
        const args: AttentionArgs = { score, units: score === "mlp" ? 4 : undefined };
        const qShape = timed ? [Tq, hq] : [hq];
        const q = randomTensor([B, ...qShape], 91);
        const m = randomTensor([B, Tk, hk], 93);
        const params = paramsFor(def, [qShape, [Tk, hk]], args, 47, 0.8);
        const y = forward(def, args, [q, m], params);
        expect(y.shape).toEqual(timed ? [B, Tq, hk] : [B, hk]);
        const { maxRelativeError, worst } = gradCheck({ def, args, inputs: [q, m], params });
        expect(maxRelativeError, worst).toBeLessThan(1e-6);
      });
    }
  }
});
