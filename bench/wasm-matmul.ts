/**
 * Micro benchmark: GFLOP/s of dlc's generated WebAssembly SIMD matmul kernels
 * (src/codegen/wasm/matmul.ts) against the JS 4×4-tiled matmuls generated modules use today
 * (src/codegen/helpers.ts, transpiled as is and run on Float32Arrays), for the three variants
 * on the shapes of an MNIST MLP and LeNet's first convolution, across register tiles.
 *
 *   npx tsc -p . && node dist/bench/wasm-matmul.js [--quick] [--fma]
 *
 * `--fma` adds `f32x4.relaxed_madd` kernels (Node 20: also pass
 * `--experimental-wasm-relaxed-simd` to node). `wasmMatmulSections()` returns the tables as
 * `Section`s for bench/run.ts (which runs it quick: default tiles only, no sweep tables), and
 * `measuredSimdPeak()` the best GFLOP/s it saw, which the per-block profiles compare with.
 */
import { pathToFileURL } from "node:url";
import ts from "typescript";
import { HELPERS } from "../src/codegen/helpers.js";
import { DEFAULT_TILES, STAGE_COLUMNS, matmulModule, stageLength, stagingPays, type MatmulSpec, type MatmulTile, type MatmulVariant } from "../src/codegen/wasm/matmul.js";
import { renderSection, type Section } from "./report.js";

export interface Shape {
  readonly label: string;
  readonly variant: MatmulVariant;
  readonly m: number;
  readonly k: number;
  readonly n: number;
  /** Which dimension is the batch (passed at call time); none for a conv's per-sample matmul. */
  readonly dynamic?: "m" | "k";
}

/** The forward matmul x·W of each layer, its weight gradient xᵀ·dy and its input gradient dy·Wᵀ. */
export const SHAPES: readonly Shape[] = [
  { label: "dense 784→128 fwd [32×784]·[784×128]", variant: "nn", m: 32, k: 784, n: 128, dynamic: "m" },
  { label: "dense 128→10 fwd [32×128]·[128×10]", variant: "nn", m: 32, k: 128, n: 10, dynamic: "m" },
  { label: "conv im2col fwd [784×25]·[25×6]", variant: "nn", m: 784, k: 25, n: 6 },
  { label: "dense 784→128 dW [784×32]ᵀ·[32×128]", variant: "tn", m: 784, k: 32, n: 128, dynamic: "k" },
  { label: "dense 128→10 dW [128×32]ᵀ·[32×10]", variant: "tn", m: 128, k: 32, n: 10, dynamic: "k" },
  { label: "conv dW [25×784]ᵀ·[784×6]", variant: "tn", m: 25, k: 784, n: 6 },
  { label: "dense 784→128 dx [32×128]·[784×128]ᵀ", variant: "nt", m: 32, k: 128, n: 784, dynamic: "m" },
  { label: "dense 128→10 dx [32×10]·[128×10]ᵀ", variant: "nt", m: 32, k: 10, n: 128, dynamic: "m" },
  { label: "conv dx [784×6]·[25×6]ᵀ", variant: "nt", m: 784, k: 6, n: 25 },
];

/** Tiles tried: rows × v128 columns (nn, tn) or rows × C columns (nt). */
const BROADCAST_TILES: readonly MatmulTile[] = [
  { rows: 1, cols: 4 },
  { rows: 2, cols: 2 },
  { rows: 2, cols: 3 },
  { rows: 2, cols: 4 },
  { rows: 3, cols: 3 },
  { rows: 4, cols: 2 },
  { rows: 4, cols: 3 },
  { rows: 4, cols: 4 },
  { rows: 6, cols: 2 },
  { rows: 8, cols: 1 },
];

export const TILES: Readonly<Record<MatmulVariant, readonly MatmulTile[]>> = {
  nn: BROADCAST_TILES,
  tn: BROADCAST_TILES,
  nt: [
    { rows: 1, cols: 4 },
    { rows: 2, cols: 2 },
    { rows: 2, cols: 4 },
    { rows: 3, cols: 4 },
    { rows: 4, cols: 2 },
    { rows: 4, cols: 4 },
    { rows: 2, cols: 8 },
  ],
};

type Kernel = (...args: number[]) => void;

/** The little of the WebAssembly JS API used here (the project's lib has no DOM, @types/node 20 no WebAssembly). */
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Memory: new (d: { initial: number; maximum?: number; shared?: boolean }) => { readonly buffer: ArrayBuffer };
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { readonly exports: Readonly<Record<string, unknown>> };
}
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
type JsMatmul = (a: Float32Array, ao: number, b: Float32Array, bo: number, c: Float32Array, co: number, m: number, k: number, n: number, accumulate?: boolean) => void;

/** The generated modules' JS matmuls, from their TypeScript text, over Float32Array. */
function jsMatmuls(): Record<MatmulVariant, JsMatmul> {
  const text = [HELPERS["matmul"], HELPERS["matmulTN"], HELPERS["matmulNT"]].join("\n");
  const js = ts.transpileModule(`type Arr = Float32Array;\n${text}`, { compilerOptions: { target: ts.ScriptTarget.ES2022 } }).outputText;
  const fns = new Function(`${js}\nreturn { nn: matmul, tn: matmulTN, nt: matmulNT };`)() as Record<MatmulVariant, JsMatmul>;
  return fns;
}

/** Best GFLOP/s over `samples` timed batches of calls, each batch about `ms` long. */
function gflopsOf(call: () => void, flops: number, ms: number, samples: number): number {
  let reps = 1;
  const t0 = performance.now();
  // warm up and find a batch size
  for (;;) {
    const s = performance.now();
    for (let i = 0; i < reps; i++) call();
    const e = performance.now() - s;
    if (e > ms / 4 || performance.now() - t0 > ms * 4) {
      reps = Math.max(1, Math.round((reps * ms) / Math.max(e, 1e-3)));
      break;
    }
    reps *= 2;
  }
  let best = 0;
  for (let s = 0; s < samples; s++) {
    const start = performance.now();
    for (let i = 0; i < reps; i++) call();
    const sec = (performance.now() - start) / 1000;
    best = Math.max(best, (flops * reps) / sec / 1e9);
  }
  return best;
}

export interface Row {
  readonly shape: Shape;
  readonly js: number;
  /** GFLOP/s per tile label ("4x2", "4x2 fma"). */
  readonly simd: Readonly<Record<string, number>>;
}

export interface Options {
  /** Per-sample batch length in ms (default 60) and samples (default 5). */
  readonly ms?: number;
  readonly samples?: number;
  /** Also time f32x4.relaxed_madd kernels with the default tile, where the engine supports them. */
  readonly fma?: boolean;
  /** Only the default tiles (quick check). */
  readonly quick?: boolean;
}

/** Measures every shape: the JS helper, then the SIMD kernel for each tile. */
export function measureWasmMatmul(o: Options = {}): Row[] {
  const ms = o.ms ?? 60;
  const samples = o.samples ?? 5;
  const js = jsMatmuls();
  const rows: Row[] = [];
  for (const sh of SHAPES) {
    const { m, k, n, variant } = sh;
    const flops = 2 * m * k * n;
    const sizes = [m * k, k * n, m * n];
    const rnd = (len: number): Float32Array => Float32Array.from({ length: len }, (_, i) => ((i * 2654435761) % 1000) / 1000 - 0.5);
    const [ja, jb, jc] = sizes.map(rnd) as [Float32Array, Float32Array, Float32Array];
    const accumulate = variant !== "nn";
    const jsGf = gflopsOf(() => js[variant](ja, 0, jb, 0, jc, 0, m, k, n, accumulate), flops, ms, samples);

    const simd: Record<string, number> = {};
    const tiles = o.quick ? [DEFAULT_TILES[variant]] : TILES[variant];
    const kinds: { tile: MatmulTile; fma: boolean; staged?: boolean }[] = tiles.map((tile) => ({ tile, fma: false }));
    if (o.fma) kinds.push({ tile: DEFAULT_TILES[variant], fma: true });
    // The kernel the generated modules call for this product where they stage its operands (module.ts: stagedMatmul, stagedMatmulTN).
    if (stagingPays(variant, m, n)) kinds.push({ tile: DEFAULT_TILES[variant], fma: false, staged: true });
    for (const { tile, fma, staged } of kinds) {
      const spec: MatmulSpec = { variant, m: sh.dynamic === "m" ? "dynamic" : m, k: sh.dynamic === "k" ? "dynamic" : k, n, accumulate, tile, fma, ...(staged ? { stageB: true } : {}) };
      const bytes = matmulModule([{ name: "mm", spec }]);
      const label = `${tile.rows}x${tile.cols}${fma ? " fma" : ""}${staged ? " staged" : ""}`;
      if (!wasm.validate(bytes)) {
        simd[label] = NaN;
        continue;
      }
      const floats = sizes.reduce((s, x) => s + x + 16, 16) + (staged ? stageLength(variant === "tn" ? "tn" : "nn", k, n) + 16 : 0);
      const memory = new wasm.Memory({ initial: Math.ceil((floats * 4) / 65536) });
      const inst = new wasm.Instance(new wasm.Module(bytes), { env: { memory } });
      const f32 = new Float32Array(memory.buffer);
      // 16-byte aligned operands, as an arena allocator would lay them out
      const offs: number[] = [];
      let at = 4;
      for (const [i, s] of sizes.entries()) {
        offs.push(at * 4);
        f32.set([ja, jb, jc][i]!, at);
        at += Math.ceil((s + 4) / 4) * 4;
      }
      if (staged) offs.push(at * 4);
      const mm = inst.exports["mm"] as Kernel;
      const args = [...offs, ...(sh.dynamic === "m" ? [m] : sh.dynamic === "k" ? [k] : [])];
      simd[label] = gflopsOf(() => mm(...args), flops, ms, samples);
    }
    rows.push({ shape: sh, js: jsGf, simd });
  }
  return rows;
}

const g = (v: number): string => (Number.isNaN(v) ? "n/a" : v >= 10 ? v.toFixed(1) : v.toFixed(2));

/** The best SIMD GFLOP/s measured, and where: the machine's SIMD matmul peak as far as these kernels show it. */
export interface SimdPeak {
  readonly gflops: number;
  readonly shape: string;
  readonly tile: string;
  /** Only the default tiles were timed. */
  readonly quick: boolean;
}

export function simdPeak(rows: readonly Row[], quick: boolean): SimdPeak | undefined {
  let peak: SimdPeak | undefined;
  for (const r of rows) {
    for (const [tile, v] of Object.entries(r.simd)) {
      if (!Number.isNaN(v) && (peak === undefined || v > peak.gflops)) peak = { gflops: v, shape: r.shape.label, tile, quick };
    }
  }
  return peak;
}

let measured: { rows: Row[]; options: Options } | undefined;

/**
 * The measurements `wasmMatmulSections` made last in this process, or a new quick run: what the
 * per-block profile divides by (bench/run.ts runs the matmul section first).
 */
export function measuredSimdPeak(): SimdPeak | undefined {
  measured ??= { rows: measureWasmMatmul({ quick: true }), options: { quick: true } };
  return simdPeak(measured.rows, measured.options.quick ?? false);
}

/** The measurements as bench sections: a summary (JS vs best SIMD) and, unless quick, the tile sweep. */
export function wasmMatmulSections(o: Options = {}): Section[] {
  const rows = measureWasmMatmul(o);
  measured = { rows, options: o };
  const peak = simdPeak(rows, o.quick ?? false);
  const summary: string[][] = rows.map((r) => {
    const def = DEFAULT_TILES[r.shape.variant];
    const defLabel = `${def.rows}x${def.cols}`;
    const entries = Object.entries(r.simd).filter(([, v]) => !Number.isNaN(v));
    const [bestLabel, best] = entries.reduce((x, y) => (y[1] > x[1] ? y : x), ["", 0] as [string, number]);
    return [r.shape.label, r.shape.variant, g(r.js), g(r.simd[defLabel] ?? NaN), `${bestLabel} ${g(best)}`, `${(best / r.js).toFixed(1)}×`];
  });
  const sections: Section[] = [
    {
      title: "WebAssembly SIMD matmul kernels vs the JS 4×4 helper",
      intro:
        "GFLOP/s (2·M·K·N per call), best of 5 timed batches of calls, one thread. JS: the generated modules' `matmul`/`matmulTN`/`matmulNT` helpers on Float32Arrays. SIMD: a kernel generated by src/codegen/wasm/matmul.ts for the shape (batch dimension passed at call time), operands in a WebAssembly.Memory.",
      table: {
        headers: ["shape", "variant", "JS GFLOP/s", "SIMD default tile", "SIMD best tile", "best ÷ JS"],
        align: ["left", "left", "right", "right", "right", "right"],
        rows: summary,
      },
      notes: [
        `default tiles: ${(Object.keys(DEFAULT_TILES) as MatmulVariant[]).map((v) => `${v} ${DEFAULT_TILES[v].rows}x${DEFAULT_TILES[v].cols}`).join(", ")} (rows × v128 columns for nn/tn, rows × C columns for nt)` +
          (o.quick ? "; only the default tiles were timed (quick mode: `node dist/bench/wasm-matmul.js` sweeps them all)." : "."),
        `"staged": the kernel that reads its operands through copies in scratch (matmul.ts, stageB), which the generated modules call where rows of B (nn), or of A or B (tn), are a multiple of ${STAGE_COLUMNS} floats.`,
        peak
          ? `The machine's SIMD matmul peak, as the per-block profiles use it: ${g(peak.gflops)} GFLOP/s (${peak.shape}, tile ${peak.tile}), the best SIMD figure in this table.`
          : "No SIMD kernel ran here (WebAssembly SIMD missing?): no peak for the per-block profiles.",
      ],
    },
  ];
  if (o.quick) return sections;
  for (const variant of ["nn", "tn", "nt"] as const) {
    const vr = rows.filter((r) => r.shape.variant === variant);
    if (vr.length === 0) continue;
    const labels = [...new Set(vr.flatMap((r) => Object.keys(r.simd)))];
    sections.push({
      title: `Tile sweep, ${variant} (GFLOP/s)`,
      table: {
        headers: ["shape", "JS", ...labels],
        align: ["left", "right", ...labels.map(() => "right" as const)],
        rows: vr.map((r) => [r.shape.label, g(r.js), ...labels.map((l) => g(r.simd[l] ?? NaN))]),
      },
    });
  }
  return sections;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const argv = process.argv.slice(2);
  const sections = wasmMatmulSections({ quick: argv.includes("--quick"), fma: argv.includes("--fma") });
  for (const s of sections) process.stdout.write(renderSection(s) + "\n");
}
