/**
 * The kinds of entry a generated module's kernel table holds, each as a KernelEntry: the wasm
 * function, the JS fallback, the wasm binding and the entry's type. KernelSet collects the
 * entries the layers ask for and embeds them (kernel-set.ts); what an entry of each kind looks
 * like lives here, beside each other, so that a new kind is one more factory.
 */
import type { FunctionBuilder } from "./encoder.js";
import { buildActivation, type ActivationKernel } from "./activations.js";
import { buildCellKernel, cellKernelName, type CellKernel } from "./cells.js";
import { buildConvWalk, convWalkName, type ConvWalkSpec } from "./im2col.js";
import { PACKED_STRIP, buildMatmul, kernelName, type MatmulSpec, type MatmulVariant } from "./matmul.js";

/** Module-level code some entries need (a type, a binder), emitted once whatever the number of entries using it. */
export interface Support {
  readonly name: string;
  readonly code: string;
}

export type KernelKind = "matmul" | "cell" | "activation" | "walk";

/** The order of the kinds in the embedded module and the tables. */
export const KIND_ORDER: readonly KernelKind[] = ["matmul", "cell", "activation", "walk"];

export interface KernelEntry {
  /** The table's key and the wasm export's name. */
  readonly name: string;
  /** Entries go in KIND_ORDER (matmuls before the optimizers' updates, the rest after), each kind in name order. */
  readonly kind: KernelKind;
  /** The wasm function; `fma`: the relaxed-SIMD flavour, where the kind has one. */
  build(fma: boolean): FunctionBuilder;
  /** The JS table's entry: a function expression (the fallback, and `kernels: "js"`). */
  readonly js: string;
  /** The wasm table's entry: an expression over `exports`. */
  readonly wasm: string;
  /** The entry's type in KernelTable. */
  readonly type: string;
  readonly support: readonly Support[];
}

/** The JS helpers (src/codegen/helpers.ts) a matmul kernel stands in for. */
export type MatmulHelper = "matmul" | "matmulTN" | "matmulNT";

const VARIANT: Readonly<Record<MatmulHelper, MatmulVariant>> = { matmul: "nn", matmulTN: "tn", matmulNT: "nt" };

const KERNEL: Support = {
  name: "Kernel",
  code: `/** A matmul on typed arrays and element offsets, as the JS helpers take them (extra arguments ignored). */
type Kernel = (a: Float32Array, ao: number, b: Float32Array, bo: number, c: Float32Array, co: number, m: number, k: number, n?: number, accumulate?: boolean) => void;

/** A WebAssembly kernel export as a Kernel: arrays and element offsets → byte addresses. */
function bindKernel(exports: Readonly<Record<string, unknown>>, name: string): Kernel {
  const run = exports[name] as (a: number, b: number, c: number, m: number, k: number) => void;
  return (a, ao, b, bo, c, co, m, k) => run(a.byteOffset + 4 * ao, b.byteOffset + 4 * bo, c.byteOffset + 4 * co, m, k);
}`,
};

const STEP_KERNEL: Support = {
  name: "StepKernel",
  code: `/** A weight gradient Aᵀ·B applied as a plain SGD step where it is made: c[co…] −= rate · Aᵀ·B (never stored); n as for matmulTN (fixed per kernel). */
type StepKernel = (a: Float32Array, ao: number, b: Float32Array, bo: number, c: Float32Array, co: number, m: number, k: number, n: number, rate: number) => void;

/** The JS step kernels: the product into scratch, then the sgd kernel's JS update (w −= rate·g). */
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
}`,
};

/**
 * A matmul in place of the JS helper's call shape: N and `accumulate` fixed, M and K passed at
 * each call (the batch size varies, and V8 runs a loop bound from a local as fast as a constant).
 * `step` (matmulTN only): the entry applies a plain SGD step to C instead of storing the product,
 * `C −= rate·AᵀB`, called with `rate` after the helper's arguments.
 */
export function matmulEntry(helper: MatmulHelper, n: number, accumulate: boolean, step = false): KernelEntry {
  if (step && helper !== "matmulTN") throw new Error(`internal: a step kernel is a matmulTN, not ${helper}`);
  if (step) {
    const spec: MatmulSpec = { variant: "tn", m: "dynamic", k: "dynamic", n, accumulate: false, step };
    const name = kernelName(spec);
    return {
      name,
      kind: "matmul",
      build: builder(spec),
      js: `(a, ao, b, bo, c, co, m, k, _n, rate) => stepByProduct(a, ao, b, bo, c, co, m, k, ${n}, rate)`,
      wasm: `bindStep(exports, ${JSON.stringify(name)})`,
      type: "StepKernel",
      support: [STEP_KERNEL],
    };
  }
  const tail = helper === "matmul" ? `, ${n}, ${accumulate}` : `, ${n}`;
  return kernelEntry({ variant: VARIANT[helper], m: "dynamic", k: "dynamic", n, accumulate }, `(a, ao, b, bo, c, co, m, k) => ${helper}(a, ao, b, bo, c, co, m, k${tail})`);
}

/**
 * An nn kernel whose B comes packed in column strips (packStrips), called as `matmul` is; its JS
 * fallback reads the same layout. K is fixed: a packed kernel takes it whole, and with the rows of
 * A at constant offsets it runs 8% faster (h·recurrent_kernel at H = 128: 41.8 → 45.3 GFLOP/s).
 */
export function packedMatmulEntry(n: number, accumulate: boolean, k: number): KernelEntry {
  return kernelEntry(
    { variant: "nn", m: "dynamic", k, n, accumulate, packedB: true },
    `(a, ao, b, bo, c, co, m, k) => matmulPacked(a, ao, b, bo, c, co, m, k, ${n}, ${accumulate}, ${PACKED_STRIP})`,
  );
}

const STAGED_KERNEL: Support = {
  name: "StagedKernel",
  code: `/** A Kernel given scratch for the copies of its operands (stageLength floats at s[so…]); the JS fallback ignores it. */
type StagedKernel = (a: Float32Array, ao: number, b: Float32Array, bo: number, c: Float32Array, co: number, m: number, k: number, n: number, accumulate: boolean, s: Float32Array, so: number) => void;

/** A stageB kernel's export as a StagedKernel. */
function bindStaged(exports: Readonly<Record<string, unknown>>, name: string): StagedKernel {
  const run = exports[name] as (a: number, b: number, c: number, s: number, m: number, k: number) => void;
  return (a, ao, b, bo, c, co, m, k, _n, _accumulate, s, so) => run(a.byteOffset + 4 * ao, b.byteOffset + 4 * bo, c.byteOffset + 4 * co, s.byteOffset + 4 * so, m, k);
}`,
};

/**
 * A matmul (nn) or matmulTN (tn, accumulating) kernel that reads its operands through copies in
 * scratch (matmul.ts, stageB), called as the helper is plus `accumulate` where the helper has
 * none, the scratch array and its offset.
 */
export function stagedMatmulEntry(helper: "matmul" | "matmulTN", n: number, accumulate: boolean): KernelEntry {
  const spec: MatmulSpec = { variant: VARIANT[helper], m: "dynamic", k: "dynamic", n, accumulate, stageB: true };
  const name = kernelName(spec);
  return {
    name,
    kind: "matmul",
    build: builder(spec),
    js: `(a, ao, b, bo, c, co, m, k) => ${helper}(a, ao, b, bo, c, co, m, k, ${n}${helper === "matmul" ? `, ${accumulate}` : ""})`,
    wasm: `bindStaged(exports, ${JSON.stringify(name)})`,
    type: "StagedKernel",
    support: [STAGED_KERNEL],
  };
}

/** The wasm function of a matmul spec, plain or with relaxed-SIMD multiply-adds. */
function builder(spec: MatmulSpec): (fma: boolean) => FunctionBuilder {
  return (fma) => buildMatmul(fma ? { ...spec, fma } : spec);
}

/** A matmul entry called as the JS helpers are (a Kernel), `js` its fallback. */
function kernelEntry(spec: MatmulSpec, js: string): KernelEntry {
  const name = kernelName(spec);
  return { name, kind: "matmul", build: builder(spec), js, wasm: `bindKernel(exports, ${JSON.stringify(name)})`, type: "Kernel", support: [KERNEL] };
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

/**
 * A recurrent cell's elementwise step over all rows (cells.ts), for H units. `js` is the JS
 * fallback: a function expression taking the entry's arguments (CELL_SIGNATURES) with the same
 * semantics, from the layer's own generated code.
 */
export function cellEntry(kind: CellKernel, units: number, js: string): KernelEntry {
  const name = cellKernelName(kind, units);
  return { name, kind: "cell", build: () => buildCellKernel(kind, units), js, wasm: CELL_BINDINGS[kind](name), type: CELL_SIGNATURES[kind], support: [] };
}

const ACTIVATION: Support = {
  name: "Activation",
  code: `/** An activation over a run of elements: y[yo + i] = f(x[xo + i]) for i < count. */
type Forward = (x: Float32Array, xo: number, y: Float32Array, yo: number, count: number) => void;
/** Its gradient: dx[dxo + i] += dy[dyo + i] · f′ from a[ao + i] (x for relu, y for tanh and sigmoid). */
type Backward = (a: Float32Array, ao: number, dy: Float32Array, dyo: number, dx: Float32Array, dxo: number, count: number) => void;

/** SIMD activation exports: four at a time there, the last count mod 4 by \`js\`. */
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
}`,
};

/**
 * An activation over a contiguous run (activations.ts): forward `(x, xo, y, yo, count)`, backward
 * `(a, ao, dy, dyo, dx, dxo, count)`. `js` is the JS fallback, a function expression of those
 * arguments (the wasm entry also runs it on the last count mod 4 elements).
 */
export function activationEntry(kernel: ActivationKernel, js: string): KernelEntry {
  const backward = kernel.endsWith("Backward");
  return {
    name: kernel,
    kind: "activation",
    build: () => buildActivation(kernel),
    js,
    wasm: `${backward ? "bindBackward" : "bindForward"}(exports, ${JSON.stringify(kernel)}, ${js})`,
    type: backward ? "Backward" : "Forward",
    support: [ACTIVATION],
  };
}

const WALK: Support = {
  name: "Walk",
  code: `/** A conv's im2col (col rows from x) or col2im (x += col rows) over output rows t0 … t1 − 1, col's rows from element co. */
type Walk = (x: Float32Array, col: Float32Array, co: number, t0: number, t1: number) => void;

/** A conv walk export (im2col.ts) as a Walk: byte addresses of x and of col's first row. */
function bindWalk(exports: Readonly<Record<string, unknown>>, name: string): Walk {
  const run = exports[name] as (x: number, col: number, t0: number, t1: number) => void;
  return (x, col, co, t0, t1) => run(x.byteOffset, col.byteOffset + 4 * co, t0, t1);
}`,
};

/**
 * A conv's im2col or col2im walk over output rows t0 … t1 − 1 (im2col.ts), called as
 * `(x, col, co, t0, t1)`: x is x0 (or dx0 for col2im) from its start, col's rows start at element
 * co. `js` is the JS fallback, a function expression of those arguments.
 */
export function convWalkEntry(spec: ConvWalkSpec, js: string): KernelEntry {
  const name = convWalkName(spec);
  return { name, kind: "walk", build: () => buildConvWalk(spec), js, wasm: `bindWalk(exports, ${JSON.stringify(name)})`, type: "Walk", support: [WALK] };
}
