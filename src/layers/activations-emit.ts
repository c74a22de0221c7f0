import type { EmitContext, LayerEmitter } from "../codegen/emit-types.js";
import type { ActivationFn } from "../codegen/wasm/activations.js";
import type { ActivationArgs } from "./activations.js";

function size(c: EmitContext): number {
  return c.outShape.reduce((p, d) => p * d, 1);
}

/**
 * An element-wise activation: `y = f(x)` and `dx += dy · f'(x, y)`. With `simd`, an f32 module
 * with wasm kernels runs both on the module's SIMD kernels for it (src/codegen/wasm/activations.ts),
 * these JS formulas being their fallback.
 */
function elementwise(forward: (x: string, a: ActivationArgs, c: EmitContext) => string, derivative: (x: string, y: string, a: ActivationArgs) => string, simd?: ActivationFn): LayerEmitter<ActivationArgs> {
  return {
    forward: (a, c) => {
      const js = `(x, xo, y, yo, count) => {
      for (let i = 0; i < count; i++) {
        const v = x[xo + i]!;
        y[yo + i] = ${forward("v", a, c)};
      }
    }`;
      const kernel = simd && c.precision === "f32" ? c.activationKernel?.(`${simd}Forward`, js) : undefined;
      if (kernel) return `
      // y = ${simd}(x), four at a time
      ${kernel}(x0, 0, y, 0, n * ${size(c)});`;
      return `
      for (let i = 0; i < n * ${size(c)}; i++) {
        const v = x0[i];
        y[i] = ${forward("v", a, c)};
      }`;
    },
    backward: (a, c) => {
      if (!c.needsDx(0)) return "";
      // relu's derivative reads x, the others' read y: the kernel takes the one it needs as \`a\`
      const js = `(a, ao, dy, dyo, dx, dxo, count) => {
      for (let i = 0; i < count; i++) {
        const v = a[ao + i]!;
        dx[dxo + i] += dy[dyo + i]! * (${derivative("v", "v", a)});
      }
    }`;
      const kernel = simd && c.precision === "f32" ? c.activationKernel?.(`${simd}Backward`, js) : undefined;
      if (kernel) return `
      // dx += dy · ${simd}′, four at a time
      ${kernel}(${simd === "relu" ? "x0" : "y"}, 0, dy, 0, dx0, 0, n * ${size(c)});`;
      return `
      for (let i = 0; i < n * ${size(c)}; i++) {
        const v = x0[i];
        const o = y[i];
        dx0[i] += dy[i] * (${derivative("v", "o", a)});
      }`;
    },
  };
}

export const reluEmit = elementwise((x) => `${x} > 0 ? ${x} : 0`, (x) => `${x} > 0 ? 1 : 0`, "relu");
export const leakyreluEmit = elementwise(
  (x, a) => `${x} > 0 ? ${x} : ${num(a.alpha ?? 0.01)} * ${x}`,
  (x, _y, a) => `${x} > 0 ? 1 : ${num(a.alpha ?? 0.01)}`,
);
/** e^x: in f32 the module's expf (a table and a polynomial, float32-accurate, faster than Math.exp). */
const exp = (x: string, c: EmitContext): string => (c.precision === "f32" ? `${c.helper("expf")}(${x})` : `Math.exp(${x})`);

export const sigmoidEmit = elementwise((x, _a, c) => `1 / (1 + ${exp(`-${x}`, c)})`, (_x, y) => `${y} * (1 - ${y})`, "sigmoid");
/**
 * In f32, tanh(x) = 1 − 2/(e^{2x} + 1) with the module's expf: faster than Math.tanh in V8, and
 * exactly ±1 where e^{2x} saturates (expf clamps its argument to ±87), so it needs no guard.
 * f64 keeps Math.tanh: the formula's cancellation near 0 loses relative precision (1e-6
 * relative at x = 1e-10) that f64 code is for.
 */
export const tanhEmit = elementwise(
  (x, _a, c) => (c.precision === "f32" ? `1 - 2 / (${exp(`2 * ${x}`, c)} + 1)` : `Math.tanh(${x})`),
  (_x, y) => `1 - ${y} * ${y}`,
  "tanh",
);
export const linearEmit = elementwise((x) => x, () => "1");

/** Softmax over the last axis, stable (the row maximum is subtracted first); f32 exponentiates with expf. */
export const softmaxEmit: LayerEmitter<ActivationArgs> = {
  forward(_a, c) {
    const width = c.outShape[c.outShape.length - 1]!;
    const rows = size(c) / width;
    return `
      for (let r = 0; r < n * ${rows}; r++) {
        const o = r * ${width};
        let max = -Infinity;
        for (let j = 0; j < ${width}; j++) if (x0[o + j] > max) max = x0[o + j];
        let sum = 0;
        for (let j = 0; j < ${width}; j++) {
          const e = ${exp("x0[o + j] - max", c)};
          y[o + j] = e;
          sum += e;
        }
        for (let j = 0; j < ${width}; j++) y[o + j] /= sum;
      }`;
  },
  backward(_a, c) {
    if (!c.needsDx(0)) return "";
    const width = c.outShape[c.outShape.length - 1]!;
    const rows = size(c) / width;
    return `
      for (let r = 0; r < n * ${rows}; r++) {
        const o = r * ${width};
        let dot = 0;
        for (let j = 0; j < ${width}; j++) dot += dy[o + j] * y[o + j];
        for (let j = 0; j < ${width}; j++) dx0[o + j] += y[o + j] * (dy[o + j] - dot);
      }`;
  },
};

/** A number as a JavaScript literal that reads back exactly. */
export function num(x: number): string {
  return Number.isInteger(x) ? `${x}` : `${x}`;
}
