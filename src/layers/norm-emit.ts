import type { EmitContext, LayerEmitter } from "../codegen/emit-types.js";
import { BATCHNORM_MOMENTUM, NORM_EPSILON } from "./norm-kernel.js";

type NoArgs = Record<string, never>;

function widthAndRows(c: EmitContext): { width: number; rowsPerSample: number } {
  const width = c.outShape[c.outShape.length - 1]!;
  return { width, rowsPerSample: c.outShape.reduce((p, d) => p * d, 1) / width };
}

/**
 * batchnorm over the last axis C, every other axis (batch included) being rows, as
 * src/layers/norm-kernel.ts. Training: per-channel batch mean and BIASED variance (scratch
 * `mean`, `variance`), 1/√(var + eps) in `invStd`, and the running statistics in `w` updated as
 * 0.99·running + 0.01·batch. Inference — and a frozen batchnorm, always — uses the running
 * statistics and leaves them alone. The normalised input x̂ is kept per element (`xhat`) and
 * `batchStats[0]` records which statistics the last forward used. Backward: γ and β gradients
 * from Σdy·x̂ and Σdy, and dx = γ/σ·(dy − mean(dy) − x̂·mean(dy·x̂)) (batch statistics) or
 * γ/σ·dy (fixed ones).
 */
export const batchnormEmit: LayerEmitter<NoArgs> = {
  forward(_a, c) {
    const { width, rowsPerSample } = widthAndRows(c);
    const s = scratchOf(c, width, rowsPerSample);
    const gamma = c.offset("gamma");
    const beta = c.offset("beta");
    const mm = c.offset("moving_mean");
    const mv = c.offset("moving_variance");
    return `
      const rows = n * ${rowsPerSample};
      const useBatch = ${c.frozen ? "false" : "training"};
      ${s.batchStats}[0] = useBatch ? 1 : 0;
      if (useBatch) {
        for (let ch = 0; ch < ${width}; ch++) {
          ${s.mean}[ch] = 0;
          ${s.variance}[ch] = 0;
        }
        for (let r = 0; r < rows; r++) {
          const o = r * ${width};
          for (let ch = 0; ch < ${width}; ch++) ${s.mean}[ch] += x0[o + ch];
        }
        for (let ch = 0; ch < ${width}; ch++) ${s.mean}[ch] /= rows;
        for (let r = 0; r < rows; r++) {
          const o = r * ${width};
          for (let ch = 0; ch < ${width}; ch++) {
            const d = x0[o + ch] - ${s.mean}[ch];
            ${s.variance}[ch] += d * d;
          }
        }
        for (let ch = 0; ch < ${width}; ch++) {
          ${s.variance}[ch] /= rows;
          ${s.invStd}[ch] = 1 / Math.sqrt(${s.variance}[ch] + ${NORM_EPSILON});
          w[${mm} + ch] = ${BATCHNORM_MOMENTUM} * w[${mm} + ch] + ${1 - BATCHNORM_MOMENTUM} * ${s.mean}[ch];
          w[${mv} + ch] = ${BATCHNORM_MOMENTUM} * w[${mv} + ch] + ${1 - BATCHNORM_MOMENTUM} * ${s.variance}[ch];
        }
      } else {
        for (let ch = 0; ch < ${width}; ch++) {
          ${s.mean}[ch] = w[${mm} + ch];
          ${s.invStd}[ch] = 1 / Math.sqrt(w[${mv} + ch] + ${NORM_EPSILON});
        }
      }
      for (let r = 0; r < rows; r++) {
        const o = r * ${width};
        for (let ch = 0; ch < ${width}; ch++) {
          const h = (x0[o + ch] - ${s.mean}[ch]) * ${s.invStd}[ch];
          ${s.xhat}[o + ch] = h;
          y[o + ch] = w[${gamma} + ch] * h + w[${beta} + ch];
        }
      }`;
  },

  backward(_a, c) {
    const { width, rowsPerSample } = widthAndRows(c);
    const s = scratchOf(c, width, rowsPerSample);
    const gamma = c.offset("gamma");
    const beta = c.offset("beta");
    const dx = c.needsDx(0)
      ? `
      if (${s.batchStats}[0] === 1) {
        for (let r = 0; r < rows; r++) {
          const o = r * ${width};
          for (let ch = 0; ch < ${width}; ch++) {
            const i = o + ch;
            const scale = w[${gamma} + ch] * ${s.invStd}[ch];
            dx0[i] += scale * (dy[i] - ${s.sumDy}[ch] / rows - ${s.xhat}[i] * (${s.sumDyXhat}[ch] / rows));
          }
        }
      } else {
        for (let r = 0; r < rows; r++) {
          const o = r * ${width};
          for (let ch = 0; ch < ${width}; ch++) dx0[o + ch] += w[${gamma} + ch] * ${s.invStd}[ch] * dy[o + ch];
        }
      }`
      : "";
    return `
      const rows = n * ${rowsPerSample};
      for (let ch = 0; ch < ${width}; ch++) {
        ${s.sumDy}[ch] = 0;
        ${s.sumDyXhat}[ch] = 0;
      }
      for (let r = 0; r < rows; r++) {
        const o = r * ${width};
        for (let ch = 0; ch < ${width}; ch++) {
          const d = dy[o + ch];
          ${s.sumDy}[ch] += d;
          ${s.sumDyXhat}[ch] += d * ${s.xhat}[o + ch];
        }
      }
      for (let ch = 0; ch < ${width}; ch++) {
        g[${gamma} + ch] += ${s.sumDyXhat}[ch];
        g[${beta} + ch] += ${s.sumDy}[ch];
      }${dx}`;
  },
};

function scratchOf(c: EmitContext, width: number, rowsPerSample: number) {
  return {
    mean: c.scratch("mean", width),
    variance: c.scratch("variance", width),
    invStd: c.scratch("invStd", width),
    sumDy: c.scratch("sumDy", width),
    sumDyXhat: c.scratch("sumDyXhat", width),
    xhat: c.scratch("xhat", width * rowsPerSample, true),
    batchStats: c.scratch("batchStats", 1, false, "int"),
  };
}

/**
 * layernorm: each row of the last axis F normalised on its own mean and biased variance (eps
 * 1e-3), then γ·x̂ + β, as src/layers/norm-kernel.ts. The mean and variance are float64 locals;
 * x̂ (per element) and 1/σ (per row) are kept in scratch for backward, which adds the γ/β
 * gradients and dx = (d − mean(d) − x̂·mean(d·x̂))/σ with d = dy·γ.
 */
export const layernormEmit: LayerEmitter<NoArgs> = {
  forward(_a, c) {
    const { width, rowsPerSample } = widthAndRows(c);
    const xhat = c.scratch("xhat", width * rowsPerSample, true);
    const invStd = c.scratch("invStd", rowsPerSample, true);
    const gamma = c.offset("gamma");
    const beta = c.offset("beta");
    return `
      for (let r = 0; r < n * ${rowsPerSample}; r++) {
        const o = r * ${width};
        let mean = 0;
        for (let i = 0; i < ${width}; i++) mean += x0[o + i];
        mean /= ${width};
        let variance = 0;
        for (let i = 0; i < ${width}; i++) {
          const d = x0[o + i] - mean;
          variance += d * d;
        }
        variance /= ${width};
        const s = 1 / Math.sqrt(variance + ${NORM_EPSILON});
        ${invStd}[r] = s;
        for (let i = 0; i < ${width}; i++) {
          const h = (x0[o + i] - mean) * s;
          ${xhat}[o + i] = h;
          y[o + i] = w[${gamma} + i] * h + w[${beta} + i];
        }
      }`;
  },

  backward(_a, c) {
    const { width, rowsPerSample } = widthAndRows(c);
    const xhat = c.scratch("xhat", width * rowsPerSample, true);
    const invStd = c.scratch("invStd", rowsPerSample, true);
    const gamma = c.offset("gamma");
    const beta = c.offset("beta");
    const dx = c.needsDx(0);
    return `
      for (let r = 0; r < n * ${rowsPerSample}; r++) {
        const o = r * ${width};
        let sumD = 0;
        let sumDXhat = 0;
        for (let i = 0; i < ${width}; i++) {
          const e = dy[o + i];
          const d = e * w[${gamma} + i];
          sumD += d;
          sumDXhat += d * ${xhat}[o + i];
          g[${gamma} + i] += e * ${xhat}[o + i];
          g[${beta} + i] += e;
        }${
          dx
            ? `
        const s = ${invStd}[r];
        for (let i = 0; i < ${width}; i++) {
          const d = dy[o + i] * w[${gamma} + i];
          dx0[o + i] += s * (d - sumD / ${width} - ${xhat}[o + i] * (sumDXhat / ${width}));
        }`
            : ""
        }
      }`;
  },
};
