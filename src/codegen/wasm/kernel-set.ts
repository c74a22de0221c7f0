import { ARENA_SOURCE } from "./arena-source.js";
import { base64, WASM_DECODE_SOURCE } from "./embed.js";
import { ModuleBuilder } from "./encoder.js";
import { buildMatmul, kernelName, type MatmulSpec, type MatmulVariant } from "./matmul.js";
import { buildOptimizer, type OptimizerKernel } from "./optimizer.js";
import { buildActivation, type ActivationKernel } from "./activations.js";
import { buildCellKernel, cellKernelName, type CellKernel } from "./cells.js";
import { buildConvWalk, convWalkName, type ConvWalkSpec } from "./im2col.js";

const OPTIMIZERS: readonly OptimizerKernel[] = ["sgd", "sgdMomentum", "adam"];

/** The JS helpers (src/codegen/helpers.ts) a kernel stands in for. */
export type MatmulHelper = "matmul" | "matmulTN" | "matmulNT";

const VARIANT: Readonly<Record<MatmulHelper, MatmulVariant>> = { matmul: "nn", matmulTN: "tn", matmulNT: "nt" };

/**
 * The f32x4 SIMD kernels one generated module uses, collected while its layers are emitted.
 *
 * Layers call a matmul as they would the JS helper — `kern.NAME(a, ao, b, bo, c, co, m, k, …)`
 * with typed arrays and element offsets — and the module binds `kern` to the model's kernel
 * table: wrappers that turn (array, offset) into byte addresses in the model's WebAssembly
 * memory (every arena of an f32 model is a view of it), or, where WebAssembly SIMD is missing,
 * the JS helpers themselves. N and `accumulate` are fixed per kernel; M and K are passed at each
 * call (the batch size varies, and V8 runs a loop bound from a local as fast as a constant).
 */
export class KernelSet {
  /** `fma`: also build the module with its matmuls on f32x4.relaxed_madd (KERNEL_WASM_FMA). */
  constructor(private readonly fma = false) {}

  private readonly kernels = new Map<string, { helper: MatmulHelper; spec: MatmulSpec }>();
  private readonly cells = new Map<string, { kind: CellKernel; units: number; js: string }>();
  private readonly activations = new Map<ActivationKernel, string>();
  private readonly walks = new Map<string, { spec: ConvWalkSpec; js: string }>();

  /**
   * The table entry for this helper call shape (registered once). `step` (matmulTN only): the
   * entry applies a plain SGD step to C instead of storing the product, `C −= rate·AᵀB`, called
   * with `rate` after the helper's arguments.
   */
  request(helper: MatmulHelper, n: number, accumulate: boolean, step = false): string {
    if (step && helper !== "matmulTN") throw new Error(`internal: a step kernel is a matmulTN, not ${helper}`);
    const spec: MatmulSpec = step ? { variant: "tn", m: "dynamic", k: "dynamic", n, accumulate: false, step } : { variant: VARIANT[helper], m: "dynamic", k: "dynamic", n, accumulate };
    const name = kernelName(spec);
    if (!this.kernels.has(name)) this.kernels.set(name, { helper, spec });
    return name;
  }

  /**
   * The table entry for a recurrent cell's elementwise step over all rows (cells.ts), for H
   * units. `js` is the JS fallback: a function expression taking the table entry's arguments
   * (CELL_SIGNATURES) with the same semantics, from the layer's own generated code.
   */
  requestCell(kind: CellKernel, units: number, js: string): string {
    const name = cellKernelName(kind, units);
    if (!this.cells.has(name)) this.cells.set(name, { kind, units, js });
    return name;
  }

  /**
   * The table entry for an activation over a contiguous run (activations.ts): forward
   * `(x, xo, y, yo, count)`, backward `(a, ao, dy, dyo, dx, dxo, count)`. `js` is the JS fallback,
   * a function expression of those arguments (the wasm entry also runs it on the last count mod
   * 4 elements).
   */
  requestActivation(kernel: ActivationKernel, js: string): string {
    if (!this.activations.has(kernel)) this.activations.set(kernel, js);
    return kernel;
  }

  /**
   * The table entry for a conv's im2col or col2im walk over output rows t0 … t1 − 1 (im2col.ts),
   * called as `(x, col, co, t0, t1)`: x is x0 (or dx0 for col2im) from its start, col's rows
   * start at element co. `js` is the JS fallback, a function expression of those arguments.
   */
  requestConvWalk(spec: ConvWalkSpec, js: string): string {
    const name = convWalkName(spec);
    if (!this.walks.has(name)) this.walks.set(name, { spec, js });
    return name;
  }

  get size(): number {
    return this.kernels.size + this.cells.size + this.activations.size + this.walks.size;
  }

  /** The helper functions the JS fallback needs. */
  helpers(): MatmulHelper[] {
    return [...new Set([...this.kernels.values()].map((k) => k.helper))];
  }

  /** The module-level code: the embedded bytes, their one-time compilation and the two kernel tables. */
  code(shared = false): string {
    const entries = [...this.kernels].sort(([a], [b]) => a.localeCompare(b));
    const cells = [...this.cells].sort(([a], [b]) => a.localeCompare(b));
    const activations = [...this.activations].sort(([a], [b]) => a.localeCompare(b));
    const walks = [...this.walks].sort(([a], [b]) => a.localeCompare(b));
    /** The module's bytes; `fma`: its matmuls multiply-add with f32x4.relaxed_madd. */
    const build = (fma: boolean): Uint8Array => {
      // A shared memory is declared with a maximum (the spec requires one): 2 GiB, the Arena's limit.
      const mod = new ModuleBuilder().importMemory(shared ? { min: 1, max: 32768, shared: true } : { min: 1 });
      for (const [name, k] of entries) mod.addFunction(name, buildMatmul(fma ? { ...k.spec, fma } : k.spec));
      for (const name of OPTIMIZERS) mod.addFunction(name, buildOptimizer(name));
      for (const [name, k] of cells) mod.addFunction(name, buildCellKernel(k.kind, k.units));
      for (const [name] of activations) mod.addFunction(name, buildActivation(name));
      for (const [name, k] of walks) mod.addFunction(name, buildConvWalk(k.spec));
      return mod.toBytes();
    };
    const bytes = build(false);
    const fmaBytes = this.fma ? build(true) : undefined;
    const cellTypes = cells.map(([name, k]) => ` & { readonly ${name}: ${CELL_SIGNATURES[k.kind]} }`).join("");
    const js: string[] = entries.map(([name, k]) => {
      if (k.spec.step) return `    ${name}: (a, ao, b, bo, c, co, m, k, _n, rate) => stepByProduct(a, ao, b, bo, c, co, m, k, ${k.spec.n}, rate),`;
      const tail = k.helper === "matmul" ? `, ${k.spec.n}, ${k.spec.accumulate}` : `, ${k.spec.n}`;
      return `    ${name}: (a, ao, b, bo, c, co, m, k) => ${k.helper}(a, ao, b, bo, c, co, m, k${tail}),`;
    });
    const wasm: string[] = entries.map(([name, k]) => {
      return `    ${name}: ${k.spec.step ? "bindStep" : "bindKernel"}(exports, ${JSON.stringify(name)}),`;
    });
    const steps = entries.filter(([, k]) => k.spec.step);
    for (const [name, k] of cells) {
      js.push(`    ${name}: ${k.js},`);
      wasm.push(`    ${name}: ${CELL_BINDINGS[k.kind](name)},`);
    }
    for (const [name, fallback] of activations) {
      const backward = name.endsWith("Backward");
      js.push(`    ${name}: ${fallback},`);
      wasm.push(`    ${name}: ${backward ? "bindBackward" : "bindForward"}(exports, ${JSON.stringify(name)}, ${fallback}),`);
    }
    for (const [name, k] of walks) {
      js.push(`    ${name}: ${k.js},`);
      wasm.push(`    ${name}: bindWalk(exports, ${JSON.stringify(name)}),`);
    }
    const walkTypes = walks.map(([name]) => ` & { readonly ${name}: Walk }`).join("");
    const activationTypes = activations.map(([name]) => ` & { readonly ${name}: ${name.endsWith("Backward") ? "Backward" : "Forward"} }`).join("");
    const matmulNames = entries.filter(([, k]) => !k.spec.step).map(([name]) => JSON.stringify(name)).join(" | ");
    const stepTypes = steps.map(([name]) => ` & { readonly ${name}: StepKernel }`).join("");
    return `
${WASM_DECODE_SOURCE}
/**
 * The matmul kernels of this network's layers, f32x4 WebAssembly SIMD generated by dlc for
 * their shapes (${entries.length} kernels), ${cells.length > 0 ? `the recurrent cells' elementwise steps (${cells.map(([name]) => name).join(", ")}), ` : ""}${walks.length > 0 ? `the convolutions' window walks (${walks.map(([name]) => name).join(", ")}), ` : ""}and the optimizer's updates (${bytes.length} bytes in all). The module imports one memory, env.memory.
 */
const KERNEL_WASM = ${JSON.stringify(base64(bytes))};
/**
 * ${fmaBytes ? `The same kernels with their matmuls on relaxed SIMD's fused multiply-add (f32x4.relaxed_madd: dlc compile --fma, ${fmaBytes.length} bytes), used where the engine has relaxed SIMD` : "No relaxed-SIMD kernels (dlc compile --fma embeds them)"}.
 */
const KERNEL_WASM_FMA: string | undefined = ${fmaBytes ? JSON.stringify(base64(fmaBytes)) : "undefined"};

/** A matmul on typed arrays and element offsets, as the JS helpers take them (extra arguments ignored). */
type Kernel = (a: Float32Array, ao: number, b: Float32Array, bo: number, c: Float32Array, co: number, m: number, k: number, n?: number, accumulate?: boolean) => void;
type KernelTable = ${matmulNames ? `{ readonly [name in ${matmulNames}]: Kernel }` : "{}"}${stepTypes}${cellTypes}${activationTypes}${walkTypes} & OptimizerKernels;${steps.length > 0 ? `
/** A weight gradient Aᵀ·B applied as a plain SGD step where it is made: c[co…] −= rate · Aᵀ·B (never stored); n as for matmulTN (fixed per kernel). */
type StepKernel = (a: Float32Array, ao: number, b: Float32Array, bo: number, c: Float32Array, co: number, m: number, k: number, n: number, rate: number) => void;` : ""}
/** An activation over a run of elements: y[yo + i] = f(x[xo + i]) for i < count. */
type Forward = (x: Float32Array, xo: number, y: Float32Array, yo: number, count: number) => void;
/** Its gradient: dx[dxo + i] += dy[dyo + i] · f′ from a[ao + i] (x for relu, y for tanh and sigmoid). */
type Backward = (a: Float32Array, ao: number, dy: Float32Array, dyo: number, dx: Float32Array, dxo: number, count: number) => void;${walks.length > 0 ? `
/** A conv's im2col (col rows from x) or col2im (x += col rows) over output rows t0 … t1 − 1, col's rows from element co. */
type Walk = (x: Float32Array, col: Float32Array, co: number, t0: number, t1: number) => void;` : ""}

/** The optimizer's updates over w[start, start + count) (the generated step's arithmetic). */
interface OptimizerKernels {
  readonly sgd: (w: Float32Array, g: Float32Array, start: number, count: number, rate: number) => void;
  readonly sgdMomentum: (w: Float32Array, g: Float32Array, v: Float32Array, start: number, count: number, rate: number, mu: number) => void;
  readonly adam: (w: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, start: number, count: number, rate: number, b1: number, b2: number, c1: number, c2: number, eps: number) => void;
}

/** The JS kernels: the fallback, and \`kernels: "js"\`. */
function jsKernelTable(): KernelTable {
  return {
${js.join("\n")}
    sgd: (w, g, start, count, rate) => {
      for (let i = start; i < start + count; i++) w[i] -= rate * g[i]!;
    },
    sgdMomentum: (w, g, v, start, count, rate, mu) => {
      for (let i = start; i < start + count; i++) {
        v[i] = mu * v[i]! + g[i]!;
        w[i] -= rate * v[i]!;
      }
    },
    adam: (w, g, m, v, start, count, rate, b1, b2, c1, c2, eps) => {
      for (let i = start; i < start + count; i++) {
        const gi = g[i]!;
        m[i] = b1 * m[i]! + (1 - b1) * gi;
        v[i] = b2 * v[i]! + (1 - b2) * gi * gi;
        w[i] -= (rate * (m[i]! / c1)) / (Math.sqrt(v[i]! / c2) + eps);
      }
    },
  };
}

${steps.length > 0 ? `/** The JS step kernels: the product into scratch, then the sgd kernel's JS update (w −= rate·g). */
let stepScratch = new Float32Array(0);
function stepByProduct(a: Float32Array, ao: number, b: Float32Array, bo: number, c: Float32Array, co: number, m: number, k: number, n: number, rate: number): void {
  const size = m * n;
  if (stepScratch.length < size) stepScratch = new Float32Array(size);
  stepScratch.fill(0, 0, size);
  matmulTN(a, ao, b, bo, stepScratch, 0, m, k, n);
  for (let i = 0; i < size; i++) c[co + i] -= rate * stepScratch[i]!;
}

/** A step kernel's export as a StepKernel. */
function bindStep(exports: Readonly<Record<string, unknown>>, name: string): StepKernel {
  const run = exports[name] as (a: number, b: number, c: number, m: number, k: number, rate: number) => void;
  return (a, ao, b, bo, c, co, m, k, _n, rate) => run(a.byteOffset + 4 * ao, b.byteOffset + 4 * bo, c.byteOffset + 4 * co, m, k, rate);
}

` : ""}/** A WebAssembly kernel export as a Kernel: arrays and element offsets → byte addresses. */
function bindKernel(exports: Readonly<Record<string, unknown>>, name: string): Kernel {
  const run = exports[name] as (a: number, b: number, c: number, m: number, k: number) => void;
  return (a, ao, b, bo, c, co, m, k) => run(a.byteOffset + 4 * ao, b.byteOffset + 4 * bo, c.byteOffset + 4 * co, m, k);
}

${activations.length > 0 ? `/** SIMD activation exports: four at a time there, the last count mod 4 by \`js\`. */
function bindForward(exports: Readonly<Record<string, unknown>>, name: string, js: Forward): Forward {
  const run = exports[name] as (x: number, y: number, count: number) => void;
  return (x, xo, y, yo, count) => {
    const vectors = count & ~3;
    if (vectors > 0) run(x.byteOffset + 4 * xo, y.byteOffset + 4 * yo, vectors);
    if (vectors < count) js(x, xo + vectors, y, yo + vectors, count - vectors);
  };
}

function bindBackward(exports: Readonly<Record<string, unknown>>, name: string, js: Backward): Backward {
  const run = exports[name] as (a: number, dy: number, dx: number, count: number) => void;
  return (a, ao, dy, dyo, dx, dxo, count) => {
    const vectors = count & ~3;
    if (vectors > 0) run(a.byteOffset + 4 * ao, dy.byteOffset + 4 * dyo, dx.byteOffset + 4 * dxo, vectors);
    if (vectors < count) js(a, ao + vectors, dy, dyo + vectors, dx, dxo + vectors, count - vectors);
  };
}
` : ""}
${walks.length > 0 ? `/** A conv walk export (im2col.ts) as a Walk: byte addresses of x and of col's first row. */
function bindWalk(exports: Readonly<Record<string, unknown>>, name: string): Walk {
  const run = exports[name] as (x: number, col: number, t0: number, t1: number) => void;
  return (x, col, co, t0, t1) => run(x.byteOffset, col.byteOffset + 4 * co, t0, t1);
}

` : ""}function wasmKernelTable(exports: Readonly<Record<string, unknown>>): KernelTable {
  const sgd = exports.sgd as (w: number, g: number, count: number, rate: number) => void;
  const sgdMomentum = exports.sgdMomentum as (w: number, g: number, v: number, count: number, rate: number, mu: number) => void;
  const adam = exports.adam as (w: number, g: number, m: number, v: number, count: number, rate: number, b1: number, b2: number, c1: number, c2: number, eps: number) => void;
  return {
${wasm.join("\n")}
    sgd: (w, g, start, count, rate) => sgd(w.byteOffset + 4 * start, g.byteOffset + 4 * start, count, rate),
    sgdMomentum: (w, g, v, start, count, rate, mu) => sgdMomentum(w.byteOffset + 4 * start, g.byteOffset + 4 * start, v.byteOffset + 4 * start, count, rate, mu),
    adam: (w, g, m, v, start, count, rate, b1, b2, c1, c2, eps) =>
      adam(w.byteOffset + 4 * start, g.byteOffset + 4 * start, m.byteOffset + 4 * start, v.byteOffset + 4 * start, count, rate, b1, b2, c1, c2, eps),
  };
}

${ARENA_SOURCE}
`;
  }
}

/** The JS-side signatures of the cell kernels (typed arrays and element offsets, n rows). */
const CELL_SIGNATURES: Readonly<Record<CellKernel, string>> = {
  lstmForward: "(gx: Float32Array, gb: number, st: Float32Array, cs: Float32Array, hb: number, nb: number, ac: Float32Array, ab: number, n: number) => void",
  lstmBackward:
    "(ac: Float32Array, ab: number, cs: Float32Array, hb: number, dh: Float32Array, dc: Float32Array, d0: number, dgx: Float32Array, gxb: number, dgh: Float32Array, ghb: number, dcp: Float32Array, n: number) => void",
};

/** The wasm table entry of a cell kernel: its export behind the JS signature (byte addresses). */
const CELL_BINDINGS: Readonly<Record<CellKernel, (name: string) => string>> = {
  lstmForward: (name) =>
    `((run: (gx: number, cp: number, cn: number, sn: number, ac: number, n: number) => void): ${CELL_SIGNATURES.lstmForward} => (gx, gb, st, cs, hb, nb, ac, ab, n) => run(gx.byteOffset + 4 * gb, cs.byteOffset + 4 * hb, cs.byteOffset + 4 * nb, st.byteOffset + 4 * nb, ac.byteOffset + 4 * ab, n))(exports[${JSON.stringify(name)}] as never)`,
  lstmBackward: (name) =>
    `((run: (ac: number, cp: number, dh: number, dc: number, dgx: number, dgh: number, dcp: number, n: number) => void): ${CELL_SIGNATURES.lstmBackward} => (ac, ab, cs, hb, dh, dc, d0, dgx, gxb, dgh, ghb, dcp, n) => run(ac.byteOffset + 4 * ab, cs.byteOffset + 4 * hb, dh.byteOffset + 4 * d0, dc.byteOffset + 4 * d0, dgx.byteOffset + 4 * gxb, dgh.byteOffset + 4 * ghb, dcp.byteOffset, n))(exports[${JSON.stringify(name)}] as never)`,
};
