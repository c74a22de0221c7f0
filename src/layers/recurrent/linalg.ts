/**
 * The matrix products the recurrent and attention kernels need, on row-major blocks inside
 * larger Float64Arrays (an offset says where each block starts). Every product ADDS into `out`.
 */

/** out[m×p] += a[m×n] · b[n×p]. */
export function mulAdd(out: Float64Array, outOff: number, a: Float64Array, aOff: number, b: Float64Array, m: number, n: number, p: number, bOff = 0): void {
  for (let i = 0; i < m; i++) {
    const ao = aOff + i * n;
    const oo = outOff + i * p;
    for (let k = 0; k < n; k++) {
      const av = a[ao + k]!;
      if (av === 0) continue;
      const bo = bOff + k * p;
      for (let j = 0; j < p; j++) out[oo + j] += av * b[bo + j]!;
    }
  }
}

/** out[m×n] += a[m×p] · bᵀ, where b is [n×p]: gradients through a kernel. */
export function mulTransAdd(out: Float64Array, outOff: number, a: Float64Array, aOff: number, b: Float64Array, m: number, p: number, n: number, bOff = 0): void {
  for (let i = 0; i < m; i++) {
    const ao = aOff + i * p;
    const oo = outOff + i * n;
    for (let k = 0; k < n; k++) {
      const bo = bOff + k * p;
      let s = 0;
      for (let j = 0; j < p; j++) s += a[ao + j]! * b[bo + j]!;
      out[oo + k] += s;
    }
  }
}

/** out[n×p] += a[m×n]ᵀ · c[m×p]: a kernel's gradient from its inputs and output gradients. */
export function transMulAdd(out: Float64Array, a: Float64Array, aOff: number, c: Float64Array, cOff: number, m: number, n: number, p: number, outOff = 0): void {
  for (let r = 0; r < m; r++) {
    const ao = aOff + r * n;
    const co = cOff + r * p;
    for (let i = 0; i < n; i++) {
      const av = a[ao + i]!;
      if (av === 0) continue;
      const oo = outOff + i * p;
      for (let j = 0; j < p; j++) out[oo + j] += av * c[co + j]!;
    }
  }
}

/** Adds each row of a[m×p] into out[p] (bias gradients). */
export function sumRowsAdd(out: Float64Array, outOff: number, a: Float64Array, aOff: number, m: number, p: number): void {
  for (let r = 0; r < m; r++) {
    const ao = aOff + r * p;
    for (let j = 0; j < p; j++) out[outOff + j] += a[ao + j]!;
  }
}
