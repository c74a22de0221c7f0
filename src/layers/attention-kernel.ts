import { zeros, type Tensor } from "../interp/tensor.js";
import type { AttentionArgs } from "./attention.js";
import { mulAdd, mulTransAdd, transMulAdd } from "./recurrent/linalg.js";
import type { LayerKernel, ParamTensors } from "./types.js";

/** Sizes of one call: query [B, Tq, Hq] (Tq = 1 for a query [B, Hq]) and memory [B, Tk, Hk]. */
interface Sizes {
  readonly batch: number;
  readonly tq: number;
  readonly hq: number;
  readonly tk: number;
  readonly hk: number;
  /** Hidden size of the mlp score (0 otherwise). */
  readonly units: number;
}

interface AttentionCache {
  /** Softmax weights [B, Tq, Tk]. */
  readonly weights: Float64Array;
  /** bilinear: q·W [B, Tq, Hk]; mlp: tanh(q·Wq + k·Wk) [B, Tq, Tk, U]; dot: unused. */
  readonly inner: Float64Array;
}

function sizesOf(q: Tensor, m: Tensor, p: ParamTensors, a: AttentionArgs): Sizes {
  if (q.shape.length !== 2 && q.shape.length !== 3) throw new Error(`attention: query must be [B,Tq,H] or [B,H], got [${q.shape.join(",")}]`);
  if (m.shape.length !== 3) throw new Error(`attention: memory must be [B,T,H], got [${m.shape.join(",")}]`);
  const timed = q.shape.length === 3;
  const sizes = {
    batch: q.shape[0]!,
    tq: timed ? q.shape[1]! : 1,
    hq: q.shape[q.shape.length - 1]!,
    tk: m.shape[1]!,
    hk: m.shape[2]!,
    units: a.score === "mlp" ? p.score_vector!.data.length : 0,
  };
  if (m.shape[0] !== sizes.batch) throw new Error(`attention: query batch ${sizes.batch} and memory batch ${m.shape[0]} differ`);
  if (a.score === "dot" && sizes.hq !== sizes.hk) throw new Error(`attention: dot scores need Hq = Hk, got ${sizes.hq} and ${sizes.hk}`);
  return sizes;
}

/**
 * Attention of each query row over the memory rows (keys and values both): scores
 *   dot       s_ij = q_i·m_j
 *   bilinear  s_ij = q_i·W·m_j                          (W = kernel [Hq, Hk])
 *   mlp       s_ij = v·tanh(q_i·Wq + m_j·Wk)            (query_kernel, memory_kernel, score_vector)
 * then a_i = softmax_j(s_ij) and y_i = Σ_j a_ij m_j. Unscaled, as the language defines it.
 */
export const attentionKernel: LayerKernel<AttentionArgs> = {
  forward([q, m], p, a) {
    const z = sizesOf(q!, m!, p, a);
    const { batch, tq, hq, tk, hk, units } = z;
    const qd = q!.data;
    const md = m!.data;
    const scores = new Float64Array(batch * tq * tk);
    let inner: Float64Array = new Float64Array(0);
    if (a.score === "dot") {
      for (let b = 0; b < batch; b++) mulTransAdd(scores, b * tq * tk, qd, b * tq * hq, md, tq, hk, tk, b * tk * hk);
    } else if (a.score === "bilinear") {
      inner = new Float64Array(batch * tq * hk);
      mulAdd(inner, 0, qd, 0, p.kernel!.data, batch * tq, hq, hk);
      for (let b = 0; b < batch; b++) mulTransAdd(scores, b * tq * tk, inner, b * tq * hk, md, tq, hk, tk, b * tk * hk);
    } else {
      inner = mlpHidden(qd, md, p, z);
      const v = p.score_vector!.data;
      for (let ij = 0; ij < batch * tq * tk; ij++) {
        let s = 0;
        for (let u = 0; u < units; u++) s += v[u]! * inner[ij * units + u]!;
        scores[ij] = s;
      }
    }
    softmaxRows(scores, batch * tq, tk);
    const y = zeros(q!.shape.length === 3 ? [batch, tq, hk] : [batch, hk]);
    for (let b = 0; b < batch; b++) mulAdd(y.data, b * tq * hk, scores, b * tq * tk, md, tq, tk, hk, b * tk * hk);
    const cache: AttentionCache = { weights: scores, inner };
    return { y, cache };
  },

  backward(dy, [q, m], _y, cache, p, g, a) {
    const z = sizesOf(q!, m!, p, a);
    const { batch, tq, hq, tk, hk, units } = z;
    const { weights, inner } = cache as AttentionCache;
    const qd = q!.data;
    const md = m!.data;
    const dyd = dy.data;
    const dq = zeros(q!.shape);
    const dm = zeros(m!.shape);
    const dScores = new Float64Array(tq * tk);
    const dQW = a.score === "bilinear" ? new Float64Array(tq * hk) : undefined;
    const dPQ = a.score === "mlp" ? new Float64Array(tq * units) : undefined;
    const dPK = a.score === "mlp" ? new Float64Array(tk * units) : undefined;
    for (let b = 0; b < batch; b++) {
      const qOff = b * tq * hq;
      const mOff = b * tk * hk;
      const sOff = b * tq * tk;
      const yOff = b * tq * hk;
      // y_i = Σ_j a_ij m_j: gradients on the weights and on the memory as values.
      dScores.fill(0);
      mulTransAdd(dScores, 0, dyd, yOff, md, tq, hk, tk, mOff);
      transMulAdd(dm.data, weights, sOff, dyd, yOff, tq, tk, hk, mOff);
      // Softmax: ds_ij = a_ij (da_ij − Σ_j' a_ij' da_ij').
      for (let i = 0; i < tq; i++) {
        let dot = 0;
        for (let j = 0; j < tk; j++) dot += weights[sOff + i * tk + j]! * dScores[i * tk + j]!;
        for (let j = 0; j < tk; j++) dScores[i * tk + j] = weights[sOff + i * tk + j]! * (dScores[i * tk + j]! - dot);
      }
      if (a.score === "dot") {
        mulAdd(dq.data, qOff, dScores, 0, md, tq, tk, hk, mOff);
        transMulAdd(dm.data, dScores, 0, qd, qOff, tq, tk, hq, mOff);
      } else if (a.score === "bilinear") {
        const w = p.kernel!.data;
        dQW!.fill(0);
        mulAdd(dQW!, 0, dScores, 0, md, tq, tk, hk, mOff);
        transMulAdd(dm.data, dScores, 0, inner, b * tq * hk, tq, tk, hk, mOff);
        if (g.kernel) transMulAdd(g.kernel.data, qd, qOff, dQW!, 0, tq, hq, hk);
        mulTransAdd(dq.data, qOff, dQW!, 0, w, tq, hk, hq);
      } else {
        const v = p.score_vector!.data;
        const gv = g.score_vector?.data;
        dPQ!.fill(0);
        dPK!.fill(0);
        for (let i = 0; i < tq; i++) {
          for (let j = 0; j < tk; j++) {
            const ds = dScores[i * tk + j]!;
            const eo = ((b * tq + i) * tk + j) * units;
            for (let u = 0; u < units; u++) {
              const e = inner[eo + u]!;
              if (gv) gv[u] += ds * e;
              const de = ds * v[u]! * (1 - e * e);
              dPQ![i * units + u] += de;
              dPK![j * units + u] += de;
            }
          }
        }
        if (g.query_kernel) transMulAdd(g.query_kernel.data, qd, qOff, dPQ!, 0, tq, hq, units);
        if (g.memory_kernel) transMulAdd(g.memory_kernel.data, md, mOff, dPK!, 0, tk, hk, units);
        mulTransAdd(dq.data, qOff, dPQ!, 0, p.query_kernel!.data, tq, units, hq);
        mulTransAdd(dm.data, mOff, dPK!, 0, p.memory_kernel!.data, tk, units, hk);
      }
    }
    return [dq, dm];
  },
};

/** tanh(q_i·Wq + m_j·Wk) for every batch, i and j: [B, Tq, Tk, U]. */
function mlpHidden(qd: Float64Array, md: Float64Array, p: ParamTensors, z: Sizes): Float64Array {
  const { batch, tq, hq, tk, hk, units } = z;
  const pq = new Float64Array(batch * tq * units);
  const pk = new Float64Array(batch * tk * units);
  mulAdd(pq, 0, qd, 0, p.query_kernel!.data, batch * tq, hq, units);
  mulAdd(pk, 0, md, 0, p.memory_kernel!.data, batch * tk, hk, units);
  const out = new Float64Array(batch * tq * tk * units);
  for (let b = 0; b < batch; b++) {
    for (let i = 0; i < tq; i++) {
      const qo = (b * tq + i) * units;
      for (let j = 0; j < tk; j++) {
        const ko = (b * tk + j) * units;
        const eo = ((b * tq + i) * tk + j) * units;
        for (let u = 0; u < units; u++) out[eo + u] = Math.tanh(pq[qo + u]! + pk[ko + u]!);
      }
    }
  }
  return out;
}

/** Softmax of each row of a [rows, n] block, in place (max subtracted first). */
function softmaxRows(x: Float64Array, rows: number, n: number): void {
  for (let r = 0; r < rows; r++) {
    const o = r * n;
    let max = -Infinity;
    for (let j = 0; j < n; j++) max = Math.max(max, x[o + j]!);
    let sum = 0;
    for (let j = 0; j < n; j++) {
      const e = Math.exp(x[o + j]! - max);
      x[o + j] = e;
      sum += e;
    }
    for (let j = 0; j < n; j++) x[o + j] = x[o + j]! / sum;
  }
}
