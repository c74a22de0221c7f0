import { BATCHNORM_MOMENTUM, NORM_EPSILON } from "../layers/norm-kernel.js";
/**
 * Shared kernels a generated module includes when a layer asks for them (`c.helper(name)`).
 * The matmuls use 4×4 register tiles: sixteen accumulators stay in registers while the
 * K loop streams one row of each operand — about 3× a plain triple loop in V8. Inside the K
 * loop each A value is loaded just before its four products and offsets advance by addition:
 * fewer live values for V8's register allocator (6–15% faster than loading all eight first;
 * the sums and their order are unchanged).
 * All matrices are row-major; offsets let layers point into the arenas without copies.
 */
const matmul = `
/** C[M×N] (+)= A[M×K] · B[K×N]. */
function matmul(a: Arr, ao: number, b: Arr, bo: number, c: Arr, co: number, m: number, k: number, n: number, accumulate: boolean): void {
  const m4 = m - (m % 4);
  const n4 = n - (n % 4);
  for (let i = 0; i < m4; i += 4) {
    const a0 = ao + i * k, a1 = a0 + k, a2 = a1 + k, a3 = a2 + k;
    for (let j = 0; j < n4; j += 4) {
      let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
      let c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
      for (let p = 0, bp = bo + j; p < k; p++, bp += n) {
        const b0 = b[bp]!, b1 = b[bp + 1]!, b2 = b[bp + 2]!, b3 = b[bp + 3]!;
        const x0 = a[a0 + p]!;
        c00 += x0 * b0; c01 += x0 * b1; c02 += x0 * b2; c03 += x0 * b3;
        const x1 = a[a1 + p]!;
        c10 += x1 * b0; c11 += x1 * b1; c12 += x1 * b2; c13 += x1 * b3;
        const x2 = a[a2 + p]!;
        c20 += x2 * b0; c21 += x2 * b1; c22 += x2 * b2; c23 += x2 * b3;
        const x3 = a[a3 + p]!;
        c30 += x3 * b0; c31 += x3 * b1; c32 += x3 * b2; c33 += x3 * b3;
      }
      const r0 = co + i * n + j, r1 = r0 + n, r2 = r1 + n, r3 = r2 + n;
      if (accumulate) {
        c[r0] += c00; c[r0 + 1] += c01; c[r0 + 2] += c02; c[r0 + 3] += c03;
        c[r1] += c10; c[r1 + 1] += c11; c[r1 + 2] += c12; c[r1 + 3] += c13;
        c[r2] += c20; c[r2 + 1] += c21; c[r2 + 2] += c22; c[r2 + 3] += c23;
        c[r3] += c30; c[r3 + 1] += c31; c[r3 + 2] += c32; c[r3 + 3] += c33;
      } else {
        c[r0] = c00; c[r0 + 1] = c01; c[r0 + 2] = c02; c[r0 + 3] = c03;
        c[r1] = c10; c[r1 + 1] = c11; c[r1 + 2] = c12; c[r1 + 3] = c13;
        c[r2] = c20; c[r2 + 1] = c21; c[r2 + 2] = c22; c[r2 + 3] = c23;
        c[r3] = c30; c[r3 + 1] = c31; c[r3 + 2] = c32; c[r3 + 3] = c33;
      }
    }
    for (let j = n4; j < n; j++) {
      // a column left over: a 4×1 tile, one B load per four products
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let p = 0, bp = bo + j; p < k; p++, bp += n) {
        const y = b[bp]!;
        s0 += a[a0 + p]! * y; s1 += a[a1 + p]! * y; s2 += a[a2 + p]! * y; s3 += a[a3 + p]! * y;
      }
      const r0 = co + i * n + j, r1 = r0 + n, r2 = r1 + n, r3 = r2 + n;
      if (accumulate) { c[r0] += s0; c[r1] += s1; c[r2] += s2; c[r3] += s3; }
      else { c[r0] = s0; c[r1] = s1; c[r2] = s2; c[r3] = s3; }
    }
  }
  for (let i = m4; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += a[ao + i * k + p]! * b[bo + p * n + j]!;
      c[co + i * n + j] = accumulate ? c[co + i * n + j]! + s : s;
    }
  }
}
`;

const matmulTN = `
/** C[M×N] += Aᵀ · B with A stored [K×M] and B [K×N] (a weight gradient: xᵀ · dy). */
function matmulTN(a: Arr, ao: number, b: Arr, bo: number, c: Arr, co: number, m: number, k: number, n: number): void {
  const m4 = m - (m % 4);
  const n4 = n - (n % 4);
  for (let i = 0; i < m4; i += 4) {
    for (let j = 0; j < n4; j += 4) {
      let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
      let c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
      for (let p = 0, ap = ao + i, bp = bo + j; p < k; p++, ap += m, bp += n) {
        const b0 = b[bp]!, b1 = b[bp + 1]!, b2 = b[bp + 2]!, b3 = b[bp + 3]!;
        const x0 = a[ap]!;
        c00 += x0 * b0; c01 += x0 * b1; c02 += x0 * b2; c03 += x0 * b3;
        const x1 = a[ap + 1]!;
        c10 += x1 * b0; c11 += x1 * b1; c12 += x1 * b2; c13 += x1 * b3;
        const x2 = a[ap + 2]!;
        c20 += x2 * b0; c21 += x2 * b1; c22 += x2 * b2; c23 += x2 * b3;
        const x3 = a[ap + 3]!;
        c30 += x3 * b0; c31 += x3 * b1; c32 += x3 * b2; c33 += x3 * b3;
      }
      const r0 = co + i * n + j, r1 = r0 + n, r2 = r1 + n, r3 = r2 + n;
      c[r0] += c00; c[r0 + 1] += c01; c[r0 + 2] += c02; c[r0 + 3] += c03;
      c[r1] += c10; c[r1 + 1] += c11; c[r1 + 2] += c12; c[r1 + 3] += c13;
      c[r2] += c20; c[r2 + 1] += c21; c[r2 + 2] += c22; c[r2 + 3] += c23;
      c[r3] += c30; c[r3 + 1] += c31; c[r3 + 2] += c32; c[r3 + 3] += c33;
    }
    for (let j = n4; j < n; j++) {
      // a column left over: a 4×1 tile
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let p = 0, ap = ao + i, bp = bo + j; p < k; p++, ap += m, bp += n) {
        const y = b[bp]!;
        s0 += a[ap]! * y; s1 += a[ap + 1]! * y; s2 += a[ap + 2]! * y; s3 += a[ap + 3]! * y;
      }
      const r0 = co + i * n + j;
      c[r0] += s0; c[r0 + n] += s1; c[r0 + 2 * n] += s2; c[r0 + 3 * n] += s3;
    }
  }
  for (let i = m4; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += a[ao + p * m + i]! * b[bo + p * n + j]!;
      c[co + i * n + j] += s;
    }
  }
}
`;

const matmulNT = `
/** C[M×N] += A · Bᵀ with A [M×K] and B stored [N×K] (an input gradient: dy · Wᵀ). */
function matmulNT(a: Arr, ao: number, b: Arr, bo: number, c: Arr, co: number, m: number, k: number, n: number): void {
  const m4 = m - (m % 4);
  const n4 = n - (n % 4);
  for (let i = 0; i < m4; i += 4) {
    const a0 = ao + i * k, a1 = a0 + k, a2 = a1 + k, a3 = a2 + k;
    for (let j = 0; j < n4; j += 4) {
      const b0 = bo + j * k, b1 = b0 + k, b2 = b1 + k, b3 = b2 + k;
      let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
      let c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
      for (let p = 0; p < k; p++) {
        const y0 = b[b0 + p]!, y1 = b[b1 + p]!, y2 = b[b2 + p]!, y3 = b[b3 + p]!;
        const x0 = a[a0 + p]!;
        c00 += x0 * y0; c01 += x0 * y1; c02 += x0 * y2; c03 += x0 * y3;
        const x1 = a[a1 + p]!;
        c10 += x1 * y0; c11 += x1 * y1; c12 += x1 * y2; c13 += x1 * y3;
        const x2 = a[a2 + p]!;
        c20 += x2 * y0; c21 += x2 * y1; c22 += x2 * y2; c23 += x2 * y3;
        const x3 = a[a3 + p]!;
        c30 += x3 * y0; c31 += x3 * y1; c32 += x3 * y2; c33 += x3 * y3;
      }
      const r0 = co + i * n + j, r1 = r0 + n, r2 = r1 + n, r3 = r2 + n;
      c[r0] += c00; c[r0 + 1] += c01; c[r0 + 2] += c02; c[r0 + 3] += c03;
      c[r1] += c10; c[r1 + 1] += c11; c[r1 + 2] += c12; c[r1 + 3] += c13;
      c[r2] += c20; c[r2 + 1] += c21; c[r2 + 2] += c22; c[r2 + 3] += c23;
      c[r3] += c30; c[r3 + 1] += c31; c[r3 + 2] += c32; c[r3 + 3] += c33;
    }
    for (let j = n4; j < n; j++) {
      // a column left over: a 4×1 tile
      const bj = bo + j * k;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let p = 0; p < k; p++) {
        const y = b[bj + p]!;
        s0 += a[a0 + p]! * y; s1 += a[a1 + p]! * y; s2 += a[a2 + p]! * y; s3 += a[a3 + p]! * y;
      }
      const r0 = co + i * n + j;
      c[r0] += s0; c[r0 + n] += s1; c[r0 + 2 * n] += s2; c[r0 + 3 * n] += s3;
    }
  }
  for (let i = m4; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += a[ao + i * k + p]! * b[bo + j * k + p]!;
      c[co + i * n + j] += s;
    }
  }
}
`;

const expf = `
/** 2^i for i in −127…127, for expf. */
const EXPF_POW2 = Float64Array.from({ length: 255 }, (_, i) => 2 ** (i - 127));

/**
 * e^v to float32 accuracy (relative error < 2e-7), faster than Math.exp in V8: v = k·ln2 + r
 * with |r| ≤ ln2/2, e^r by its degree-6 Taylor polynomial, 2^k from a table.
 */
function expf(v: number): number {
  const u = v > 87 ? 87 : v < -87 ? -87 : v;
  const k = Math.floor(u * ${Math.LOG2E} + 0.5);
  const r = u - k * ${Math.LN2};
  return EXPF_POW2[k + 127]! * (1 + r * (1 + r * (0.5 + r * (${1 / 6} + r * (${1 / 24} + r * (${1 / 120} + r * ${1 / 720}))))));
}
`;

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

export const HELPERS: Readonly<Record<string, string>> = { matmul, matmulTN, matmulNT, expf, batchnormForward, batchnormBackward, batchnormShards };
export type HelperName = keyof typeof HELPERS;
