import { BATCHNORM_MOMENTUM, NORM_EPSILON } from "./norm-kernel.js";

/**
 * batchnorm's shared helpers for generated modules (norm-emit.ts asks for them by name through
 * EmitContext.helper; src/codegen/helpers.ts lists them with the others): one copy per module,
 * since ResNet-sized networks have dozens of batchnorms. `Arr` is the module's array type.
 */
const batchnormForward = `
/**
 * batchnorm forward over rows × C (the last axis), as src/layers/norm-kernel.ts. With batch
 * statistics: per-channel mean and biased variance of the rows, the running statistics updated
 * (${BATCHNORM_MOMENTUM}·running + ${(1 - BATCHNORM_MOMENTUM).toFixed(2)}·batch); otherwise the running statistics, left alone. x̂ is kept
 * for backward, and batchStats[0] records which statistics were used.
 */
function batchnormForward(x: Arr, y: Arr, w: Arr, gamma: number, beta: number, movingMean: number, movingVariance: number, rows: number, width: number, useBatch: boolean, mean: Float64Array, variance: Float64Array, invStd: Float64Array, xhat: Arr, batchStats: Int32Array): void {
  batchStats[0] = useBatch ? 1 : 0;
  if (useBatch) {
    mean.fill(0, 0, width);
    variance.fill(0, 0, width);
    for (let r = 0; r < rows; r++) {
      const o = r * width;
      for (let ch = 0; ch < width; ch++) mean[ch] += x[o + ch]!;
    }
    for (let ch = 0; ch < width; ch++) mean[ch] /= rows;
    for (let r = 0; r < rows; r++) {
      const o = r * width;
      for (let ch = 0; ch < width; ch++) {
        const d = x[o + ch]! - mean[ch]!;
        variance[ch] += d * d;
      }
    }
    for (let ch = 0; ch < width; ch++) {
      variance[ch] /= rows;
      invStd[ch] = 1 / Math.sqrt(variance[ch]! + ${NORM_EPSILON});
      w[movingMean + ch] = ${BATCHNORM_MOMENTUM} * w[movingMean + ch]! + ${1 - BATCHNORM_MOMENTUM} * mean[ch]!;
      w[movingVariance + ch] = ${BATCHNORM_MOMENTUM} * w[movingVariance + ch]! + ${1 - BATCHNORM_MOMENTUM} * variance[ch]!;
    }
  } else {
    for (let ch = 0; ch < width; ch++) {
      mean[ch] = w[movingMean + ch]!;
      invStd[ch] = 1 / Math.sqrt(w[movingVariance + ch]! + ${NORM_EPSILON});
    }
  }
  batchnormNormalize(x, y, w, gamma, beta, rows, width, mean, invStd, xhat);
}

/** x̂ = (x − mean)·invStd, kept for backward, and y = γ·x̂ + β, per channel of the last axis. */
function batchnormNormalize(x: Arr, y: Arr, w: Arr, gamma: number, beta: number, rows: number, width: number, mean: Float64Array, invStd: Float64Array, xhat: Arr): void {
  for (let r = 0; r < rows; r++) {
    const o = r * width;
    for (let ch = 0; ch < width; ch++) {
      const h = (x[o + ch]! - mean[ch]!) * invStd[ch]!;
      xhat[o + ch] = h;
      y[o + ch] = w[gamma + ch]! * h + w[beta + ch]!;
    }
  }
}
`;

const batchnormBackward = `
/**
 * batchnorm backward: γ and β gradients from Σdy·x̂ and Σdy; dx (when given) gets
 * γ/σ·(dy − mean(dy) − x̂·mean(dy·x̂)) after batch statistics, γ/σ·dy after running ones.
 */
function batchnormBackward(dy: Arr, dx: Arr | null, w: Arr, g: Arr, gamma: number, beta: number, rows: number, width: number, invStd: Float64Array, xhat: Arr, batchStats: Int32Array, sumDy: Float64Array, sumDyXhat: Float64Array): void {
  sumDy.fill(0, 0, width);
  sumDyXhat.fill(0, 0, width);
  for (let r = 0; r < rows; r++) {
    const o = r * width;
    for (let ch = 0; ch < width; ch++) {
      const d = dy[o + ch]!;
      sumDy[ch] += d;
      sumDyXhat[ch] += d * xhat[o + ch]!;
    }
  }
  for (let ch = 0; ch < width; ch++) {
    g[gamma + ch] += sumDyXhat[ch]!;
    g[beta + ch] += sumDy[ch]!;
  }
  if (!dx) return;
  if (batchStats[0] === 1) {
    for (let r = 0; r < rows; r++) {
      const o = r * width;
      for (let ch = 0; ch < width; ch++) {
        const i = o + ch;
        dx[i] += w[gamma + ch]! * invStd[ch]! * (dy[i]! - sumDy[ch]! / rows - xhat[i]! * (sumDyXhat[ch]! / rows));
      }
    }
  } else {
    for (let r = 0; r < rows; r++) {
      const o = r * width;
      for (let ch = 0; ch < width; ch++) dx[o + ch] += w[gamma + ch]! * invStd[ch]! * dy[o + ch]!;
    }
  }
}
`;

/**
 * batchnorm in a threaded build's training pass (with batchnormForward, whose batchnormNormalize
 * it shares), where a batch is split into shards: the batch
 * statistics are sums over every shard's rows. Each step writes this shard's partial sums into
 * its row of a table that every shard reads (`part`: shards × width); the generated code
 * `yield`s between the steps, and the threads meet there before going on (runtime/threads.ts).
 * Shards are summed in shard order, skipping empty ones, so any thread count gives the same.
 * A model that is not a shard has shardCount 1 and its own rows as the batch.
 */
const batchnormShards = `
/** Which shards of a batch of n samples split count ways hold rows (the others skip every step). */
function shardHasRows(k: number, count: number, n: number): boolean {
  return Math.floor(((k + 1) * n) / count) > Math.floor((k * n) / count);
}

/** Σ over shards (in order, empty ones skipped) of part[k·width + ch], into out. */
function sumShards(part: Arr, out: Float64Array, width: number, count: number, n: number): void {
  out.fill(0, 0, width);
  for (let k = 0; k < count; k++) {
    if (!shardHasRows(k, count, n)) continue;
    for (let ch = 0; ch < width; ch++) out[ch] += part[k * width + ch]!;
  }
}

/** Step 1 of batch statistics: this shard's per-channel sums of x (summed in float64 in acc). */
function batchnormShardSums(x: Arr, rows: number, width: number, part: Arr, shard: number, acc: Float64Array): void {
  acc.fill(0, 0, width);
  for (let r = 0; r < rows; r++) for (let ch = 0; ch < width; ch++) acc[ch] += x[r * width + ch]!;
  for (let ch = 0; ch < width; ch++) part[shard * width + ch] = acc[ch]!;
}

/** Step 2: the batch mean (every shard's sums), then this shard's sums of (x − mean)² (in acc). */
function batchnormShardCentered(x: Arr, rows: number, width: number, sums: Arr, squares: Arr, mean: Float64Array, shard: number, count: number, n: number, batchRows: number, acc: Float64Array): void {
  sumShards(sums, mean, width, count, n);
  for (let ch = 0; ch < width; ch++) mean[ch] /= batchRows;
  acc.fill(0, 0, width);
  for (let r = 0; r < rows; r++) {
    for (let ch = 0; ch < width; ch++) {
      const d = x[r * width + ch]! - mean[ch]!;
      acc[ch] += d * d;
    }
  }
  for (let ch = 0; ch < width; ch++) squares[shard * width + ch] = acc[ch]!;
}

/** Step 3: the batch variance, the running statistics (by the first shard with rows), x̂ and y. */
function batchnormShardFinish(x: Arr, y: Arr, w: Arr, gamma: number, beta: number, movingMean: number, movingVariance: number, rows: number, width: number, squares: Arr, mean: Float64Array, variance: Float64Array, invStd: Float64Array, xhat: Arr, batchStats: Int32Array, shard: number, count: number, n: number, batchRows: number): void {
  batchStats[0] = 1;
  sumShards(squares, variance, width, count, n);
  let first = 0;
  while (!shardHasRows(first, count, n)) first++;
  for (let ch = 0; ch < width; ch++) {
    variance[ch] /= batchRows;
    invStd[ch] = 1 / Math.sqrt(variance[ch]! + ${NORM_EPSILON});
    if (shard === first) {
      w[movingMean + ch] = ${BATCHNORM_MOMENTUM} * w[movingMean + ch]! + ${1 - BATCHNORM_MOMENTUM} * mean[ch]!;
      w[movingVariance + ch] = ${BATCHNORM_MOMENTUM} * w[movingVariance + ch]! + ${1 - BATCHNORM_MOMENTUM} * variance[ch]!;
    }
  }
  batchnormNormalize(x, y, w, gamma, beta, rows, width, mean, invStd, xhat);
}

/**
 * Backward step 1: this shard's Σdy and Σdy·x̂ (summed in float64 in sumDy and sumDyXhat): its
 * part of the γ/β gradients, and its row of part (2·width).
 */
function batchnormShardGradSums(dy: Arr, g: Arr, gamma: number, beta: number, rows: number, width: number, xhat: Arr, part: Arr, shard: number, sumDy: Float64Array, sumDyXhat: Float64Array): void {
  sumDy.fill(0, 0, width);
  sumDyXhat.fill(0, 0, width);
  for (let r = 0; r < rows; r++) {
    for (let ch = 0; ch < width; ch++) {
      const d = dy[r * width + ch]!;
      sumDy[ch] += d;
      sumDyXhat[ch] += d * xhat[r * width + ch]!;
    }
  }
  const o = shard * 2 * width;
  for (let ch = 0; ch < width; ch++) {
    part[o + ch] = sumDy[ch]!;
    part[o + width + ch] = sumDyXhat[ch]!;
    g[gamma + ch] += sumDyXhat[ch]!;
    g[beta + ch] += sumDy[ch]!;
  }
}

/** Backward step 2: dx from the whole batch's Σdy and Σdy·x̂. */
function batchnormShardDx(dy: Arr, dx: Arr, w: Arr, gamma: number, rows: number, width: number, invStd: Float64Array, xhat: Arr, part: Arr, sumDy: Float64Array, sumDyXhat: Float64Array, count: number, n: number, batchRows: number): void {
  sumDy.fill(0, 0, width);
  sumDyXhat.fill(0, 0, width);
  for (let k = 0; k < count; k++) {
    if (!shardHasRows(k, count, n)) continue;
    for (let ch = 0; ch < width; ch++) {
      sumDy[ch] += part[k * 2 * width + ch]!;
      sumDyXhat[ch] += part[k * 2 * width + width + ch]!;
    }
  }
  for (let r = 0; r < rows; r++) {
    const o = r * width;
    for (let ch = 0; ch < width; ch++) {
      const i = o + ch;
      dx[i] += w[gamma + ch]! * invStd[ch]! * (dy[i]! - sumDy[ch]! / batchRows - xhat[i]! * (sumDyXhat[ch]! / batchRows));
    }
  }
}
`;

export const BATCHNORM_HELPERS = { batchnormForward, batchnormBackward, batchnormShards } as const;
