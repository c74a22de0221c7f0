import type { EmitContext } from "../codegen/emit-types.js";

/**
 * Below this many columns of the kernel (units, filters), dy·kernelᵀ runs on SIMD kernels as a
 * transpose of the kernel into scratch and an nn product, not as an nt one: nt takes dot products
 * along K, and a short K leaves most of each vector's lanes and of its reductions idle (measured
 * here: K = 10, 38 against 19 GFLOP/s; K = 16, 36 against 30; from K ≈ 84 the two are within
 * 10% and the transpose no longer pays for itself).
 */
export const SHORT_KERNEL_K = 32;

/** Where the product's operands are: expressions of the generated code. */
export interface KernelTProduct {
  /** dy and its element offset. */
  readonly a: string;
  readonly aOffset: string;
  /** The result and its element offset. */
  readonly out: string;
  readonly outOffset: string;
  /** Rows of dy and of the result. */
  readonly rows: string;
  /** Add onto the result (a layer's dx, which holds other consumers' sums) or overwrite it. */
  readonly accumulate: boolean;
}

/**
 * A layer's input gradient dy·kernelᵀ, the kernel [n×k] at `kernel` in `w` (n: the input's
 * width, k: units or filters). `prepare` goes once before the products (the transpose, where
 * there is one: it reads the weights, so it goes where the products would first read them);
 * `product` writes one product.
 */
export function kernelTProduct(c: EmitContext, name: string, kernel: number, n: number, k: number): { prepare: string; product(p: KernelTProduct): string } {
  if (c.simdKernels && k < SHORT_KERNEL_K) {
    const t = c.scratch(name, n * k);
    const matmul = (accumulate: boolean): string => c.helper("matmul", n, accumulate);
    return {
      prepare: `
        // ${t}[${k}×${n}] = kernelᵀ, for an nn product (a short K of ${k} wastes the nt kernel's lanes)
        for (let i = 0; i < ${n}; i++) for (let j = 0; j < ${k}; j++) ${t}[j * ${n} + i] = w[${kernel} + i * ${k} + j];`,
      product: (p) => `${matmul(p.accumulate)}(${p.a}, ${p.aOffset}, ${t}, 0, ${p.out}, ${p.outOffset}, ${p.rows}, ${k}, ${n}, ${p.accumulate});`,
    };
  }
  const matmulNT = c.helper("matmulNT", n);
  return {
    prepare: "",
    product: (p) =>
      `${p.accumulate ? "" : `${p.out}.fill(0, ${p.outOffset}, ${p.outOffset} + (${p.rows}) * ${n});\n        `}${matmulNT}(${p.a}, ${p.aOffset}, w, ${kernel}, ${p.out}, ${p.outOffset}, ${p.rows}, ${k}, ${n});`,
  };
}
