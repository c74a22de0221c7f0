import { BATCHNORM_HELPERS } from "../layers/norm-helpers.js";
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

/**
 * B [K×N] in column strips for the packed-B nn kernels (src/codegen/wasm/matmul.ts, packedB):
 * strips of `strip` columns, each strip's K rows one after another, the last strip's rows
 * rounded up to whole vectors of four (zeros past column N).
 */
const packStrips = `
function packStrips(b: Arr, bo: number, dst: Arr, k: number, n: number, strip: number): void {
  let o = 0;
  for (let s = 0; s < n; s += strip) {
    const cols = Math.min(strip, n - s);
    const width = Math.ceil(cols / 4) * 4;
    for (let p = 0; p < k; p++) {
      const from = bo + p * n + s;
      for (let j = 0; j < cols; j++) dst[o + j] = b[from + j]!;
      for (let j = cols; j < width; j++) dst[o + j] = 0;
      o += width;
    }
  }
}
`;

/** C[M×N] (+)= A[M×K] · B, B packed by packStrips: the packed-B kernels' JS fallback. */
const matmulPacked = `
function matmulPacked(a: Arr, ao: number, b: Arr, bo: number, c: Arr, co: number, m: number, k: number, n: number, accumulate: boolean, strip: number): void {
  for (let s = 0, base = bo; s < n; s += strip) {
    const cols = Math.min(strip, n - s);
    const width = Math.ceil(cols / 4) * 4;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < cols; j++) {
        let sum = 0;
        for (let p = 0; p < k; p++) sum += a[ao + i * k + p]! * b[base + p * width + j]!;
        const at = co + i * n + s + j;
        c[at] = accumulate ? c[at]! + sum : sum;
      }
    }
    base += k * width;
  }
}
`;

export const HELPERS: Readonly<Record<string, string>> = { matmul, matmulTN, matmulNT, matmulPacked, packStrips, expf, ...BATCHNORM_HELPERS };
export type HelperName = keyof typeof HELPERS;
