/**
 * A small WebAssembly binary writer: just what dlc's generated kernels need (one imported
 * memory, exported functions of i32 parameters, structured control flow, i32/f32 scalar code
 * and the fixed-width SIMD (`v128`, 0xFD-prefixed) loads, stores and f32x4 arithmetic; the only
 * globals are the mutable v128 ones holding pooled splat constants, see `splatConstant`).
 *
 *   const mod = new ModuleBuilder().importMemory({ min: 1 });
 *   const f = new FunctionBuilder([["dst", "i32"]]);
 *   f.localGet("dst").f32Const(1).f32Store().end(); // …or let `addFunction` close the body
 *   mod.addFunction("one", f);
 *   const bytes = mod.toBytes();
 *
 * Opcode numbers follow the core spec (binary format, §5.4) and the finished fixed-width SIMD
 * proposal (its final renumbered opcode table), e.g. `v128.load` = 0xFD 0x00,
 * `f32x4.splat` = 0xFD 0x13, `f32x4.add` = 0xFD 0xE4, `f32x4.mul` = 0xFD 0xE6.
 * The SIMD sub-opcode is an unsigned LEB128 after the 0xFD prefix (0xE4 takes two bytes).
 * No dependencies: the output runs in any engine with WebAssembly SIMD (Node ≥ 16.4, current
 * browsers).
 */

export type ValType = "i32" | "i64" | "f32" | "f64" | "v128";

const VALTYPE: Readonly<Record<ValType, number>> = { i32: 0x7f, i64: 0x7e, f32: 0x7d, f64: 0x7c, v128: 0x7b };

/** Unsigned LEB128 of a non-negative integer below 2³². */
export function uleb(n: number): number[] {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new RangeError(`uleb: ${n} is not a u32`);
  const out: number[] = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

/** Signed LEB128 of an integer in the i32 range (values up to 2³²−1 are taken modulo 2³², as `i32.const` does). */
export function sleb(n: number): number[] {
  if (!Number.isInteger(n) || n < -0x80000000 || n > 0xffffffff) throw new RangeError(`sleb: ${n} is not an i32`);
  let v = n | 0;
  const out: number[] = [];
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    const done = (v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

function utf8Name(s: string): number[] {
  const bytes = [...new TextEncoder().encode(s)];
  return [...uleb(bytes.length), ...bytes];
}

function vec(items: readonly number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

/** The bits of x rounded to f32 (as a key: equal constants share one global). */
function f32Bits(x: number): number {
  const view = new DataView(new ArrayBuffer(4));
  view.setFloat32(0, x, true);
  return view.getUint32(0, true);
}

/** A mutable v128 global initialised to four copies of the f32 with these bits. */
function splatGlobal(bits: number): number[] {
  const lane = [bits & 0xff, (bits >>> 8) & 0xff, (bits >>> 16) & 0xff, bits >>> 24];
  return [VALTYPE.v128, 0x01, 0xfd, ...uleb(0x0c), ...lane, ...lane, ...lane, ...lane, 0x0b];
}

function section(id: number, content: readonly number[]): number[] {
  return [id, ...uleb(content.length), ...content];
}

/** A local (parameters included) of a function under construction. */
export interface Local {
  readonly index: number;
  readonly name: string;
  readonly type: ValType;
}

/** `align` is log2 of the byte alignment hint (it may not exceed the access's natural alignment). */
export interface MemArg {
  readonly offset?: number;
  readonly align?: number;
}

type LocalRef = Local | string;

/** Block signature: none, or one result. */
type BlockType = ValType | undefined;

/**
 * Builds one function body. Instructions are methods returning `this`, so code reads as a
 * stack-machine listing. Locals are declared by name (`local`) and referred to by name or
 * handle; labels of `block`/`loop`/`if` may be named and branched to by name (`br`, `brIf`),
 * the builder turns names into relative depths.
 */
export class FunctionBuilder {
  readonly params: readonly Local[];
  readonly results: readonly ValType[];
  private readonly locals: Local[] = [];
  private readonly byName = new Map<string, Local>();
  private readonly code: number[] = [];
  /** Open control frames, innermost last (name, or undefined for an anonymous one). */
  private readonly labels: (string | undefined)[] = [];
  private ended = false;
  /** splatConstant's locals by the 32 bits of their lane, in first-use order. */
  private readonly pooled = new Map<number, Local>();

  constructor(params: readonly (readonly [string, ValType])[] = [], results: readonly ValType[] = []) {
    this.params = params.map(([name, type], index) => this.register({ index, name, type }));
    this.results = [...results];
  }

  private register(l: Local): Local {
    if (this.byName.has(l.name)) throw new Error(`wasm: duplicate local "${l.name}"`);
    this.byName.set(l.name, l);
    return l;
  }

  /** Declares a local (zero-initialised, as wasm guarantees). */
  local(name: string, type: ValType): Local {
    const l = this.register({ index: this.params.length + this.locals.length, name, type });
    this.locals.push(l);
    return l;
  }

  /** The local or parameter of that name. */
  get(name: string): Local {
    const l = this.byName.get(name);
    if (!l) throw new Error(`wasm: no local "${name}"`);
    return l;
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  private idx(ref: LocalRef): number {
    return typeof ref === "string" ? this.get(ref).index : ref.index;
  }

  /** Appends raw bytes (an escape hatch for opcodes without a method). */
  raw(...bytes: number[]): this {
    if (this.ended) throw new Error("wasm: function body already ended");
    for (const b of bytes) this.code.push(b);
    return this;
  }

  private simd(op: number, ...imm: number[]): this {
    return this.raw(0xfd, ...uleb(op), ...imm);
  }

  private mem(op: number[], m: MemArg, natural: number): number[] {
    const align = m.align ?? natural;
    if (align > natural) throw new Error(`wasm: alignment 2^${align} exceeds natural 2^${natural}`);
    return [...op, ...uleb(align), ...uleb(m.offset ?? 0)];
  }

  // ---- control ---------------------------------------------------------------------------

  private open(op: number, label: string | undefined, type: BlockType, body?: () => void): this {
    this.raw(op, type === undefined ? 0x40 : VALTYPE[type]);
    this.labels.push(label);
    if (body) {
      body();
      this.end();
    }
    return this;
  }

  /** `block`; with `body`, emits it and the matching `end`. Branching to a block exits it. */
  block(label?: string, body?: () => void, type?: BlockType): this {
    return this.open(0x02, label, type, body);
  }

  /** `loop`; with `body`, emits it and the matching `end`. Branching to a loop restarts it. */
  loop(label?: string, body?: () => void, type?: BlockType): this {
    return this.open(0x03, label, type, body);
  }

  /** `if` (pops an i32 condition); with `then`, emits it (and `otherwise` after `else`) and the `end`. */
  if(label?: string, then?: () => void, otherwise?: () => void, type?: BlockType): this {
    this.open(0x04, label, type);
    if (then) {
      then();
      if (otherwise) {
        this.raw(0x05);
        otherwise();
      }
      this.end();
    }
    return this;
  }

  else(): this {
    return this.raw(0x05);
  }

  /** Closes the innermost open block/loop/if, or the function body when none is open. */
  end(): this {
    this.raw(0x0b);
    if (this.labels.length > 0) this.labels.pop();
    else this.ended = true;
    return this;
  }

  private depth(target: string | number): number {
    if (typeof target === "number") return target;
    const i = this.labels.lastIndexOf(target);
    if (i < 0) throw new Error(`wasm: no enclosing label "${target}"`);
    return this.labels.length - 1 - i;
  }

  br(target: string | number): this {
    return this.raw(0x0c, ...uleb(this.depth(target)));
  }

  brIf(target: string | number): this {
    return this.raw(0x0d, ...uleb(this.depth(target)));
  }

  return(): this {
    return this.raw(0x0f);
  }

  drop(): this {
    return this.raw(0x1a);
  }

  // ---- locals ----------------------------------------------------------------------------

  localGet(l: LocalRef): this {
    return this.raw(0x20, ...uleb(this.idx(l)));
  }

  localSet(l: LocalRef): this {
    return this.raw(0x21, ...uleb(this.idx(l)));
  }

  localTee(l: LocalRef): this {
    return this.raw(0x22, ...uleb(this.idx(l)));
  }

  // ---- i32 ---------------------------------------------------------------------------------

  i32Const(n: number): this {
    return this.raw(0x41, ...sleb(n));
  }
  i32Eqz(): this { return this.raw(0x45); }
  i32Eq(): this { return this.raw(0x46); }
  i32Ne(): this { return this.raw(0x47); }
  i32LtS(): this { return this.raw(0x48); }
  i32LtU(): this { return this.raw(0x49); }
  i32GtS(): this { return this.raw(0x4a); }
  i32GtU(): this { return this.raw(0x4b); }
  i32LeS(): this { return this.raw(0x4c); }
  i32LeU(): this { return this.raw(0x4d); }
  i32GeS(): this { return this.raw(0x4e); }
  i32GeU(): this { return this.raw(0x4f); }
  i32Add(): this { return this.raw(0x6a); }
  i32Sub(): this { return this.raw(0x6b); }
  i32Mul(): this { return this.raw(0x6c); }
  i32DivU(): this { return this.raw(0x6e); }
  i32RemU(): this { return this.raw(0x70); }
  i32And(): this { return this.raw(0x71); }
  i32Or(): this { return this.raw(0x72); }
  i32Shl(): this { return this.raw(0x74); }
  i32ShrU(): this { return this.raw(0x76); }

  // ---- f32 ---------------------------------------------------------------------------------

  f32Const(x: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, x, true);
    return this.raw(0x43, ...b);
  }
  f32Load(m: MemArg = {}): this { return this.raw(...this.mem([0x2a], m, 2)); }
  f32Store(m: MemArg = {}): this { return this.raw(...this.mem([0x38], m, 2)); }
  f32Add(): this { return this.raw(0x92); }
  f32Sub(): this { return this.raw(0x93); }
  f32Mul(): this { return this.raw(0x94); }
  f32Div(): this { return this.raw(0x95); }
  f32Sqrt(): this { return this.raw(0x91); }

  /** `memory.copy` within memory 0 (pops destination, source, byte count; overlap allowed). */
  memoryCopy(): this {
    return this.raw(0xfc, ...uleb(0x0a), 0x00, 0x00);
  }

  // ---- v128 (0xFD prefix) ------------------------------------------------------------------

  v128Load(m: MemArg = {}): this { return this.raw(...this.mem([0xfd, ...uleb(0x00)], m, 4)); }
  /** Loads one f32 and broadcasts it to the four lanes (`v128.load32_splat`). */
  v128Load32Splat(m: MemArg = {}): this { return this.raw(...this.mem([0xfd, ...uleb(0x09)], m, 2)); }
  v128Store(m: MemArg = {}): this { return this.raw(...this.mem([0xfd, ...uleb(0x0b)], m, 4)); }
  /** A 128-bit constant from 16 little-endian bytes. */
  v128Const(bytes: readonly number[] = new Array<number>(16).fill(0)): this {
    if (bytes.length !== 16) throw new Error("wasm: v128.const takes 16 bytes");
    return this.simd(0x0c, ...bytes);
  }
  /** Lane shuffle of two vectors: each of the 16 result bytes picks byte 0–31 of the pair. */
  i8x16Shuffle(lanes: readonly number[]): this {
    if (lanes.length !== 16 || lanes.some((l) => l < 0 || l > 31)) throw new Error("wasm: i8x16.shuffle takes 16 lane indices below 32");
    return this.simd(0x0d, ...lanes);
  }
  f32x4Splat(): this { return this.simd(0x13); }
  f32x4ExtractLane(lane: number): this { return this.simd(0x1f, this.lane(lane, 4)); }
  f32x4ReplaceLane(lane: number): this { return this.simd(0x20, this.lane(lane, 4)); }
  /** Stack: address, vector → vector with lane `lane` replaced by the 32 bits at the address. */
  v128Load32Lane(lane: number, m: MemArg = {}): this { return this.raw(...this.mem([0xfd, ...uleb(0x56)], m, 2), this.lane(lane, 4)); }
  /** Stack: address, vector; stores 32-bit lane `lane`. */
  v128Store32Lane(lane: number, m: MemArg = {}): this { return this.raw(...this.mem([0xfd, ...uleb(0x5a)], m, 2), this.lane(lane, 4)); }
  /** Stack: address, vector; stores 64-bit lane `lane` (f32 lanes 2·lane and 2·lane+1). */
  v128Store64Lane(lane: number, m: MemArg = {}): this { return this.raw(...this.mem([0xfd, ...uleb(0x5b)], m, 3), this.lane(lane, 2)); }
  /** Loads 32 bits into lane 0, zeroing the others. */
  v128Load32Zero(m: MemArg = {}): this { return this.raw(...this.mem([0xfd, ...uleb(0x5c)], m, 2)); }
  /** Loads 64 bits into lanes 0–1, zeroing the others. */
  v128Load64Zero(m: MemArg = {}): this { return this.raw(...this.mem([0xfd, ...uleb(0x5d)], m, 3)); }
  f32x4Add(): this { return this.simd(0xe4); }
  f32x4Sub(): this { return this.simd(0xe5); }
  f32x4Mul(): this { return this.simd(0xe6); }
  f32x4Div(): this { return this.simd(0xe7); }
  f32x4Sqrt(): this { return this.simd(0xe3); }
  f32x4Abs(): this { return this.simd(0xe0); }
  f32x4Neg(): this { return this.simd(0xe1); }
  /** `f32x4.pmin` of (a, b): b < a ? b : a per lane (one instruction, where min is several), so pmin(NaN, c) is NaN. */
  f32x4Pmin(): this { return this.simd(0xea); }
  /** `f32x4.pmax` of (a, b): a < b ? b : a per lane, so pmax(0, NaN) is 0 (as JS `v > 0 ? v : 0`). */
  f32x4Pmax(): this { return this.simd(0xeb); }
  f32x4Gt(): this { return this.simd(0x44); }
  v128And(): this { return this.simd(0x4e); }
  /** Rounds each lane to the nearest integer, ties to even. */
  f32x4Nearest(): this { return this.simd(0x6a); }

  /**
   * Four copies of one f32 from a local that the function's prologue loads
   * once from a mutable global of the module (ModuleBuilder adds one per distinct value).
   * V8 rebuilds a `v128.const` at every use inside a loop (three instructions, even from a
   * local it was stored in): a value it cannot assume constant stays in a register or a
   * stack slot instead. For constants used in hot loops.
   */
  splatConstant(x: number): this {
    return this.pooledSplat(f32Bits(x));
  }

  /** Four copies of one i32 from a pooled local, as splatConstant. */
  splatConstantI32(n: number): this {
    return this.pooledSplat(n >>> 0);
  }

  private pooledSplat(bits: number): this {
    let l = this.pooled.get(bits);
    if (!l) {
      l = this.local(`pooled_${this.pooled.size}`, "v128");
      this.pooled.set(bits, l);
    }
    return this.localGet(l);
  }

  /** The 32-bit lane of every pooled constant, in first-use order. */
  pooledConstants(): number[] {
    return [...this.pooled.keys()];
  }


  i32x4Splat(): this { return this.simd(0x11); }
  i32x4Add(): this { return this.simd(0xae); }
  /** Stack: vector, i32 shift count → each lane shifted left (count mod 32). */
  i32x4Shl(): this { return this.simd(0xab); }
  /** f32 lanes → i32, truncating toward zero, saturating (NaN → 0). */
  i32x4TruncSatF32x4S(): this { return this.simd(0xf8); }
  /**
   * `f32x4.relaxed_madd` (relaxed-SIMD proposal, 0xFD 0x105): a·b + c, fused or not at the
   * engine's choice. Not in Node 20 without `--experimental-wasm-relaxed-simd`; a module using it
   * fails `WebAssembly.validate` where unsupported.
   */
  f32x4RelaxedMadd(): this { return this.simd(0x105); }

  private lane(lane: number, count: number): number {
    if (!Number.isInteger(lane) || lane < 0 || lane >= count) throw new RangeError(`wasm: lane ${lane} out of 0..${count - 1}`);
    return lane;
  }

  /**
   * The encoded body (locals declaration and code), closing it with `end` if still open.
   * `globalOf` gives the module's global holding each pooled constant (by its lane's 32 bits).
   */
  encodeBody(globalOf?: (bits: number) => number): number[] {
    if (this.labels.length > 0) throw new Error(`wasm: ${this.labels.length} unclosed block(s)`);
    if (!this.ended) this.end();
    const prologue: number[] = [];
    for (const [bits, l] of this.pooled) {
      if (!globalOf) throw new Error("wasm: a function with pooled constants is encoded by its module");
      prologue.push(0x23, ...uleb(globalOf(bits)), 0x21, ...uleb(l.index));
    }
    const groups: number[][] = [];
    for (const l of this.locals) {
      const last = groups[groups.length - 1];
      if (last && last[1] === VALTYPE[l.type]) last[0]!++;
      else groups.push([1, VALTYPE[l.type]]);
    }
    const decl = vec(groups.map(([n, t]) => [...uleb(n!), t!]));
    const body = [...decl, ...prologue, ...this.code];
    return [...uleb(body.length), ...body];
  }

  /** The encoded function type (`0x60 params results`). */
  encodeType(): number[] {
    return [0x60, ...vec(this.params.map((p) => [VALTYPE[p.type]])), ...vec(this.results.map((r) => [VALTYPE[r]]))];
  }
}

export interface MemoryImport {
  readonly module?: string;
  readonly name?: string;
  /** Initial size in 64 KiB pages. */
  readonly min: number;
  /** Maximum pages; required when shared. */
  readonly max?: number;
  readonly shared?: boolean;
}

/**
 * A module of exported functions over one imported linear memory (`env.memory` by default).
 * Function types are deduplicated.
 */
export class ModuleBuilder {
  private memory: MemoryImport | undefined;
  private readonly functions: { readonly name: string; readonly fn: FunctionBuilder }[] = [];

  importMemory(m: MemoryImport): this {
    if (m.shared && m.max === undefined) throw new Error("wasm: a shared memory needs a maximum");
    if (m.max !== undefined && m.max < m.min) throw new Error("wasm: memory maximum below minimum");
    this.memory = m;
    return this;
  }

  /** Adds an exported function; returns its function index. */
  addFunction(name: string, fn: FunctionBuilder): number {
    if (this.functions.some((f) => f.name === name)) throw new Error(`wasm: duplicate export "${name}"`);
    this.functions.push({ name, fn });
    return this.functions.length - 1;
  }

  toBytes(): Uint8Array<ArrayBuffer> {
    const types: number[][] = [];
    const typeKey: string[] = [];
    const typeOf = this.functions.map(({ fn }) => {
      const t = fn.encodeType();
      const key = t.join(",");
      let i = typeKey.indexOf(key);
      if (i < 0) {
        i = types.length;
        types.push(t);
        typeKey.push(key);
      }
      return i;
    });
    // Sections are joined at the end, not pushed as spread arguments: a large code section
    // (hundreds of thousands of bytes) would exceed the engine's argument limit.
    const sections: number[][] = [[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]];
    sections.push(section(1, vec(types)));
    if (this.memory) {
      const m = this.memory;
      const limits = m.shared ? [0x03, ...uleb(m.min), ...uleb(m.max!)] : m.max !== undefined ? [0x01, ...uleb(m.min), ...uleb(m.max)] : [0x00, ...uleb(m.min)];
      const entry = [...utf8Name(m.module ?? "env"), ...utf8Name(m.name ?? "memory"), 0x02, ...limits];
      sections.push(section(2, vec([entry])));
    }
    sections.push(section(3, vec(typeOf.map((t) => uleb(t)))));
    // One global per distinct pooled constant, shared by the functions using it.
    const globals = new Map<number, number>();
    for (const { fn } of this.functions) for (const bits of fn.pooledConstants()) if (!globals.has(bits)) globals.set(bits, globals.size);
    if (globals.size > 0) sections.push(section(6, vec([...globals.keys()].map(splatGlobal))));
    sections.push(section(7, vec(this.functions.map(({ name }, i) => [...utf8Name(name), 0x00, ...uleb(i)]))));
    sections.push(section(10, vec(this.functions.map(({ fn }) => fn.encodeBody((bits) => globals.get(bits)!)))));
    return Uint8Array.from(sections.flat());
  }
}
