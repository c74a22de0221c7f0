import type { Shape } from "../ir/shape.js";
import type { ActivationKernel } from "./wasm/activations.js";
import type { ConvWalkSpec } from "./wasm/im2col.js";

/**
 * What a layer's code generator knows while it writes one node's code. The generated code
 * around it binds these names, so an emitter writes plain loops with constant bounds:
 *
 *   n         the batch size of this call (a number ≤ maxBatch)
 *   training  boolean: dropout on, batchnorm on batch statistics
 *   w, g      the weights and gradients arenas (one typed array each; offsets from `offset`)
 *   x0, x1 …  the inputs, [n, ...inShapes[i]] row-major, batch first
 *   y         the output, [n, ...outShape]
 *   dy        dL/dy (backward only), same layout as y
 *   dx0, dx1  dL/dx (backward only): ADD into them (+=), they hold other consumers' sums;
 *             present only where `needsDx(i)`
 *   rand()    the module's seeded uniform [0,1) generator
 * Parameter gradients accumulate into `g` at the same offsets as the weights in `w`.
 */
export interface EmitContext {
  readonly inShapes: readonly Shape[];
  readonly outShape: Shape;
  readonly precision: "f32" | "f64";
  /** Where a parameter or state (by spec name: `kernel`, `l2.fw.bias`, `moving_mean`) starts in `w`/`g`. */
  offset(param: string): number;
  /**
   * A buffer kept from forward to backward (a dropout mask, batch statistics, gate values),
   * allocated once at construction: `size` elements, times maxBatch when `perSample`; "double"
   * is float64 in any precision, for sums that float32 would round (JS code only: not a kernel's).
   * Returns the local name bound to it in both the forward and the backward code. Asked again
   * under the same name, it is the same buffer, sized for the largest request.
   */
  scratch(name: string, size: number, perSample?: boolean, kind?: "float" | "int" | "double"): string;
  needsDx(input: number): boolean;
  /** The node is `frozen` (a frozen batchnorm runs on its running statistics even in training). */
  readonly frozen?: boolean;
  /**
   * Includes a shared kernel in the module (once) and returns its name: `matmul` (C = A·B),
   * `matmulTN` (C += Aᵀ·B), `matmulNT` (C += A·Bᵀ), `expf` (a fast e^v for f32); see src/codegen/helpers.ts.
   * A matmul's N (its last argument but one… the column count of C) and, for `matmul`, whether it
   * accumulates must be given: with WebAssembly kernels the name returned is a kernel for that
   * N, called with the same arguments as the JS helper.
   */
  helper(name: "matmul" | "matmulTN" | "matmulNT" | "expf" | "batchnormForward" | "batchnormBackward" | "batchnormShards", n?: number, accumulate?: boolean): string;
  /**
   * f32 with WebAssembly kernels: includes a recurrent cell's elementwise step over all batch
   * rows as a SIMD kernel for `units` (src/codegen/wasm/cells.ts) and returns the name to call it
   * by (`kern.NAME`, signature in kernel-set.ts); `js`, a function expression with the same
   * signature and semantics, is the table's JS fallback. Undefined otherwise: emit the JS inline.
   */
  cellKernel?(kind: "lstmForward" | "lstmBackward", units: number, js: string): string | undefined;
  /**
   * f32 with wasm kernels: the kernel-table entry running an activation over a run, called as
   * `(x, xo, y, yo, count)` (forward) or `(a, ao, dy, dyo, dx, dxo, count)` (backward: dx +=
   * dy·f′ from a, which is x for relu and y for tanh and sigmoid); `js` is its JS fallback, a
   * function expression of the same arguments. Undefined where the module has no wasm kernels.
   */
  activationKernel?(kernel: ActivationKernel, js: string): string | undefined;
  /**
   * f32 with wasm kernels: the kernel-table entry running a conv's im2col or col2im walk for this
   * geometry (src/codegen/wasm/im2col.ts), called as `(x, col, co, t0, t1)` (x is x0 for im2col,
   * dx0 for col2im; col's rows start at element co); `js` is its JS fallback, a function
   * expression of the same arguments. Undefined where the module has no wasm kernels.
   */
  convWalk?(spec: ConvWalkSpec, js: string): string | undefined;
  /**
   * Plain SGD folded into the backward pass, where the module can (an f32 build on WebAssembly
   * kernels without --threads, a trainable node): registers `param` as one whose step the layer
   * makes, and returns the kernel-table entry to make it with: called as matmulTN is (its N =
   * `n`) plus a last argument, the rate, it applies `w −= rate·AᵀB` without storing the gradient.
   * In the generated backward pass the local \`rate\` is a number when trainStep folds the batch
   * (plain SGD) and undefined otherwise, when the layer writes g as usual. The layer must make
   * the param's whole gradient in that one call, after its last read of the param in the pass.
   * Undefined where the module does not fold.
   */
  foldedStep?(param: string, n: number): string | undefined;
  /**
   * f32 with wasm kernels: C (+)= A·B where B [k×n] is first copied into column strips (for a
   * B multiplied many times, as a recurrent kernel at every step: its rows of 2 KiB and more
   * would evict each other from L1 between row blocks). `length(k)` floats of scratch hold the
   * strips; `pack(b, bo, dst, k)` is the statement that writes them; `kernel(k)`, the kernel for
   * that K, is called as the matmul helper is, with the strips as B (offset 0). Undefined where
   * the module has no wasm kernels.
   */
  packedMatmul?(n: number, accumulate: boolean): PackedMatmul | undefined;
  /**
   * C (+)= A·B [k×n] as the matmul helper computes it: the kernel to call, as the helper is
   * called and then `args`. With wasm kernels, where B's rows would map its column strips onto
   * few L1 sets (matmul.ts, stagingPays), a kernel that first copies them into scratch
   * (matmul.ts, stageB); otherwise `helper("matmul", n, accumulate)` and no `args`.
   */
  matmulCall(n: number, accumulate: boolean, k: number): MatmulCall;
  /**
   * The same for matmulTN, C [m×n] += AᵀB: staged where A's or B's rows (m or n floats) are a
   * multiple of 64 (stagingPays), the kernel copying each pass's rows of B and of A into scratch.
   */
  matmulTNCall(m: number, n: number): MatmulCall;
  /** The build's matmuls run on WebAssembly SIMD kernels (f32, `--kernels wasm`), where a product is cheaper than a JS loop. */
  readonly simdKernels?: boolean;
  /** The node's truncated-BPTT window, when training uses one. */
  readonly bptt?: number;
  /**
   * Threaded builds (dlc compile --threads): what a layer whose training pass needs the whole
   * batch (batchnorm's statistics) uses to meet the batch's other shards. Undefined otherwise.
   */
  readonly shards?: ShardContext;
}

export interface MatmulCall {
  readonly kernel: string;
  /** The call's last arguments after the helper's own (`, …`), or "". */
  readonly args: string;
}

export interface PackedMatmul {
  kernel(k: number): string;
  length(k: number): number;
  pack(b: string, bo: string | number, dst: string, k: number): string;
}

export interface ShardContext {
  /** A statement after which this shard waits until every shard has reached the same point (a `yield`). */
  sync(): string;
  /** Expressions: this shard's index, the shard count (1 for a model that is not a shard), the batch's samples. */
  readonly index: string;
  readonly count: string;
  readonly batch: string;
  /** An array every shard reads and writes, one row of `size` per shard; its local name. */
  table(name: string, size: number): string;
}

/** Generates a layer kind's forward and backward code, specialised to its shapes. */
export interface LayerEmitter<A> {
  forward(a: A, c: EmitContext): string;
  backward(a: A, c: EmitContext): string;
}
