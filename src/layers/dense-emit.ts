import type { LayerEmitter } from "../codegen/emit-types.js";
import type { DenseArgs } from "./dense.js";
import { biasGradient, fillRows } from "./bias-emit.js";
import { kernelTProduct } from "./input-gradient-emit.js";

/**
 * y = x·kernel + bias on the last axis, as one matrix product over all rows (batch × leading
 * axes); backward is two more products: dkernel += xᵀ·dy and dx += dy·kernelᵀ. The kernel's
 * gradient is made by one product, so where the module folds plain SGD into the backward pass
 * (EmitContext.foldedStep) that product steps the kernel itself.
 */
export const denseEmit: LayerEmitter<DenseArgs> = {
  forward(a, c) {
    const x = c.inShapes[0]!;
    const f = x[x.length - 1]!;
    const rows = x.slice(0, -1).reduce((p, d) => p * d, 1);
    // With a bias, y starts as the bias in every row and the product accumulates onto it.
    const product = c.matmulCall(a.units, a.bias, f);
    return `
      const m = n${rows === 1 ? "" : ` * ${rows}`};${a.bias ? `\n${fillRows("y", c.offset("bias"), a.units, `m * ${a.units}`)}` : ""}
      // y[m×${a.units}] ${a.bias ? "+" : ""}= x[m×${f}] · kernel[${f}×${a.units}]
      ${product.kernel}(x0, 0, w, ${c.offset("kernel")}, y, 0, m, ${f}, ${a.units}, ${a.bias}${product.args});`;
  },
  backward(a, c) {
    const x = c.inShapes[0]!;
    const f = x[x.length - 1]!;
    const rows = x.slice(0, -1).reduce((p, d) => p * d, 1);
    const k = c.offset("kernel");
    const bias = a.bias ? `\n${biasGradient(c, "dy", c.offset("bias"), a.units, rows)}` : "";
    const dxProduct = c.needsDx(0) ? kernelTProduct(c, "kernelT", k, f, a.units) : undefined;
    const dx = dxProduct
      ? `${dxProduct.prepare}
      // dx[m×${f}] += dy[m×${a.units}] · kernelᵀ
      ${dxProduct.product({ a: "dy", aOffset: "0", out: "dx0", outOffset: "0", rows: "m", accumulate: true })}`
      : "";
    const product = c.matmulTNCall(f, a.units);
    const gradient = `${product.kernel}(x0, 0, dy, 0, g, ${k}, ${f}, m, ${a.units}${product.args});`;
    const fold = c.foldedStep?.("kernel", a.units);
    if (!fold) {
      return `
      const m = n${rows === 1 ? "" : ` * ${rows}`};
      // dkernel[${f}×${a.units}] += xᵀ · dy
      ${gradient}${bias}${dx}`;
    }
    return `
      const m = n${rows === 1 ? "" : ` * ${rows}`};${bias}${dx}
      // dkernel[${f}×${a.units}] += xᵀ · dy; given a rate (plain SGD), the kernel steps by it at once instead (dx above read it last)
      if (rate === undefined) ${gradient}
      else ${fold}(x0, 0, dy, 0, w, ${k}, ${f}, m, ${a.units}, rate);`;
  },
};
