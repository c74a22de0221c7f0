import type { EmitContext, LayerEmitter } from "../codegen/emit-types.js";
import type { AttentionArgs } from "./attention.js";

/**
 * Generated code for attention, the same computation as attention-kernel.ts: per sample, scores
 *   dot       s_ij = q_i·m_j
 *   bilinear  s_ij = (q_i·W)·m_j
 *   mlp       s_ij = v·tanh(q_i·Wq + m_j·Wk)
 * then a_i = softmax_j(s_ij) (unscaled) and y_i = Σ_j a_ij m_j. x0 is the query [Tq,Hq] (or [Hq],
 * one row), x1 the memory [Tk,Hk]. Forward keeps the softmax weights and, for bilinear and mlp,
 * the inner values (q·W, or the tanh layer) per sample for backward.
 */
interface Sizes {
  readonly tq: number;
  readonly hq: number;
  readonly tk: number;
  readonly hk: number;
  readonly units: number;
}

function sizesOf(a: AttentionArgs, c: EmitContext): Sizes {
  const q = c.inShapes[0]!;
  const m = c.inShapes[1]!;
  const hq = q[q.length - 1]!;
  return { tq: q.length === 2 ? q[0]! : 1, hq, tk: m[0]!, hk: m[1]!, units: a.score === "mlp" ? (a.units ?? hq) : 0 };
}

/** Names bound around both passes: the kept weights and inner values, and the per-sample offsets. */
function kept(a: AttentionArgs, c: EmitContext, z: Sizes): { att: string; inner?: string } {
  const att = c.scratch("att", z.tq * z.tk, true);
  if (a.score === "bilinear") return { att, inner: c.scratch("inner", z.tq * z.hk, true) };
  if (a.score === "mlp") return { att, inner: c.scratch("inner", z.tq * z.tk * z.units, true) };
  return { att };
}

function offsets(z: Sizes): string {
  return `
      const qb = b * ${z.tq * z.hq};
      const mb = b * ${z.tk * z.hk};
      const sb = b * ${z.tq * z.tk};
      const yb = b * ${z.tq * z.hk};`;
}

function scoresCode(a: AttentionArgs, c: EmitContext, z: Sizes, att: string, inner?: string): string {
  const { tq, hq, tk, hk, units } = z;
  if (a.score === "dot") {
    return `
      for (let i = 0; i < ${tq}; i++) {
        for (let j = 0; j < ${tk}; j++) {
          let s = 0;
          for (let h = 0; h < ${hk}; h++) s += x0[qb + i * ${hq} + h] * x1[mb + j * ${hk} + h];
          ${att}[sb + i * ${tk} + j] = s;
        }
      }`;
  }
  if (a.score === "bilinear") {
    const kernel = c.offset("kernel");
    return `
      // q·W, kept for backward
      const ib = b * ${tq * hk};
      for (let i = 0; i < ${tq}; i++) {
        const io = ib + i * ${hk};
        for (let k = 0; k < ${hk}; k++) ${inner}[io + k] = 0;
        for (let h = 0; h < ${hq}; h++) {
          const v = x0[qb + i * ${hq} + h];
          if (v === 0) continue;
          const ko = ${kernel} + h * ${hk};
          for (let k = 0; k < ${hk}; k++) ${inner}[io + k] += v * w[ko + k];
        }
        for (let j = 0; j < ${tk}; j++) {
          let s = 0;
          for (let k = 0; k < ${hk}; k++) s += ${inner}[io + k] * x1[mb + j * ${hk} + k];
          ${att}[sb + i * ${tk} + j] = s;
        }
      }`;
  }
  const wq = c.offset("query_kernel");
  const wk = c.offset("memory_kernel");
  const v = c.offset("score_vector");
  const pq = c.scratch("projQ", tq * units);
  const pk = c.scratch("projM", tk * units);
  return `
      // q·Wq and m·Wk, then the tanh layer (kept for backward) and its score
      ${projection(pq, "x0", "qb", tq, hq, units, wq)}
      ${projection(pk, "x1", "mb", tk, hk, units, wk)}
      const eb = b * ${tq * tk * units};
      for (let i = 0; i < ${tq}; i++) {
        for (let j = 0; j < ${tk}; j++) {
          const eo = eb + (i * ${tk} + j) * ${units};
          let s = 0;
          for (let u = 0; u < ${units}; u++) {
            const e = Math.tanh(${pq}[i * ${units} + u] + ${pk}[j * ${units} + u]);
            ${inner}[eo + u] = e;
            s += w[${v} + u] * e;
          }
          ${att}[sb + i * ${tk} + j] = s;
        }
      }`;
}

/** out[r, :] = src[base + r, :]·W for `rows` rows of width `width`, W = w[offset…] [width, units]. */
function projection(out: string, src: string, base: string, rows: number, width: number, units: number, offset: number): string {
  return `for (let r = 0; r < ${rows}; r++) {
        const oo = r * ${units};
        for (let u = 0; u < ${units}; u++) ${out}[oo + u] = 0;
        for (let h = 0; h < ${width}; h++) {
          const v = ${src}[${base} + r * ${width} + h];
          if (v === 0) continue;
          const ko = ${offset} + h * ${units};
          for (let u = 0; u < ${units}; u++) ${out}[oo + u] += v * w[ko + u];
        }
      }`;
}

function forward(a: AttentionArgs, c: EmitContext): string {
  const z = sizesOf(a, c);
  const { tq, tk, hk } = z;
  const { att, inner } = kept(a, c, z);
  return `
    for (let b = 0; b < n; b++) {
      ${offsets(z)}
      ${scoresCode(a, c, z, att, inner)}
      // softmax over the memory steps (maximum subtracted first)
      for (let i = 0; i < ${tq}; i++) {
        const o = sb + i * ${tk};
        let max = -Infinity;
        for (let j = 0; j < ${tk}; j++) if (${att}[o + j] > max) max = ${att}[o + j];
        let sum = 0;
        for (let j = 0; j < ${tk}; j++) {
          const e = Math.exp(${att}[o + j] - max);
          ${att}[o + j] = e;
          sum += e;
        }
        for (let j = 0; j < ${tk}; j++) ${att}[o + j] = ${att}[o + j] / sum;
      }
      // y_i = Σ_j a_ij m_j
      for (let i = 0; i < ${tq}; i++) {
        const yo = yb + i * ${hk};
        for (let h = 0; h < ${hk}; h++) y[yo + h] = 0;
        for (let j = 0; j < ${tk}; j++) {
          const av = ${att}[sb + i * ${tk} + j];
          if (av === 0) continue;
          const mo = mb + j * ${hk};
          for (let h = 0; h < ${hk}; h++) y[yo + h] += av * x1[mo + h];
        }
      }
    }`;
}

function backward(a: AttentionArgs, c: EmitContext): string {
  const z = sizesOf(a, c);
  const { tq, hq, tk, hk, units } = z;
  const { att, inner } = kept(a, c, z);
  const dq = c.needsDx(0);
  const dm = c.needsDx(1);
  const ds = c.scratch("dScores", tq * tk);
  let scoreBack: string;
  if (a.score === "dot") {
    scoreBack = `
      for (let i = 0; i < ${tq}; i++) {
        for (let j = 0; j < ${tk}; j++) {
          const d = ${ds}[i * ${tk} + j];
          ${dq ? `for (let h = 0; h < ${hk}; h++) dx0[qb + i * ${hq} + h] += d * x1[mb + j * ${hk} + h];` : ""}
          ${dm ? `for (let h = 0; h < ${hk}; h++) dx1[mb + j * ${hk} + h] += d * x0[qb + i * ${hq} + h];` : ""}
        }
      }`;
  } else if (a.score === "bilinear") {
    const kernel = c.offset("kernel");
    const dqw = c.scratch("dQW", tq * hk);
    scoreBack = `
      const ib = b * ${tq * hk};
      for (let i = 0; i < ${tq}; i++) {
        const io = i * ${hk};
        for (let k = 0; k < ${hk}; k++) ${dqw}[io + k] = 0;
        for (let j = 0; j < ${tk}; j++) {
          const d = ${ds}[i * ${tk} + j];
          const mo = mb + j * ${hk};
          for (let k = 0; k < ${hk}; k++) ${dqw}[io + k] += d * x1[mo + k];
          ${dm ? `for (let k = 0; k < ${hk}; k++) dx1[mo + k] += d * ${inner}[ib + io + k];` : ""}
        }
        // through q·W: the kernel's gradient and the query's
        for (let h = 0; h < ${hq}; h++) {
          const v = x0[qb + i * ${hq} + h];
          const ko = ${kernel} + h * ${hk};
          let acc = 0;
          for (let k = 0; k < ${hk}; k++) {
            const d = ${dqw}[io + k];
            g[ko + k] += v * d;
            acc += d * w[ko + k];
          }
          ${dq ? `dx0[qb + i * ${hq} + h] += acc;` : ""}
        }
      }`;
  } else {
    const wq = c.offset("query_kernel");
    const wk = c.offset("memory_kernel");
    const v = c.offset("score_vector");
    const dpq = c.scratch("dProjQ", tq * units);
    const dpk = c.scratch("dProjM", tk * units);
    scoreBack = `
      for (let i = 0; i < ${tq * units}; i++) ${dpq}[i] = 0;
      for (let i = 0; i < ${tk * units}; i++) ${dpk}[i] = 0;
      const eb = b * ${tq * tk * units};
      for (let i = 0; i < ${tq}; i++) {
        for (let j = 0; j < ${tk}; j++) {
          const d = ${ds}[i * ${tk} + j];
          const eo = eb + (i * ${tk} + j) * ${units};
          for (let u = 0; u < ${units}; u++) {
            const e = ${inner}[eo + u];
            g[${v} + u] += d * e;
            const de = d * w[${v} + u] * (1 - e * e);
            ${dpq}[i * ${units} + u] += de;
            ${dpk}[j * ${units} + u] += de;
          }
        }
      }
      ${projectionBack(dpq, "x0", "qb", tq, hq, units, wq, dq ? "dx0" : undefined)}
      ${projectionBack(dpk, "x1", "mb", tk, hk, units, wk, dm ? "dx1" : undefined)}`;
  }
  return `
    for (let b = 0; b < n; b++) {
      ${offsets(z)}
      // through y_i = Σ_j a_ij m_j: the weights' gradient, and the memory's as values
      for (let i = 0; i < ${tq}; i++) {
        const yo = yb + i * ${hk};
        for (let j = 0; j < ${tk}; j++) {
          const mo = mb + j * ${hk};
          let s = 0;
          for (let h = 0; h < ${hk}; h++) s += dy[yo + h] * x1[mo + h];
          ${ds}[i * ${tk} + j] = s;
          ${dm ? `const av = ${att}[sb + i * ${tk} + j];\n          for (let h = 0; h < ${hk}; h++) dx1[mo + h] += av * dy[yo + h];` : ""}
        }
      }
      // softmax: ds_ij = a_ij (da_ij − Σ_j' a_ij' da_ij')
      for (let i = 0; i < ${tq}; i++) {
        const o = sb + i * ${tk};
        let dot = 0;
        for (let j = 0; j < ${tk}; j++) dot += ${att}[o + j] * ${ds}[i * ${tk} + j];
        for (let j = 0; j < ${tk}; j++) ${ds}[i * ${tk} + j] = ${att}[o + j] * (${ds}[i * ${tk} + j] - dot);
      }
      ${scoreBack}
    }`;
}

/** Through out = src·W: W's gradient (srcᵀ·dOut) and, when `dx` is given, dx += dOut·Wᵀ. */
function projectionBack(dOut: string, src: string, base: string, rows: number, width: number, units: number, offset: number, dx?: string): string {
  return `for (let r = 0; r < ${rows}; r++) {
        const oo = r * ${units};
        for (let h = 0; h < ${width}; h++) {
          const v = ${src}[${base} + r * ${width} + h];
          const ko = ${offset} + h * ${units};
          ${dx ? "let acc = 0;" : ""}
          for (let u = 0; u < ${units}; u++) {
            const d = ${dOut}[oo + u];
            g[ko + u] += v * d;
            ${dx ? "acc += d * w[ko + u];" : ""}
          }
          ${dx ? `${dx}[${base} + r * ${width} + h] += acc;` : ""}
        }
      }`;
}

export const attentionEmit: LayerEmitter<AttentionArgs> = { forward, backward };
