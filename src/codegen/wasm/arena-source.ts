/**
 * The generated module's side of the kernels, the same in every module that has some (it follows
 * the kernel tables KernelSet writes, and uses their KERNEL_WASM, KernelTable, wasmKernelTable
 * and jsKernelTable): compiling the embedded bytes once, saying once why the JS kernels run
 * instead, and the Arena that gives each model one WebAssembly memory for all of its arrays.
 */
export const ARENA_SOURCE = `interface WasmMemoryLike {
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
}
interface WasmApi {
  readonly Module: new (bytes: Uint8Array) => object;
  readonly Instance: new (module: object, imports: object) => { readonly exports: Readonly<Record<string, unknown>> };
  readonly Memory: new (descriptor: { initial: number; maximum?: number; shared?: boolean }) => WasmMemoryLike;
}

/** Compiled once per module: the kernels, or why they cannot run here (said once, on first use). */
let kernelModule: object | string | undefined;
/** Whether kernelModule is the relaxed-SIMD build (KERNEL_WASM_FMA). */
let kernelFma = false;

function compiledKernels(): object | string {
  if (kernelModule === undefined) {
    const wasm = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;
    if (wasm && KERNEL_WASM_FMA !== undefined) {
      try {
        kernelModule = new wasm.Module(wasmBytes(KERNEL_WASM_FMA));
        kernelFma = true;
      } catch {
        // No relaxed SIMD in this engine: the plain SIMD kernels, as a build without --fma.
      }
    }
    try {
      if (!wasm) throw new Error("this JavaScript environment has no WebAssembly");
      kernelModule ??= new wasm.Module(wasmBytes(KERNEL_WASM));
    } catch (e) {
      kernelModule = \`WebAssembly SIMD kernels unavailable (\${e instanceof Error ? e.message : String(e)}); using the JavaScript kernels\`;
      warnOnce(kernelModule);
    }
  }
  return kernelModule;
}

const warned = new Set<string>();

/** Says why the JS kernels run instead, once per reason (on stderr in Node, the console in browsers). */
function warnOnce(text: string): void {
  if (warned.has(text)) return;
  warned.add(text);
  (globalThis as unknown as { console?: { warn(text: string): void } }).console?.warn(text);
}

/** Largest WebAssembly memory this module asks for (bytes); bigger models use JS kernels. */
const WASM_MEMORY_LIMIT = 2 ** 31;

/**
 * One model's float32 storage: a single WebAssembly memory that its kernels address (or one
 * ArrayBuffer with the JS kernels), carved into typed arrays in allocation order. \`shared\`
 * (threaded builds): a shared memory (a SharedArrayBuffer with the JS kernels) that worker
 * threads attach to, passing \`attach\`: the main thread's \`memory\`.
 */
class Arena {
  readonly kernels: KernelTable;
  readonly engine: "wasm" | "js";
  /** The kernels multiply-add with relaxed SIMD (a --fma build in an engine that has it). */
  readonly fma: boolean;
  /** Whether other threads can attach to this memory. */
  readonly shared: boolean;
  /** What a worker attaches to: the WebAssembly.Memory, or the SharedArrayBuffer (JS kernels). */
  readonly memory: unknown;
  private readonly buffer: ArrayBuffer | SharedArrayBuffer;
  private next = 0;

  constructor(floats: number, engine: "wasm" | "js", shared = false, attach?: unknown) {
    const bytes = 4 * floats;
    if (engine === "wasm" && bytes > WASM_MEMORY_LIMIT && attach === undefined) warnOnce(\`this model needs \${Math.ceil(bytes / 2 ** 20)} MiB of arrays (a smaller maxBatch needs less), more than the \${WASM_MEMORY_LIMIT / 2 ** 30} GiB the WebAssembly kernels address; using the JavaScript kernels\`);
    const compiled = engine === "wasm" && bytes <= WASM_MEMORY_LIMIT ? compiledKernels() : "js";
    const wasm = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;
    const pages = Math.max(1, Math.ceil(bytes / 65536));
    let memory: WasmMemoryLike | undefined;
    if (typeof compiled === "object" && wasm) {
      if (attach !== undefined) memory = attach as WasmMemoryLike;
      else {
        try {
          memory = new wasm.Memory(shared ? { initial: pages, maximum: pages, shared: true } : { initial: pages });
        } catch (e) {
          warnOnce(\`a shared WebAssembly memory is unavailable here (\${e instanceof Error ? e.message : String(e)}); using the JavaScript kernels on one thread\`);
        }
      }
    }
    if (memory && typeof compiled === "object" && wasm) {
      this.buffer = memory.buffer;
      this.memory = memory;
      this.kernels = wasmKernelTable(new wasm.Instance(compiled, { env: { memory } }).exports);
      this.engine = "wasm";
      this.fma = kernelFma;
    } else {
      const canShare = shared && typeof SharedArrayBuffer === "function";
      this.buffer = attach !== undefined ? (attach as SharedArrayBuffer) : canShare ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes);
      this.memory = this.buffer;
      this.kernels = jsKernelTable();
      this.engine = "js";
      this.fma = false;
    }
    this.shared = shared && typeof SharedArrayBuffer === "function" && this.buffer instanceof SharedArrayBuffer;
  }

  f32(count: number): Float32Array {
    const view = new Float32Array(this.buffer, this.next, count);
    this.next += 4 * count;
    return view;
  }

  i32(count: number): Int32Array {
    const view = new Int32Array(this.buffer, this.next, count);
    this.next += 4 * count;
    return view;
  }
}`;
