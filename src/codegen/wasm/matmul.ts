/**
 * Generators of f32 matmul kernels as WebAssembly SIMD functions, specialised to shapes known
 * at compile time. All matrices are row-major f32 in one linear memory; a kernel's parameters
 * are the byte offsets of its operands (`a`, `b`, `c`: i32), so one kernel serves every buffer
 * of its shape, followed by the dimensions declared `"dynamic"` (`m`, then `k`: element
 * counts), for the batch-dependent one. N is always a compile-time constant.
 *
 *   nn: C[M×N] (=|+=) A[M×K] · B[K×N]                 (forward: x · W)
 *   tn: C[M×N] (=|+=) Aᵀ · B, A stored [K×M], B [K×N]  (weight gradient: xᵀ · dy; K = batch)
 *   nt: C[M×N] (=|+=) A · Bᵀ, A [M×K], B stored [N×K]  (input gradient: dy · Wᵀ)
 *
 * A tn kernel may instead end in a plain SGD step, C −= rate · Aᵀ·B (`step`: C is then the
 * weights and `rate` an f32 parameter after the dimensions), so that a weight gradient used once
 * is never stored: the product rounds to f32, is multiplied by the f32 rate and subtracted, as the
 * `sgd` optimizer kernel does with a stored gradient, so the weights come out bit-identical.
 *
 * nn and tn tile C in `rows` × `cols` blocks of v128 accumulators (`cols` vectors of 4 floats
 * across N): per step along K each block loads `cols` vectors of B once and one broadcast A
 * value per row, then does rows·cols vector multiply-adds. nt vectorises along K instead (both
 * operands are contiguous there): a `rows` × `cols` block of C keeps one v128 of partial dot
 * products per element and reduces them at the end (with shuffles, 4 columns at a time).
 * Edges: rows left over below the tile height run with tiles of halving height (emitted once,
 * checked at run time when M is dynamic); columns left over run as one narrower tile, and a
 * last group of 1–3 floats (N not a multiple of 4) uses partial loads/stores
 * (`v128.load32_zero`/`load64_zero`/`load32_lane`, `store32_lane`/`store64_lane`), so a kernel
 * never touches memory outside its operands. nt handles K mod 4 the same way.
 */
import { FunctionBuilder, ModuleBuilder, type Local, type MemArg, type MemoryImport } from "./encoder.js";

export type MatmulVariant = "nn" | "tn" | "nt";

/** A dimension fixed at compile time, or passed as an i32 parameter at each call. */
export type Dim = number | "dynamic";

export interface MatmulTile {
  /** Rows of C per block. */
  readonly rows: number;
  /** nn/tn: v128 columns (4 floats each) per block; nt: columns of C per block. */
  readonly cols: number;
}

export interface MatmulSpec {
  readonly variant: MatmulVariant;
  readonly m: Dim;
  readonly k: Dim;
  readonly n: number;
  /** C += product (true) or C = product (false). */
  readonly accumulate: boolean;
  /** tn only, with `accumulate` false: C −= rate · product (a plain SGD step on C). */
  readonly step?: boolean;
  /** Default: `DEFAULT_TILES[variant]`. */
  readonly tile?: MatmulTile;
  /**
   * Use `f32x4.relaxed_madd` (relaxed SIMD) instead of mul + add. Faster where the engine
   * fuses it, but Node 20 needs `--experimental-wasm-relaxed-simd` and results may differ in the
   * last bit between engines. Default false.
   */
  readonly fma?: boolean;
  /**
   * nn only: B comes packed in column strips (packStrips' layout, `packedLength` floats), each
   * strip's K rows contiguous, so that a strip read by every row block is one run of memory. B
   * rows of 2 KiB and more (N ≥ 512) map a strip's rows onto a few L1 sets, which evicts it
   * between row blocks (an LSTM's h·recurrent_kernel: 33 against 42 GFLOP/s packed).
   */
  readonly packedB?: boolean;
  /**
   * nn, and tn other than a step: operands read through contiguous copies in scratch at byte
   * offset `s` (stageLength floats, a parameter after `c`). Rows a multiple of 256 bytes long map
   * the rows a tile reads onto a few L1 sets, which evicts them before they are read again.
   *
   * nn: where M ≥ STAGE_FROM_ROWS, the first row block copies each full column strip of B it
   * reads, and the other row blocks read that copy (below, B is read in place: too few row
   * blocks reuse it). An MLP's x·kernel (K = 784, N = 128): 40.9 GFLOP/s in place, 44.3 staged.
   *
   * tn: each pass along K first copies its rows of B's full column strips, strip after strip,
   * and each row block its columns of A. An LSTM's recurrent-kernel gradient (M = 128, K = 1568,
   * N = 512): 34.4 GFLOP/s in place, 41.9 staged.
   *
   * Both take K in the in-place kernel's chunks: the sums are the in-place kernel's, bit for bit.
   */
  readonly stageB?: boolean;
}

/** Tiles measured fastest on x64 V8 (see bench/wasm-matmul.ts). */
export const DEFAULT_TILES: Readonly<Record<MatmulVariant, MatmulTile>> = {
  nn: { rows: 4, cols: 2 },
  tn: { rows: 4, cols: 2 },
  nt: { rows: 2, cols: 4 },
};

/**
 * The floats per row of each column strip of a packed B (N columns, nn's default tile): full
 * strips of the tile's width, then the rest rounded up to whole vectors (zeros past column N).
 */
export function packedStripWidths(n: number): number[] {
  const { full, rest } = columnBlocks(n, DEFAULT_TILES.nn.cols);
  return [...new Array<number>(full).fill(PACKED_STRIP), ...(rest.length > 0 ? [rest.length * 4] : [])];
}

/** Columns per full strip of a packed B: the nn kernels' default tile width. */
export const PACKED_STRIP = 4 * DEFAULT_TILES.nn.cols;

/** Floats of a packed B of K rows and N columns. */
export function packedLength(k: number, n: number): number {
  return k * packedStripWidths(n).reduce((a, b) => a + b, 0);
}

/** The kernel's parameter names in order: byte offsets, then the dynamic dimensions. */
export function matmulParams(spec: MatmulSpec): string[] {
  return ["a", "b", "c", ...(spec.stageB ? ["s"] : []), ...(spec.m === "dynamic" ? ["m"] : []), ...(spec.k === "dynamic" ? ["k"] : [])];
}

/** The f32 parameter after the i32 ones: the step's rate. */
const STEP_RATE = "rate";

/** Floats each operand spans for given M and K (A, B, C), e.g. to lay out memory. */
export function matmulSizes(spec: MatmulSpec, m: number, k: number): { a: number; b: number; c: number } {
  return { a: m * k, b: k * spec.n, c: m * spec.n };
}

/** A byte address: `base` (+ `dyn`) + constant `off` (the memarg offset). */
interface Addr {
  readonly base: Local;
  readonly dyn?: Local | undefined;
  readonly off: number;
}

/** An i32 known at compile time or held in a local. */
type Val = number | Local;

const ALIGN_V128 = 2; // operands are only guaranteed 4-byte aligned

/** Longest run of K an nn kernel takes in one pass (see buildBroadcastKernel). */
export const NN_K_CHUNK = 256;
/** Longest run of K a tn kernel other than a step takes in one pass (see buildBroadcastKernel). */
export const TN_K_CHUNK = 64;

/**
 * N for which staging B pays: a multiple of this many columns, rows a multiple of 256 bytes
 * (measured: N = 64, 128, 256, 512 gain 7–20%; N = 32, 96 or 160 about 2%; N = 16 or 120 lose).
 */
export const STAGE_COLUMNS = 64;

/**
 * Whether a product pays for staging (stageB): nn where B's rows (n floats) are a multiple of
 * STAGE_COLUMNS; tn where A's rows (m floats) or B's are, and B has a full strip to stage.
 */
export function stagingPays(variant: MatmulVariant, m: number, n: number): boolean {
  if (variant === "nn") return n % STAGE_COLUMNS === 0;
  return variant === "tn" && n >= PACKED_STRIP && (m % STAGE_COLUMNS === 0 || n % STAGE_COLUMNS === 0);
}

/** Rows from which a stageB kernel copies B's strips (a copy read by fewer row blocks costs more than it saves). */
export const STAGE_FROM_ROWS = 16;

/**
 * Floats of a stageB kernel's scratch. nn: a strip's rows of one pass along K (K in the in-place
 * kernel's chunks of NN_K_CHUNK, so that the sums run in the same order, bit for bit: chunks of
 * 512 were no faster, and GoogLeNet's f32 step drifted past 1e-4 of the f64 one). tn: a row
 * block's 4 columns of A for TN_K_CHUNK rows, then every full strip of B for a pass's rows.
 */
export function stageLength(variant: "nn" | "tn", k: number, n: number): number {
  if (variant === "nn") return Math.min(k, NN_K_CHUNK) * PACKED_STRIP;
  return TN_STAGE_A + Math.min(k, TN_K_CHUNK) * Math.floor(n / PACKED_STRIP) * PACKED_STRIP;
}

/** Floats of a staged tn kernel's scratch that hold A's columns; B's strips follow. */
export const TN_STAGE_A = 4 * TN_K_CHUNK;

class Gen {
  readonly f: FunctionBuilder;
  readonly tile: MatmulTile;
  readonly n: number;
  readonly m: Val;
  readonly k: Val;
  /** Bytes per row of an A/B operand stored with K floats a row (nn: A, nt: A and B), or K·4. */
  readonly kBytes: Val;
  /** `kOff[j]` = j·K·4 for j below the largest tile side. */
  readonly kOff: Val[] = [0];
  readonly mBytes: Val;
  private tmp = 0;

  constructor(readonly spec: MatmulSpec) {
    const { m, k, n } = spec;
    const tile = spec.tile ?? DEFAULT_TILES[spec.variant];
    for (const [what, v] of [["m", m], ["k", k], ["n", n]] as const) {
      if (v !== "dynamic" && (!Number.isInteger(v) || v < 0 || v > 0x3fffffff)) throw new RangeError(`matmul: ${what} = ${String(v)} is not a valid size`);
    }
    if (!Number.isInteger(tile.rows) || !Number.isInteger(tile.cols) || tile.rows < 1 || tile.cols < 1 || tile.rows * tile.cols > 32) throw new RangeError(`matmul: bad tile ${tile.rows}×${tile.cols}`);
    this.tile = tile;
    if (spec.step && (spec.variant !== "tn" || spec.accumulate)) throw new RangeError("matmul: a step kernel is tn and does not accumulate");
    if (spec.stageB && (spec.variant === "nt" || spec.step)) throw new RangeError("matmul: a staged B is for nn and tn kernels other than a step");
    if ((spec.packedB || spec.stageB) && (spec.variant === "nt" || (spec.tile && (spec.tile.rows !== DEFAULT_TILES.nn.rows || spec.tile.cols !== DEFAULT_TILES.nn.cols)))) throw new RangeError("matmul: a packed or staged B is for nn kernels with the default tile");
    if (spec.packedB && spec.variant !== "nn") throw new RangeError("matmul: a packed B is for nn kernels");
    if (spec.packedB && spec.stageB) throw new RangeError("matmul: B is packed or staged, not both");
    this.n = n;
    this.f = new FunctionBuilder([...matmulParams(spec).map((p) => [p, "i32"] as const), ...(spec.step ? [[STEP_RATE, "f32"] as const] : [])]);
    const f = this.f;
    this.m = m === "dynamic" ? f.get("m") : m;
    this.k = k === "dynamic" ? f.get("k") : k;
    if (typeof this.k === "number") {
      this.kBytes = this.k * 4;
      for (let j = 1; j < Math.max(tile.rows, tile.cols); j++) this.kOff.push(j * this.k * 4);
    } else {
      const kb = f.local("kBytes", "i32");
      f.localGet(this.k).i32Const(2).i32Shl().localSet(kb);
      this.kBytes = kb;
      for (let j = 1; j < Math.max(tile.rows, tile.cols); j++) {
        const l = f.local(`kOff${j}`, "i32");
        f.localGet(kb).i32Const(j).i32Mul().localSet(l);
        this.kOff.push(l);
      }
    }
    if (typeof this.m === "number") this.mBytes = this.m * 4;
    else {
      const mb = f.local("mBytes", "i32");
      f.localGet(this.m).i32Const(2).i32Shl().localSet(mb);
      this.mBytes = mb;
    }
  }

  /** A fresh temporary local (kernels are small: locals are cheap, V8 allocates registers). */
  temp(type: "i32" | "v128", hint: string): Local {
    return this.f.local(`${hint}_${this.tmp++}`, type);
  }

  push(v: Val): void {
    if (typeof v === "number") this.f.i32Const(v);
    else this.f.localGet(v);
  }

  /** `l += v·times`. */
  addTo(l: Local, v: Val, times = 1): void {
    if (typeof v === "number") {
      if (v * times === 0) return;
      this.f.localGet(l).i32Const(v * times).i32Add().localSet(l);
    } else {
      this.f.localGet(l).localGet(v);
      if (times !== 1) this.f.i32Const(times).i32Mul();
      this.f.i32Add().localSet(l);
    }
  }

  /** An address `base + off·?`, where `off` is a compile-time or dynamic byte offset plus a constant. */
  at(base: Local, off: Val, extra = 0): Addr {
    return typeof off === "number" ? { base, off: off + extra } : { base, dyn: off, off: extra };
  }

  /** Pushes the dynamic part of an address and returns the memarg for its constant part. */
  pushAddr(a: Addr, align?: number): MemArg {
    this.f.localGet(a.base);
    if (a.dyn) this.f.localGet(a.dyn).i32Add();
    return align === undefined ? { offset: a.off } : { offset: a.off, align };
  }

  /** Pushes the v128 of `width` (1–4) floats at `a`, lanes past `width` zero. */
  loadVec(a: Addr, width: number): void {
    const f = this.f;
    if (width === 4) f.v128Load(this.pushAddr(a, ALIGN_V128));
    else if (width === 1) f.v128Load32Zero(this.pushAddr(a));
    else if (width === 2) f.v128Load64Zero(this.pushAddr(a, 2));
    else {
      const t = this.temp("v128", "part");
      f.v128Load64Zero(this.pushAddr(a, 2)).localSet(t);
      const m = this.pushAddr({ ...a, off: a.off + 8 });
      f.localGet(t).v128Load32Lane(2, m);
    }
  }

  /** Stores the first `width` (1–4) lanes of local `v` at `a`. */
  storeVec(a: Addr, v: Local, width: number): void {
    const f = this.f;
    if (width === 4) {
      const m = this.pushAddr(a, ALIGN_V128);
      f.localGet(v).v128Store(m);
      return;
    }
    if (width !== 1) {
      const m = this.pushAddr(a, 2);
      f.localGet(v).v128Store64Lane(0, m);
    }
    if (width !== 2) {
      const lane = width === 1 ? 0 : 2;
      const m = this.pushAddr({ ...a, off: a.off + 4 * lane });
      f.localGet(v).v128Store32Lane(lane, m);
    }
  }

  /**
   * Copies `rows` rows of vectors (`widths`, floats 1–4 each) from `from`, rows `stride` bytes
   * apart, to `to`, one row after another (4 floats a vector). Leaves `from` as it was and `to`
   * past the copy.
   */
  copyRows(from: Local, stride: Val, to: Local, rows: Val, widths: readonly number[]): void {
    const at = this.temp("i32", "copyFrom");
    const v = this.temp("v128", "copyV");
    this.f.localGet(from).localSet(at);
    this.repeat(rows, "copyRows", () => {
      widths.forEach((width, i) => {
        this.loadVec({ base: at, off: 16 * i }, width);
        this.f.localSet(v);
        this.storeVec({ base: to, off: 16 * i }, v, 4);
      });
      this.addTo(at, stride);
      this.addTo(to, 16 * widths.length);
    });
  }

  /** acc = acc + x·y, with x and y on the stack (x pushed first). */
  madd(acc: Local): void {
    if (this.spec.fma) this.f.localGet(acc).f32x4RelaxedMadd().localSet(acc);
    else this.f.f32x4Mul().localGet(acc).f32x4Add().localSet(acc);
  }

  /**
   * A counted loop running `count` times (≥ 0), counter in a fresh local; `body` emits one
   * iteration. Static counts of 0 and 1 emit nothing and the body once.
   */
  repeat(count: Val, hint: string, body: () => void): void {
    const f = this.f;
    if (typeof count === "number") {
      if (count <= 0) return;
      if (count === 1) {
        body();
        return;
      }
    }
    const c = this.temp("i32", hint);
    this.push(count);
    f.localSet(c);
    const loopBody = (): void => {
      f.loop(`${c.name}_loop`, () => {
        body();
        f.localGet(c).i32Const(1).i32Sub().localTee(c).brIf(`${c.name}_loop`);
      });
    };
    if (typeof count === "number") loopBody();
    else f.localGet(c).if(undefined, loopBody);
  }

  /**
   * K whole (`limit` undefined: one pass from operands a and b over all K) or in chunks of at most
   * `limit`. `aBase` and `bBase` are where a pass starts in A and B, `kc` how many steps along K
   * it takes; `passes(aStep, pass)` runs the passes: the first stores C unless the kernel
   * accumulates (K = 0 included: C = 0), later ones add to it, and between them aBase moves on
   * by kc steps of A (`aStep` bytes each) and bBase by kc rows of B.
   */
  chunking(limit: number | undefined): { aBase: Local; bBase: Local; kc: Val; passes(aStep: Val, pass: (accumulate: boolean) => void): void } {
    const f = this.f;
    const [a, b] = [f.get("a"), f.get("b")];
    if (limit === undefined) return { aBase: a, bBase: b, kc: this.k, passes: (_aStep, pass) => pass(this.spec.accumulate) };
    const aBase = this.temp("i32", "aBase");
    const bBase = this.temp("i32", "bBase");
    const kc = this.temp("i32", "kChunk");
    const passes = (aStep: Val, pass: (accumulate: boolean) => void): void => {
      const kLeft = this.temp("i32", "kLeftAll");
      const chunk = (accumulate: boolean): void => {
        // kc = min(kLeft, limit)
        f.localGet(kLeft).localSet(kc);
        f.localGet(kLeft).i32Const(limit).i32GtU();
        f.if(undefined, () => f.i32Const(limit).localSet(kc));
        pass(accumulate);
        f.localGet(aBase).localGet(kc);
        this.push(aStep);
        f.i32Mul().i32Add().localSet(aBase);
        f.localGet(bBase).localGet(kc).i32Const(4 * this.n).i32Mul().i32Add().localSet(bBase);
        f.localGet(kLeft).localGet(kc).i32Sub().localSet(kLeft);
      };
      f.localGet(a).localSet(aBase);
      f.localGet(b).localSet(bBase);
      this.push(this.k);
      f.localSet(kLeft);
      if (!this.spec.accumulate) chunk(false);
      f.block("chunks_done", () => {
        f.loop("chunks", () => {
          f.localGet(kLeft).i32Eqz().brIf("chunks_done");
          chunk(true);
          f.br("chunks");
        });
      });
    };
    return { aBase, bBase, kc, passes };
  }

  /**
   * Runs `block(h)` over the row blocks of `m` rows (default M): full tiles of `rows` while they
   * fit, then halving heights for the rest. `advance(h)` moves the row pointers on by h rows.
   */
  rowBlocks(rows: number, block: (h: number) => void, advance: (h: number) => void, m: Val = this.m): void {
    const f = this.f;
    const heights: number[] = [];
    for (let h = 1; h < rows; h *= 2) heights.unshift(h);
    if (typeof m === "number") {
      const full = Math.floor(m / rows);
      this.repeat(full, "rowTiles", () => {
        block(rows);
        advance(rows);
      });
      let left = m - full * rows;
      for (const h of heights) {
        if (left >= h) {
          block(h);
          advance(h);
          left -= h;
        }
      }
      return;
    }
    const left = this.temp("i32", "rowsLeft");
    f.localGet(m).localSet(left);
    f.block("rows_done", () => {
      f.loop("rows", () => {
        f.localGet(left).i32Const(rows).i32LtU().brIf("rows_done");
        block(rows);
        advance(rows);
        f.localGet(left).i32Const(rows).i32Sub().localSet(left);
        f.br("rows");
      });
    });
    for (const h of heights) {
      f.localGet(left).i32Const(h).i32GeU();
      f.if(undefined, () => {
        block(h);
        advance(h);
        f.localGet(left).i32Const(h).i32Sub().localSet(left);
      });
    }
  }
}

/** Widths (floats, 1–4) of the v128 columns of each column block of an nn/tn kernel. */
function columnBlocks(n: number, vecs: number): { full: number; fullWidths: number[]; rest: number[] } {
  const span = 4 * vecs;
  const full = Math.floor(n / span);
  const rest: number[] = [];
  for (let left = n - full * span; left > 0; left -= 4) rest.push(Math.min(4, left));
  return { full, fullWidths: new Array<number>(vecs).fill(4), rest };
}

/** nn and tn: broadcast A along K, vectors of B across N. */
function buildBroadcastKernel(g: Gen): void {
  const { f, spec, n, tile } = g;
  const tn = spec.variant === "tn";
  const c = f.get("c");
  const pa0 = g.temp("i32", "pa0"); // A at the block's first row
  const pc0 = g.temp("i32", "pc0"); // C at the block's first row
  const pb = g.temp("i32", "pb"); // B at the tile's first column
  const pc = g.temp("i32", "pc"); // C at the tile's first row and column
  const paW = g.temp("i32", "paW"); // walking pointers along K
  const pbW = g.temp("i32", "pbW");
  /** Byte distance between rows r and r+1 of A as the kernel reads it, and between steps along K. */
  const aRow = (r: number): Val => (tn ? 4 * r : g.kOff[r]!);
  const aStep: Val = tn ? g.mBytes : 4;
  const maxV = tile.cols;
  const acc: Local[][] = Array.from({ length: tile.rows }, (_, r) => Array.from({ length: maxV }, (_, v) => f.local(`acc${r}_${v}`, "v128")));
  const bv: Local[] = Array.from({ length: maxV }, (_, v) => f.local(`b${v}`, "v128"));
  const av = f.local("aBcast", "v128");
  const rate4 = spec.step ? f.local("rate4", "v128") : undefined;
  if (rate4) f.localGet(STEP_RATE).f32x4Splat().localSet(rate4);

  /**
   * How a tile reads its operands: B's rows `bStride` bytes apart from pb (N floats in place, a
   * strip's width where packed or staged); `copyB`, also copying the B rows it reads there, one
   * after another; `stagedA` (tn), A's h columns from s, a row of 4 floats per step.
   */
  interface TileReads {
    readonly bStride: number;
    readonly copyB?: Local;
    readonly stagedA?: boolean;
  }
  const inPlace: TileReads = { bStride: 4 * n };
  const contiguous = (nv: number): TileReads => ({ bStride: 16 * nv });
  /** One tile: `kCount` steps along K from pa0 (or s) and pb, then C at pc stored, added to (`accumulate`) or stepped. */
  const tileCode = (h: number, widths: readonly number[], kCount: Val, accumulate: boolean, reads: TileReads): void => {
    const { bStride, copyB: stage, stagedA: aStaged } = reads;
    const nv = widths.length;
    for (let r = 0; r < h; r++) for (let v = 0; v < nv; v++) f.v128Const().localSet(acc[r]![v]!);
    f.localGet(aStaged ? f.get("s") : pa0).localSet(paW);
    f.localGet(pb).localSet(pbW);
    g.repeat(kCount, "kLeft", () => {
      for (let v = 0; v < nv; v++) {
        g.loadVec({ base: pbW, off: 16 * v }, widths[v]!);
        f.localSet(bv[v]!);
        if (stage) g.storeVec({ base: stage, off: 16 * v }, bv[v]!, 4);
      }
      for (let r = 0; r < h; r++) {
        f.v128Load32Splat(g.pushAddr(g.at(paW, aStaged ? 4 * r : aRow(r))));
        f.localSet(av);
        for (let v = 0; v < nv; v++) {
          f.localGet(av).localGet(bv[v]!);
          g.madd(acc[r]![v]!);
        }
      }
      g.addTo(paW, aStaged ? 16 : aStep);
      g.addTo(pbW, bStride);
      if (stage) g.addTo(stage, 16 * nv);
    });
    for (let r = 0; r < h; r++) {
      for (let v = 0; v < nv; v++) {
        const at: Addr = { base: pc, off: 4 * (r * n + 4 * v) };
        const x = acc[r]![v]!;
        if (accumulate) {
          g.loadVec(at, widths[v]!);
          f.localGet(x).f32x4Add().localSet(x);
        } else if (rate4) {
          g.loadVec(at, widths[v]!);
          f.localGet(x).localGet(rate4).f32x4Mul().f32x4Sub().localSet(x);
        }
        g.storeVec(at, x, widths[v]!);
      }
    }
  };

  const cols = columnBlocks(n, tile.cols);
  if (!tn) {
    // nn: column strips outer, row blocks inner, so that a strip of B (one tile's columns) stays
    // in L1 while every row block of A passes over it: B — the weights, often the largest
    // operand — is read from L2/L3 once rather than once per row block. A long K would make the
    // strip outgrow L1 (K cache lines of B, plus the row block's K floats of A per row), so K is
    // taken in chunks of at most NN_K_CHUNK, C accumulating over the chunks.
    const pb0 = g.temp("i32", "pb0");
    // A packed strip is contiguous: it stays in L1 without chunks (up to K ≈ 1000).
    const { aBase, bBase, kc, passes } = g.chunking(!spec.packedB && (typeof g.k !== "number" || g.k > NN_K_CHUNK) ? NN_K_CHUNK : undefined);
    const nextRows = (h: number): void => {
      g.addTo(pa0, g.kBytes, h);
      g.addTo(pc, 4 * n * h);
    };
    const firstRows = (): void => {
      f.localGet(aBase).localSet(pa0);
      f.localGet(pc0).localSet(pc);
      f.localGet(pb0).localSet(pb);
    };
    const strip = (widths: readonly number[], accumulate: boolean): void => {
      firstRows();
      g.rowBlocks(tile.rows, (h) => tileCode(h, widths, kc, accumulate, spec.packedB ? contiguous(widths.length) : inPlace), nextRows);
    };
    // Staged (stageB): the first row block, always a full one, reads the strip's rows of this
    // pass from B and leaves them at s; the other row blocks read them there.
    const stage = spec.stageB ? g.temp("i32", "stage") : undefined;
    const mRest: Val = typeof g.m === "number" ? g.m - tile.rows : spec.stageB ? g.temp("i32", "mRest") : 0;
    const stagedStrip = (accumulate: boolean): void => {
      firstRows();
      f.localGet(f.get("s")).localSet(stage!);
      tileCode(tile.rows, cols.fullWidths, kc, accumulate, { ...inPlace, copyB: stage! });
      nextRows(tile.rows);
      f.localGet(f.get("s")).localSet(pb);
      g.rowBlocks(tile.rows, (h) => tileCode(h, cols.fullWidths, kc, accumulate, contiguous(tile.cols)), nextRows, mRest);
    };
    const strips = (staged: boolean) => (accumulate: boolean): void => {
      f.localGet(bBase).localSet(pb0);
      f.localGet(c).localSet(pc0);
      g.repeat(cols.full, "colStrips", () => {
        if (staged) stagedStrip(accumulate);
        else strip(cols.fullWidths, accumulate);
        if (spec.packedB) g.addTo(pb0, g.kBytes, 4 * tile.cols);
        else g.addTo(pb0, 16 * tile.cols);
        g.addTo(pc0, 16 * tile.cols);
      });
      if (cols.rest.length > 0) strip(cols.rest, accumulate);
    };
    if (!spec.stageB || cols.full === 0 || (typeof g.m === "number" && g.m < STAGE_FROM_ROWS)) passes(4, strips(false));
    else if (typeof g.m === "number") passes(4, strips(true));
    else {
      f.localGet(g.m).i32Const(tile.rows).i32Sub().localSet(mRest as Local);
      f.localGet(g.m).i32Const(STAGE_FROM_ROWS).i32GeU();
      f.if(undefined, () => passes(4, strips(true)), () => passes(4, strips(false)));
    }
    return;
  }
  // tn: row blocks outer, column tiles inner, each tile running along K. A long K (a conv's
  // kernel gradient sums over every output cell of a chunk: thousands) is taken in chunks of at
  // most TN_K_CHUNK, every tile of C accumulating over them, so that the chunk's rows of A — read
  // a few floats each by every row block — stay in L1 instead of streaming from L2 once per row
  // block. A step kernel (a dense kernel's gradient: K is the batch) takes K whole.
  const { aBase, bBase, kc, passes } = g.chunking(!spec.step && (typeof g.k !== "number" || g.k > TN_K_CHUNK) ? TN_K_CHUNK : undefined);
  // Staged (stageB): each pass first copies its rows of B's full column strips to sB, strip
  // after strip, and each row block its h columns of A to s; the tiles read them there
  // (contiguous rows instead of rows N or M floats apart, which map onto a few L1 sets).
  const staged = spec.stageB === true && cols.full > 0;
  const sB = staged ? g.temp("i32", "stageB") : undefined;
  if (sB) f.localGet(f.get("s")).i32Const(4 * TN_STAGE_A).i32Add().localSet(sB);
  const stageRows = (): void => {
    const from = g.temp("i32", "stageFrom");
    const to = g.temp("i32", "stageTo");
    f.localGet(bBase).localSet(from);
    f.localGet(sB!).localSet(to);
    g.repeat(cols.full, "stageStrips", () => {
      g.copyRows(from, 4 * n, to, kc, cols.fullWidths);
      g.addTo(from, 16 * tile.cols);
    });
  };
  const stageColumns = (h: number): void => {
    const to = g.temp("i32", "stageATo");
    f.localGet(f.get("s")).localSet(to);
    g.copyRows(pa0, g.mBytes, to, kc, [h]);
  };
  const rowBlock = (h: number, accumulate: boolean): void => {
    if (staged) stageColumns(h);
    f.localGet(sB ?? bBase).localSet(pb);
    f.localGet(pc0).localSet(pc);
    const reads = (nv: number): TileReads => (staged ? { ...contiguous(nv), stagedA: true } : inPlace);
    g.repeat(cols.full, "colTiles", () => {
      tileCode(h, cols.fullWidths, kc, accumulate, reads(tile.cols));
      if (staged) g.addTo(pb, kc, 16 * tile.cols);
      else g.addTo(pb, 16 * tile.cols);
      g.addTo(pc, 16 * tile.cols);
    });
    if (cols.rest.length > 0) {
      if (staged) {
        f.localGet(bBase).localSet(pb);
        g.addTo(pb, 16 * tile.cols * cols.full);
      }
      tileCode(h, cols.rest, kc, accumulate, staged ? { ...inPlace, stagedA: true } : inPlace);
    }
  };
  const pass = (accumulate: boolean): void => {
    if (staged) stageRows();
    f.localGet(aBase).localSet(pa0);
    f.localGet(c).localSet(pc0);
    g.rowBlocks(
      tile.rows,
      (h) => rowBlock(h, accumulate),
      (h) => {
        g.addTo(pa0, 4, h);
        g.addTo(pc0, 4 * n * h);
      },
    );
  };
  passes(g.mBytes, pass);
}

/** Byte lanes of an i8x16.shuffle picking f32 lanes (0–3 first operand, 4–7 second). */
function f32Lanes(...lanes: number[]): number[] {
  return lanes.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3]);
}

/** nt: dot products along K, reduced per element of C. */
function buildDotKernel(g: Gen): void {
  const { f, spec, n, tile } = g;
  const [a, b, c] = [f.get("a"), f.get("b"), f.get("c")];
  const pa0 = g.temp("i32", "pa0");
  const pc0 = g.temp("i32", "pc0");
  const pb = g.temp("i32", "pb");
  const pc = g.temp("i32", "pc");
  const paW = g.temp("i32", "paW");
  const pbW = g.temp("i32", "pbW");
  const acc: Local[][] = Array.from({ length: tile.rows }, (_, r) => Array.from({ length: tile.cols }, (_, j) => f.local(`acc${r}_${j}`, "v128")));
  const bv: Local[] = Array.from({ length: tile.cols }, (_, j) => f.local(`b${j}`, "v128"));
  const av = f.local("aRow", "v128");
  const t0 = f.local("red0", "v128");
  const t1 = f.local("red1", "v128");
  const k4: Val = typeof g.k === "number" ? g.k >> 2 : g.temp("i32", "k4");
  const kRest: Val = typeof g.k === "number" ? g.k & 3 : g.temp("i32", "kRest");
  if (typeof g.k !== "number") {
    f.localGet(g.k).i32Const(2).i32ShrU().localSet(k4 as Local);
    f.localGet(g.k).i32Const(3).i32And().localSet(kRest as Local);
  }

  /** One step along K over `width` floats (4, or 1–3 at the end). */
  const step = (h: number, nc: number, width: number): void => {
    for (let j = 0; j < nc; j++) {
      g.loadVec(g.at(pbW, g.kOff[j]!), width);
      f.localSet(bv[j]!);
    }
    for (let r = 0; r < h; r++) {
      g.loadVec(g.at(paW, g.kOff[r]!), width);
      f.localSet(av);
      for (let j = 0; j < nc; j++) {
        f.localGet(av).localGet(bv[j]!);
        g.madd(acc[r]![j]!);
      }
    }
  };

  /** Sums the lanes of x0..x3 into one vector [Σx0, Σx1, Σx2, Σx3], left on the stack. */
  const reduce4 = (x: readonly Local[]): void => {
    const pair = (p: Local, q: Local, into: Local): void => {
      f.localGet(p).localGet(q).i8x16Shuffle(f32Lanes(0, 4, 1, 5));
      f.localGet(p).localGet(q).i8x16Shuffle(f32Lanes(2, 6, 3, 7));
      f.f32x4Add().localSet(into);
    };
    pair(x[0]!, x[1]!, t0);
    pair(x[2]!, x[3]!, t1);
    f.localGet(t0).localGet(t1).i8x16Shuffle(f32Lanes(0, 1, 4, 5));
    f.localGet(t0).localGet(t1).i8x16Shuffle(f32Lanes(2, 3, 6, 7));
    f.f32x4Add();
  };

  const tileCode = (h: number, nc: number): void => {
    for (let r = 0; r < h; r++) for (let j = 0; j < nc; j++) f.v128Const().localSet(acc[r]![j]!);
    f.localGet(pa0).localSet(paW);
    f.localGet(pb).localSet(pbW);
    g.repeat(k4, "kLeft", () => {
      step(h, nc, 4);
      g.addTo(paW, 16);
      g.addTo(pbW, 16);
    });
    if (typeof kRest === "number") {
      if (kRest > 0) step(h, nc, kRest);
    } else {
      g.repeat(kRest, "kTail", () => {
        step(h, nc, 1);
        g.addTo(paW, 4);
        g.addTo(pbW, 4);
      });
    }
    for (let r = 0; r < h; r++) {
      let j = 0;
      for (; j + 4 <= nc; j += 4) {
        const at: Addr = { base: pc, off: 4 * (r * n + j) };
        reduce4(acc[r]!.slice(j, j + 4));
        f.localSet(t0);
        if (spec.accumulate) {
          g.loadVec(at, 4);
          f.localGet(t0).f32x4Add().localSet(t0);
        }
        g.storeVec(at, t0, 4);
      }
      for (; j < nc; j++) {
        const m = g.pushAddr({ base: pc, off: 4 * (r * n + j) });
        const x = acc[r]![j]!;
        f.localGet(x).f32x4ExtractLane(0).localGet(x).f32x4ExtractLane(1).f32Add();
        f.localGet(x).f32x4ExtractLane(2).localGet(x).f32x4ExtractLane(3).f32Add().f32Add();
        if (spec.accumulate) {
          g.pushAddr({ base: pc, off: 4 * (r * n + j) });
          f.f32Load(m).f32Add();
        }
        f.f32Store(m);
      }
    }
  };

  const full = Math.floor(n / tile.cols);
  const rest = n - full * tile.cols;
  const rowBlock = (h: number): void => {
    f.localGet(b).localSet(pb);
    f.localGet(pc0).localSet(pc);
    g.repeat(full, "colTiles", () => {
      tileCode(h, tile.cols);
      g.addTo(pb, g.kBytes, tile.cols);
      g.addTo(pc, 4 * tile.cols);
    });
    if (rest > 0) tileCode(h, rest);
  };

  f.localGet(a).localSet(pa0);
  f.localGet(c).localSet(pc0);
  g.rowBlocks(tile.rows, rowBlock, (h) => {
    g.addTo(pa0, g.kBytes, h);
    g.addTo(pc0, 4 * n * h);
  });
}

/** The kernel for `spec` as a function body over the imported memory. */
export function buildMatmul(spec: MatmulSpec): FunctionBuilder {
  const g = new Gen(spec);
  if (spec.variant === "nt") buildDotKernel(g);
  else buildBroadcastKernel(g);
  return g.f;
}

export interface NamedKernel {
  readonly name: string;
  readonly spec: MatmulSpec;
}

/**
 * A module exporting each kernel under its name, importing `env.memory` (shared when asked:
 * then `max` is required, as for any shared memory).
 */
export function matmulModule(kernels: readonly NamedKernel[], memory: MemoryImport = { min: 1 }): Uint8Array<ArrayBuffer> {
  const mod = new ModuleBuilder().importMemory(memory);
  for (const k of kernels) mod.addFunction(k.name, buildMatmul(k.spec));
  return mod.toBytes();
}

/** A short name describing a spec, e.g. `nn_Md_K784_N128_acc_t4x2`, `tn_Md_Kd_N128_sgd_t4x2`. */
export function kernelName(spec: MatmulSpec): string {
  const t = spec.tile ?? DEFAULT_TILES[spec.variant];
  const d = (x: Dim): string => (x === "dynamic" ? "d" : String(x));
  return `${spec.variant}_M${d(spec.m)}_K${d(spec.k)}_N${spec.n}${spec.accumulate ? "_acc" : ""}${spec.step ? "_sgd" : ""}_t${t.rows}x${t.cols}${spec.packedB ? "_pB" : ""}${spec.stageB ? "_sB" : ""}${spec.fma ? "_fma" : ""}`;
}

/** Whether this JavaScript engine takes relaxed-SIMD kernels (Node 22+, Chrome 114+; Node 20 with --experimental-wasm-relaxed-simd). */
export function relaxedSimdSupported(): boolean {
  const wasm = (globalThis as unknown as { WebAssembly?: { validate(bytes: Uint8Array): boolean } }).WebAssembly;
  return wasm?.validate(matmulModule([{ name: "k", spec: { variant: "nn", m: 4, k: 4, n: 4, accumulate: false, fma: true } }])) ?? false;
}
