import { zeros, type Tensor } from "../interp/tensor.js";
import type { LayerKernel } from "./types.js";

type NoArgs = Record<string, never>;

/** Keras' default epsilon for BatchNormalization and LayerNormalization. */
export const NORM_EPSILON = 1e-3;
/** Keras' default momentum: running = 0.99·running + 0.01·batch. */
export const BATCHNORM_MOMENTUM = 0.99;

interface NormCache {
  /** The normalised input (x − mean)/√(var + eps), before gamma and beta. */
  readonly xhat: Float64Array;
  /** 1/√(var + eps): per channel for batchnorm, per row for layernorm. */
  readonly invStd: Float64Array;
  /** Batch statistics (their gradient flows through the mean and variance) or fixed ones. */
  readonly batchStatistics: boolean;
}

/**
 * Batch normalisation of the last axis C over every other axis (batch included). Training uses
 * the batch mean and the BIASED batch variance, and updates `moving_mean`/`moving_variance` in
 * place as 0.99·running + 0.01·batch — with the same biased variance, as Keras 3 does
 * (`keras/src/layers/normalization/batch_normalization.py` assigns `ops.moments`' variance; the
 * old tf.keras fused kernel applied Bessel's correction there instead, PyTorch still does).
 * Inference uses the running statistics: (x − mean)/√(var + 1e-3)·γ + β.
 */
export const batchnormKernel: LayerKernel<NoArgs> = {
  forward([x], p, _a, ctx) {
    const c = x!.shape[x!.shape.length - 1]!;
    const rows = x!.data.length / c;
    const xd = x!.data;
    const gamma = p.gamma!.data;
    const beta = p.beta!.data;
    const movingMean = p.moving_mean!.data;
    const movingVariance = p.moving_variance!.data;
    const mean = new Float64Array(c);
    const invStd = new Float64Array(c);
    if (ctx.training) {
      const variance = new Float64Array(c);
      for (let r = 0; r < rows; r++) for (let ch = 0; ch < c; ch++) mean[ch] += xd[r * c + ch]!;
      for (let ch = 0; ch < c; ch++) mean[ch] /= rows;
      for (let r = 0; r < rows; r++) {
        for (let ch = 0; ch < c; ch++) {
          const d = xd[r * c + ch]! - mean[ch]!;
          variance[ch] += d * d;
        }
      }
      for (let ch = 0; ch < c; ch++) {
        variance[ch] /= rows;
        invStd[ch] = 1 / Math.sqrt(variance[ch]! + NORM_EPSILON);
        movingMean[ch] = BATCHNORM_MOMENTUM * movingMean[ch]! + (1 - BATCHNORM_MOMENTUM) * mean[ch]!;
        movingVariance[ch] = BATCHNORM_MOMENTUM * movingVariance[ch]! + (1 - BATCHNORM_MOMENTUM) * variance[ch]!;
      }
    } else {
      for (let ch = 0; ch < c; ch++) {
        mean[ch] = movingMean[ch]!;
        invStd[ch] = 1 / Math.sqrt(movingVariance[ch]! + NORM_EPSILON);
      }
    }
    const y = zeros(x!.shape);
    const xhat = new Float64Array(xd.length);
    for (let r = 0; r < rows; r++) {
      for (let ch = 0; ch < c; ch++) {
        const i = r * c + ch;
        const h = (xd[i]! - mean[ch]!) * invStd[ch]!;
        xhat[i] = h;
        y.data[i] = gamma[ch]! * h + beta[ch]!;
      }
    }
    const cache: NormCache = { xhat, invStd, batchStatistics: ctx.training };
    return { y, cache };
  },

  backward(dy, [x], _y, cache, p, g) {
    const { xhat, invStd, batchStatistics } = cache as NormCache;
    const c = x!.shape[x!.shape.length - 1]!;
    const rows = x!.data.length / c;
    const gamma = p.gamma!.data;
    const dyd = dy.data;
    const dx: Tensor = zeros(x!.shape);
    const sumDy = new Float64Array(c);
    const sumDyXhat = new Float64Array(c);
    for (let r = 0; r < rows; r++) {
      for (let ch = 0; ch < c; ch++) {
        const i = r * c + ch;
        sumDy[ch] += dyd[i]!;
        sumDyXhat[ch] += dyd[i]! * xhat[i]!;
      }
    }
    const gGamma = g.gamma!.data;
    const gBeta = g.beta!.data;
    for (let ch = 0; ch < c; ch++) {
      gGamma[ch] += sumDyXhat[ch]!;
      gBeta[ch] += sumDy[ch]!;
    }
    for (let r = 0; r < rows; r++) {
      for (let ch = 0; ch < c; ch++) {
        const i = r * c + ch;
        const scale = gamma[ch]! * invStd[ch]!;
        // With batch statistics: dx = γ/σ · (dy − mean(dy) − x̂·mean(dy·x̂)).
        dx.data[i] = batchStatistics ? scale * (dyd[i]! - sumDy[ch]! / rows - xhat[i]! * (sumDyXhat[ch]! / rows)) : scale * dyd[i]!;
      }
    }
    return [dx];
  },
};

/** Layer normalisation: each row of the last axis F on its own mean and biased variance, eps 1e-3. */
export const layernormKernel: LayerKernel<NoArgs> = {
  forward([x], p) {
    const f = x!.shape[x!.shape.length - 1]!;
    const rows = x!.data.length / f;
    const xd = x!.data;
    const gamma = p.gamma!.data;
    const beta = p.beta!.data;
    const y = zeros(x!.shape);
    const xhat = new Float64Array(xd.length);
    const invStd = new Float64Array(rows);
    for (let r = 0; r < rows; r++) {
      const o = r * f;
      let mean = 0;
      for (let i = 0; i < f; i++) mean += xd[o + i]!;
      mean /= f;
      let variance = 0;
      for (let i = 0; i < f; i++) {
        const d = xd[o + i]! - mean;
        variance += d * d;
      }
      variance /= f;
      const s = 1 / Math.sqrt(variance + NORM_EPSILON);
      invStd[r] = s;
      for (let i = 0; i < f; i++) {
        const h = (xd[o + i]! - mean) * s;
        xhat[o + i] = h;
        y.data[o + i] = gamma[i]! * h + beta[i]!;
      }
    }
    const cache: NormCache = { xhat, invStd, batchStatistics: true };
    return { y, cache };
  },

  backward(dy, [x], _y, cache, p, g) {
    const { xhat, invStd } = cache as NormCache;
    const f = x!.shape[x!.shape.length - 1]!;
    const rows = x!.data.length / f;
    const gamma = p.gamma!.data;
    const gGamma = g.gamma!.data;
    const gBeta = g.beta!.data;
    const dyd = dy.data;
    const dx: Tensor = zeros(x!.shape);
    for (let r = 0; r < rows; r++) {
      const o = r * f;
      // In terms of d = dy·γ (the gradient of x̂): dx = (d − mean(d) − x̂·mean(d·x̂))/σ.
      let sumD = 0;
      let sumDXhat = 0;
      for (let i = 0; i < f; i++) {
        const d = dyd[o + i]! * gamma[i]!;
        sumD += d;
        sumDXhat += d * xhat[o + i]!;
        gGamma[i] += dyd[o + i]! * xhat[o + i]!;
        gBeta[i] += dyd[o + i]!;
      }
      const s = invStd[r]!;
      for (let i = 0; i < f; i++) {
        const d = dyd[o + i]! * gamma[i]!;
        dx.data[o + i] = s * (d - sumD / f - xhat[o + i]! * (sumDXhat / f));
      }
    }
    return [dx];
  },
};
