import { nodeProcess, now } from "./host.js";
import { clipScale, optimizerKindIndex } from "./clip.js";
import { randomOnState } from "./random.js";
import type { LossName } from "./internal-types.js";

/**
 * Data-parallel training on worker threads, for modules compiled with `dlc compile --threads S`.
 *
 * A batch of n samples is always split into the same S shards (shard k: rows ⌊kn/S⌋ … ⌊(k+1)n/S⌋ − 1),
 * whatever the number of threads T (1 … S) that run them: thread j runs shards j, j + T, …. Each
 * shard has its own gradients, which are added into the model's in shard order. So the arithmetic
 * — and every weight after training — is identical for any T at a given seed.
 *
 * All arrays live in one shared memory: every thread builds the same model over it (same
 * allocation order, so the same views) and the same shard replicas: the model's per-sample arrays
 * cut at row k·cap, the weights shared, the gradients and fixed scratch their own. Threads meet
 * through Atomics on a small control array; workers block between batches (a short spin first).
 */

/** What a shard replica of the generated Model offers (the same object shape as Model). */
export interface ShardReplica {
  loss: LossName | null;
  /** The batch row of the shard's first sample (for messages). */
  firstRow: number;
  /** The whole batch's samples (batchnorm's statistics span them). */
  batchRows: number;
  /** Builds with sync points: the passes in steps, pausing (yield) where every shard must meet. */
  passSteps?(n: number, training: boolean): Generator<void, void, void>;
  backwardSteps?(n: number): Generator<void, void, void>;
  readonly g: Float32Array;
  pass(n: number, training: boolean): unknown;
  lossAndGrad(targets: ArrayLike<number>, n: number, over?: number): number;
  backward(n: number): void;
  /** The optimizer's update of weights [from, to) with the given settings (shard 0's replica: the model's g). */
  stepRange(from: number, to: number, kind: number, rate: number, momentum: number, beta1: number, beta2: number, eps: number, t: number, weightDecay: number, scale: number): void;
  /** Σ g² over the trainable weights in [from, to) (gradient clipping's norm). */
  gradientSquares(from: number, to: number): number;
}

/** The shared buffers every thread of one model sees (passed to workers as they start); plain ArrayBuffers where memory cannot be shared (then there is one thread). */
export interface ShardBuffers {
  /** Int32 control words (CONTROL) and an error message. */
  readonly control: SharedArrayBuffer | ArrayBuffer;
  /** One float64 loss per shard. */
  readonly losses: SharedArrayBuffer | ArrayBuffer;
  /** Each shard's targets (float64), at row k·cap like the other per-sample arrays. */
  readonly targets: SharedArrayBuffer | ArrayBuffer;
  /** The batch's optimizer settings (float64, OPTIMIZER's slots), then clipping's sums of squares per block (one per shard). */
  readonly settings: SharedArrayBuffer | ArrayBuffer;
  /** Each shard's dropout generator state (uint32). */
  readonly random: SharedArrayBuffer | ArrayBuffer;
}

const OPTIMIZER = { kind: 0, rate: 1, momentum: 2, beta1: 3, beta2: 4, eps: 5, t: 6, weightDecay: 7, clip: 8 } as const;
/** Where clipping's per-block sums of squares start in the settings. */
const SQUARES_START = 16;

const CONTROL = { generation: 0, job: 1, n: 2, loss: 3, width: 4, done: 5, ready: 6, failed: 7, threads: 8, messageLength: 9, computed: 10, arrived: 11, summed: 12, measured: 13 } as const;
const MESSAGE_START = 16;
const MESSAGE_CHARS = 1024;
const JOB_TRAIN = 1;
const JOB_EXIT = 2;
const LOSS_NAMES: readonly LossName[] = ["squared", "cross_entropy", "binary_cross_entropy"];
/** How long a thread polls a control word before sleeping on it (ms): waking one costs tens of µs. */
const SPIN_MS = 1;

/** The shared buffers of a model with `shards` shards; shard k's generator is seeded (seed ^ 0x2545f491) + k. */
export function newShardBuffers(shards: number, targetValues: number, seed: number): ShardBuffers {
  const random = sharedBuffer(4 * shards);
  const states = new Uint32Array(random);
  for (let k = 0; k < shards; k++) states[k] = ((seed ^ 0x2545f491) + k) >>> 0;
  return {
    random,
    control: sharedBuffer(4 * (MESSAGE_START + MESSAGE_CHARS)),
    losses: sharedBuffer(8 * shards),
    targets: sharedBuffer(8 * Math.max(1, targetValues)),
    settings: sharedBuffer(8 * (SQUARES_START + shards)),
  };
}

/**
 * A SharedArrayBuffer, or a plain ArrayBuffer where there is none (a browser page without
 * cross-origin isolation): the model then trains on one thread, which needs no sharing.
 */
function sharedBuffer(bytes: number): SharedArrayBuffer | ArrayBuffer {
  return typeof SharedArrayBuffer === "function" ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes);
}

/** The shards of one model, as every thread holds them, and the part of a batch each thread runs. */
export class ShardSet {
  readonly count: number;
  private readonly control: Int32Array;
  private readonly losses: Float64Array;
  private readonly targets: Float64Array;
  private readonly settings: Float64Array;
  /** Per shard: its targets' view, remade only when its length changes. */
  private readonly targetViews: Float64Array[];

  constructor(
    private readonly replicas: readonly ShardReplica[],
    /** Rows each shard's region holds (per-sample arrays hold count·cap rows). */
    readonly cap: number,
    readonly buffers: ShardBuffers,
    /** Points in a training step where every shard waits for the others (the generated SYNC_POINTS). */
    private readonly syncPoints: number,
    /** into[start … start + count − 1] += from's (the kernels' sgd with rate −1). */
    private readonly add: (into: Float32Array, from: Float32Array, start: number, count: number) => void,
  ) {
    this.count = replicas.length;
    this.control = new Int32Array(buffers.control);
    this.losses = new Float64Array(buffers.losses);
    this.targets = new Float64Array(buffers.targets);
    this.settings = new Float64Array(buffers.settings);
    this.targetViews = replicas.map(() => this.targets.subarray(0, 0));
  }

  /** First row of shard k in a batch of n. */
  start(k: number, n: number): number {
    return Math.floor((k * n) / this.count);
  }

  /** Forward, loss and backward of shard k (its gradients into its own g; zero rows: nothing). */
  runShard(k: number, n: number, loss: LossName, width: number): void {
    const rows = this.start(k + 1, n) - this.start(k, n);
    if (rows === 0) {
      this.losses[k] = 0;
      return;
    }
    const r = this.prepare(k, n, loss);
    r.pass(rows, true);
    const l = r.lossAndGrad(this.targetsOf(k, rows, width), rows, n);
    this.losses[k] = l;
    if (l - l !== 0) return;
    r.g.fill(0);
    r.backward(rows);
  }

  /**
   * runShard in steps, for a build with sync points: pausing where every shard must meet. It
   * pauses as often whatever the loss (backward runs even after a non-finite one), since every
   * thread counts the meetings.
   */
  private *shardSteps(k: number, n: number, loss: LossName, width: number): Generator<void, void, void> {
    const rows = this.start(k + 1, n) - this.start(k, n);
    const r = this.prepare(k, n, loss);
    yield* r.passSteps!(rows, true);
    this.losses[k] = r.lossAndGrad(this.targetsOf(k, rows, width), rows, n);
    r.g.fill(0);
    yield* r.backwardSteps!(rows);
  }

  private prepare(k: number, n: number, loss: LossName): ShardReplica {
    const r = this.replicas[k]!;
    r.loss = loss;
    r.firstRow = this.start(k, n);
    r.batchRows = n;
    return r;
  }

  /** Shard k's targets: a view remade only when its length changes. */
  private targetsOf(k: number, rows: number, width: number): Float64Array {
    let targets = this.targetViews[k]!;
    if (targets.length !== rows * width) {
      const at = k * this.cap * width;
      targets = this.targetViews[k] = this.targets.subarray(at, at + rows * width);
    }
    return targets;
  }

  /**
   * The shards of thread `thread` with sync points: each of its shards goes to the next meeting,
   * then every thread waits for the others there (round r is done when threads·(r + 1) have
   * arrived). A shard that throws stops, but its thread still comes to every meeting.
   */
  private runSynced(thread: number, threads: number, n: number, loss: LossName, width: number): void {
    const running: Generator<void, void, void>[] = [];
    for (let k = thread; k < this.count; k += threads) {
      if (this.start(k + 1, n) > this.start(k, n)) running.push(this.shardSteps(k, n, loss, width));
      else this.losses[k] = 0;
    }
    const control = this.control;
    let error: unknown;
    for (let round = 0; round <= this.syncPoints; round++) {
      for (let i = 0; i < running.length; i++) {
        if (error !== undefined) break;
        try {
          const step = running[i]!.next();
          if (step.done !== (round === this.syncPoints)) throw new Error(`internal: a shard met the others ${round} times, expected ${this.syncPoints}`);
        } catch (e) {
          error = e;
        }
      }
      if (round === this.syncPoints) break;
      Atomics.add(control, CONTROL.arrived, 1);
      Atomics.notify(control, CONTROL.arrived);
      waitForCount(control, CONTROL.arrived, threads * (round + 1));
    }
    if (error !== undefined) throw error;
  }

  /**
   * Thread `thread` of `threads`: its shards; then, once every thread's shards are done and the
   * batch loss is finite, its slice of the weights: the gradient sum (each element summed in
   * shard order) and the optimizer's update, both elementwise, so slicing changes nothing. Each
   * thread keeps its slice of g and w in its own cache.
   */
  runThread(thread: number, threads: number, n: number, loss: LossName, width: number): void {
    let error: unknown;
    try {
      if (this.syncPoints > 0) this.runSynced(thread, threads, n, loss, width);
      else for (let k = thread; k < this.count; k += threads) this.runShard(k, n, loss, width);
    } catch (e) {
      error = e;
    }
    const control = this.control;
    Atomics.add(control, CONTROL.computed, 1);
    Atomics.notify(control, CONTROL.computed);
    waitForCount(control, CONTROL.computed, threads);
    if (error !== undefined) {
      // The other threads go on to clipping's meetings: come to them (with nothing summed), then fail.
      if (this.settings[OPTIMIZER.clip]! > 0 && !this.failedLoss(n)) this.clipScale(thread, threads, 0, false);
      throw error;
    }
    if (this.failedLoss(n)) return;
    const model = this.replicas[0]!;
    const into = model.g;
    const length = into.length;
    // Slices of whole 64-byte lines, so that two threads never write the same cache line.
    const slice = Math.ceil(length / threads / 16) * 16;
    const start = Math.min(length, thread * slice);
    const count = Math.min(length, start + slice) - start;
    if (count > 0) {
      if (this.start(1, n) === 0) into.fill(0, start, start + count);
      for (let k = 1; k < this.count; k++) if (this.start(k + 1, n) > this.start(k, n)) this.add(into, this.replicas[k]!.g, start, count);
    }
    const o = this.settings;
    const clip = o[OPTIMIZER.clip]!;
    const scale = clip > 0 ? this.clipScale(thread, threads, clip) : 1;
    if (count === 0) return;
    model.stepRange(start, start + count, o[OPTIMIZER.kind]!, o[OPTIMIZER.rate]!, o[OPTIMIZER.momentum]!, o[OPTIMIZER.beta1]!, o[OPTIMIZER.beta2]!, o[OPTIMIZER.eps]!, o[OPTIMIZER.t]!, o[OPTIMIZER.weightDecay]!, scale);
  }

  /**
   * Gradient clipping's factor, the same on every thread and for any thread count: once every
   * thread has summed its slice of the gradients, the squares are summed in fixed blocks (one per
   * shard, thread j taking blocks j, j + T, …), then every thread adds the blocks in order.
   */
  private clipScale(thread: number, threads: number, clip: number, measure = true): number {
    const control = this.control;
    Atomics.add(control, CONTROL.summed, 1);
    Atomics.notify(control, CONTROL.summed);
    waitForCount(control, CONTROL.summed, threads);
    const model = this.replicas[0]!;
    const length = model.g.length;
    const block = Math.ceil(length / this.count / 16) * 16;
    const squares = this.settings;
    if (measure) for (let k = thread; k < this.count; k += threads) squares[SQUARES_START + k] = model.gradientSquares(k * block, Math.min(length, (k + 1) * block));
    Atomics.add(control, CONTROL.measured, 1);
    Atomics.notify(control, CONTROL.measured);
    waitForCount(control, CONTROL.measured, threads);
    let sum = 0;
    for (let k = 0; k < this.count; k++) sum += squares[SQUARES_START + k]!;
    return clipScale(sum, clip);
  }

  /** Sets the batch's optimizer settings (before the threads start on it): the model's optimizer, the rate, Adam's step count after this batch. */
  setStep(optimizer: { readonly kind: string; readonly momentum: number; readonly beta1: number; readonly beta2: number; readonly eps: number; readonly weightDecay: number; readonly clip: number }, rate: number, t: number): void {
    const o = this.settings;
    o[OPTIMIZER.kind] = optimizerKindIndex(optimizer.kind);
    o[OPTIMIZER.weightDecay] = optimizer.weightDecay || 0;
    o[OPTIMIZER.clip] = optimizer.clip > 0 ? optimizer.clip : 0;
    o[OPTIMIZER.rate] = rate;
    o[OPTIMIZER.momentum] = optimizer.momentum;
    o[OPTIMIZER.beta1] = optimizer.beta1;
    o[OPTIMIZER.beta2] = optimizer.beta2;
    o[OPTIMIZER.eps] = optimizer.eps;
    o[OPTIMIZER.t] = t;
  }

  /** Input rows 0 … n − 1 of `source` (rows of `size`) into `target` at each shard's region. */
  scatter(source: ArrayLike<number> | undefined, target: Float32Array, n: number, size: number, input: number): void {
    if (!source || source.length < n * size) throw new RangeError(`input ${input}: expected ${n * size} values, got ${source?.length ?? 0}`);
    // A full batch of a typed array: the shards' regions are its rows in order, one copy.
    if (n === this.count * this.cap && source.length === n * size && ArrayBuffer.isView(source)) {
      target.set(source as unknown as ArrayLike<number>);
      return;
    }
    for (let k = 0; k < this.count; k++) {
      const lo = this.start(k, n);
      const hi = this.start(k + 1, n);
      const to = k * this.cap * size - lo * size;
      for (let i = lo * size; i < hi * size; i++) target[to + i] = source[i]!;
    }
  }

  /** Targets into each shard's region; returns the values per sample (checked against the output). */
  scatterTargets(targets: ArrayLike<number>, n: number, outputSize: number, lastAxis: number): number {
    const width = targets.length / n;
    if (width !== outputSize && width !== outputSize / lastAxis) {
      throw new RangeError(`targets: expected ${n * outputSize} values shaped like the output, or ${(n * outputSize) / lastAxis} class indices, got ${targets.length}`);
    }
    const classes = width !== outputSize;
    for (let k = 0; k < this.count; k++) {
      const lo = this.start(k, n);
      const hi = this.start(k + 1, n);
      const to = k * this.cap * width - lo * width;
      for (let i = lo * width; i < hi * width; i++) {
        const c = targets[i]!;
        // Checked here (as lossAndGrad would) so that the message names the batch's index, not a shard's.
        if (classes && !(Number.isInteger(c) && c >= 0 && c < lastAxis)) throw new RangeError(`targets[${i}] = ${c} is not a class index below ${lastAxis}`);
        this.targets[to + i] = c;
      }
    }
    return width;
  }

  /** Whether the batch loss is not finite (then no thread steps, nor meets for clipping). */
  private failedLoss(n: number): boolean {
    const total = this.totalLoss(n);
    return total - total !== 0;
  }

  /** The batch loss: the shards' losses (each already divided by n) summed in shard order. */
  totalLoss(n: number): number {
    let total = 0;
    for (let k = 0; k < this.count; k++) if (this.start(k + 1, n) > this.start(k, n)) total += this.losses[k]!;
    return total;
  }

  /** Records a worker's failure for the main thread to throw. */
  fail(e: unknown): void {
    const text = e instanceof Error ? `${e.name === "RangeError" ? "RangeError: " : ""}${e.message}` : String(e);
    const length = Math.min(text.length, MESSAGE_CHARS);
    for (let i = 0; i < length; i++) this.control[MESSAGE_START + i] = text.charCodeAt(i);
    Atomics.store(this.control, CONTROL.messageLength, length);
    Atomics.store(this.control, CONTROL.failed, 1);
  }

  /** The error a worker recorded, as an Error to throw on the main thread. */
  failure(): Error | undefined {
    if (Atomics.load(this.control, CONTROL.failed) === 0) return undefined;
    const length = Atomics.load(this.control, CONTROL.messageLength);
    let text = "";
    for (let i = 0; i < length; i++) text += String.fromCharCode(this.control[MESSAGE_START + i]!);
    Atomics.store(this.control, CONTROL.failed, 0);
    return text.startsWith("RangeError: ") ? new RangeError(text.slice(12)) : new Error(`a worker thread failed: ${text}`);
  }

  get controlWords(): Int32Array {
    return this.control;
  }
}

/** Waits until control[index] differs from `value`, polling for SPIN_MS before sleeping on it. */
function waitWhile(control: Int32Array, index: number, value: number): void {
  const spinUntil = now() + SPIN_MS;
  for (let i = 0; ; i++) {
    if (Atomics.load(control, index) !== value) return;
    if ((i & 255) === 255 && now() > spinUntil) break;
  }
  while (Atomics.load(control, index) === value) Atomics.wait(control, index, value);
}

/** Waits until the counter control[index] reaches `target` (the others' Atomics.add and notify). */
function waitForCount(control: Int32Array, index: number, target: number): void {
  for (let count = Atomics.load(control, index); count < target; count = Atomics.load(control, index)) waitWhile(control, index, count);
}

/** A started worker thread, Node's or a browser's. */
interface WorkerHandle {
  terminate(): unknown;
}

/** Where worker threads come from: Node's worker_threads or a browser's Web Workers. */
interface ThreadHost {
  readonly cores: number;
  /** Starts a worker running the module's shard loop; `failed` is called if it cannot run. */
  spawn(data: ShardWorkerData, failed: (e: unknown) => void): WorkerHandle;
}

interface NodeWorker extends WorkerHandle {
  unref(): void;
  on(event: "error", listener: (e: unknown) => void): unknown;
}
interface NodeWorkerThreads {
  readonly Worker: new (code: string, options: { eval: true; workerData: unknown }) => NodeWorker;
}
interface NodeWithBuiltins {
  getBuiltinModule?(id: string): unknown;
}
interface WebWorker extends WorkerHandle {
  postMessage(message: unknown): void;
  addEventListener(type: "error", listener: (e: { message?: string }) => void): void;
}
interface WebHost {
  readonly Worker?: new (url: string, options: { type: "module" }) => WebWorker;
  readonly Blob?: new (parts: string[], options: { type: string }) => unknown;
  readonly URL?: { createObjectURL(blob: unknown): string };
  readonly crossOriginIsolated?: boolean;
  readonly document?: unknown;
  readonly navigator?: { readonly hardwareConcurrency?: number };
}

let foundThreadHost: ThreadHost | string | undefined;

/** The thread host here, or why there is none (found once). */
function threadHost(): ThreadHost | string {
  foundThreadHost ??= nodeProcess() ? nodeThreadHost() : webThreadHost();
  return foundThreadHost;
}

/** Node's worker_threads, got synchronously (Node ≥ 20.16): each worker evals WORKER_SCRIPT. */
function nodeThreadHost(): ThreadHost | string {
  const proc = nodeProcess() as (ReturnType<typeof nodeProcess> & NodeWithBuiltins) | undefined;
  if (!proc) return "worker threads need Node.js or Web Workers";
  if (typeof proc.getBuiltinModule !== "function") return `worker threads need Node.js 20.16 or later (this is ${proc.versions.node})`;
  const threads = proc.getBuiltinModule("node:worker_threads") as NodeWorkerThreads;
  const os = proc.getBuiltinModule("node:os") as { availableParallelism?(): number; cpus(): unknown[] };
  return {
    cores: os.availableParallelism ? os.availableParallelism() : os.cpus().length,
    spawn(data, failed) {
      const w = new threads.Worker(WORKER_SCRIPT, { eval: true, workerData: data });
      w.on("error", failed);
      // Blocked in Atomics.wait between batches, a worker must not keep the process alive.
      w.unref();
      return w;
    },
  };
}

/**
 * A browser's Web Workers: module workers made from WEB_WORKER_SCRIPT, given their data by a
 * message. Only where a thread may block (Atomics.wait) — a worker, not a page's main thread —
 * and where memory can be shared (a cross-origin isolated page).
 */
function webThreadHost(): ThreadHost | string {
  const web = globalThis as unknown as WebHost;
  const { Worker, Blob, URL } = web;
  if (!Worker || !Blob || !URL) return "this JavaScript environment has no worker threads (Node's worker_threads or Web Workers)";
  const mainThread = web.document !== undefined ? "a page's main thread cannot wait for worker threads: create and train the model inside a Web Worker" : undefined;
  const notIsolated = web.crossOriginIsolated === false ? "worker threads share memory, which needs a cross-origin isolated page (Cross-Origin-Opener-Policy and Cross-Origin-Embedder-Policy headers)" : undefined;
  if (mainThread || notIsolated) return mainThread && notIsolated ? `${mainThread}, and ${notIsolated}` : (mainThread ?? notIsolated)!;
  let url: string | undefined;
  return {
    cores: web.navigator?.hardwareConcurrency ?? 1,
    spawn(data, failed) {
      url ??= URL.createObjectURL(new Blob([WEB_WORKER_SCRIPT], { type: "text/javascript" }));
      const w = new Worker(url, { type: "module" });
      w.addEventListener("error", (e) => failed(new Error(e.message ?? "the worker script failed to load")));
      w.postMessage(data);
      return w;
    },
  };
}

/** Why worker threads cannot start here for the module at `moduleUrl` (then a model trains on one thread), or undefined. */
export function threadsUnavailable(moduleUrl: string): string | undefined {
  const h = threadHost();
  // Workers load the module by its URL: a classic-script bundle (e.g. esbuild --format=iife) has none.
  const why = typeof h === "string" ? h : moduleUrl === "" ? "worker threads load this module by its URL (import.meta.url), which it has not here: bundle it as an ES module (e.g. esbuild --format=esm)" : undefined;
  return why === undefined ? undefined : `${why}; training on one thread`;
}

/** The default thread count: the machine's cores, at most the module's shards. */
export function defaultThreads(shards: number): number {
  const h = threadHost();
  return typeof h === "string" ? 1 : Math.max(1, Math.min(shards, h.cores));
}

/** What a worker needs to build the same model over the same memory. */
export interface ShardWorkerData {
  /** The module to load in the worker: this module's own URL (or the bundle it is part of). */
  readonly url: string;
  /** Which module of that file serves the worker (a bundle may hold several dlc modules). */
  readonly key: string;
  readonly thread: number;
  readonly buffers: ShardBuffers;
  /** The model's options and its arena (a shared WebAssembly.Memory, or a SharedArrayBuffer). */
  readonly options: { readonly maxBatch: number; readonly seed: number; readonly kernels: "wasm" | "js" };
  readonly memory: unknown;
}

/**
 * What a worker script leaves in globalThis.__dlcShardWorker before it loads the module: the
 * data, and whether a module has taken it (claimed) and served until the model closed (served).
 */
interface ShardWorkerState {
  readonly data: ShardWorkerData;
  claimed: boolean;
  served: boolean;
}

/** Records a worker's start-up failure where the main thread looks (plain JavaScript, for the scripts below). */
const START_FAILED = `(data, e) => {
  const control = new Int32Array(data.buffers.control);
  const text = String(e && e.message ? e.message : e).slice(0, ${MESSAGE_CHARS});
  for (let i = 0; i < text.length; i++) control[${MESSAGE_START} + i] = text.charCodeAt(i);
  Atomics.store(control, ${CONTROL.messageLength}, text.length);
  Atomics.store(control, ${CONTROL.failed}, 1);
  Atomics.add(control, ${CONTROL.ready}, 1);
  Atomics.notify(control, ${CONTROL.ready});
}`;

/**
 * Loads the module in the worker, leaving the data in globalThis: the module takes it as it loads
 * (claimShardWorker, at its end) and serves there, before any code that follows it in a bundle
 * runs. So the worker needs no export of the module, only its URL: bundled into an app's script,
 * the module still serves, and the app's own code never runs in the worker. Plain JavaScript.
 */
const LOAD_MODULE = `(data) => {
  const state = { data, claimed: false, served: false };
  globalThis.__dlcShardWorker = state;
  const failed = ${START_FAILED};
  import(data.url).then(
    () => state.claimed || failed(data, new Error(data.url + " loaded, but no dlc module in it took the worker (bundled, the module's code must stay in the script at its import.meta.url)")),
    (e) => state.served || failed(data, e),
  );
}`;

/** Node: a worker run with `eval`, given its data as workerData. */
const WORKER_SCRIPT = `(${LOAD_MODULE})(process.getBuiltinModule("node:worker_threads").workerData);`;

/** Browsers: a module worker that gets its data in the first message. */
const WEB_WORKER_SCRIPT = `
self.onmessage = (event) => {
  self.onmessage = null;
  (${LOAD_MODULE})(event.data);
};
`;

/** Whether this code runs in one of a model's worker threads (then the module's command line does not start). */
export function inShardWorker(): boolean {
  return (globalThis as { __dlcShardWorker?: ShardWorkerState }).__dlcShardWorker !== undefined;
}

/**
 * Called at the end of a threaded module's code: in a worker thread started for this module
 * (its key), builds the model over the shared memory and serves its shards until the model is
 * closed; then throws, so that nothing after the module in a bundle runs in the worker.
 */
export function claimShardWorker(key: string, serve: (data: ShardWorkerData) => void): void {
  const state = (globalThis as { __dlcShardWorker?: ShardWorkerState }).__dlcShardWorker;
  if (state === undefined || state.claimed || state.data.key !== key) return;
  state.claimed = true;
  serve(state.data);
  state.served = true;
  throw new Error("the model's worker thread has stopped");
}

/** The main thread's side: starts T − 1 workers and runs each batch's shards across all T threads. */
export class ShardThreads {
  private readonly workers: WorkerHandle[] = [];
  private started = false;
  private closed = false;
  /** How many threads the last batch ran on (fewer than `threads` while the workers load). */
  lastThreads = 1;

  constructor(
    private readonly set: ShardSet,
    readonly threads: number,
    worker: Omit<ShardWorkerData, "thread">,
  ) {
    const control = set.controlWords;
    if (threads === 1) return;
    const h = threadHost();
    if (typeof h === "string") throw new Error(h);
    const failed = (e: unknown): void => {
      set.fail(e);
      Atomics.add(control, CONTROL.ready, 1);
      Atomics.notify(control, CONTROL.ready);
    };
    for (let t = 1; t < threads; t++) this.workers.push(h.spawn({ ...worker, thread: t }, failed));
  }

  /**
   * Runs every shard of a batch of n (targets already scattered, settings set), sums the
   * gradients and steps the weights if the loss is finite; returns the batch loss. Until the
   * workers have started, this thread runs every shard itself (the same arithmetic): it never
   * blocks waiting for them, which a browser thread must not do while its workers load.
   */
  train(n: number, loss: LossName, width: number): number {
    const control = this.set.controlWords;
    if (this.closed) throw new Error("this model's threads were closed");
    const threads = this.threads > 1 && this.workersReady() ? this.threads : 1;
    this.lastThreads = threads;
    Atomics.store(control, CONTROL.threads, threads);
    Atomics.store(control, CONTROL.computed, 0);
    Atomics.store(control, CONTROL.arrived, 0);
    Atomics.store(control, CONTROL.summed, 0);
    Atomics.store(control, CONTROL.measured, 0);
    if (threads > 1) {
      Atomics.store(control, CONTROL.job, JOB_TRAIN);
      Atomics.store(control, CONTROL.n, n);
      Atomics.store(control, CONTROL.loss, LOSS_NAMES.indexOf(loss));
      Atomics.store(control, CONTROL.width, width);
      Atomics.store(control, CONTROL.done, 0);
      Atomics.add(control, CONTROL.generation, 1);
      Atomics.notify(control, CONTROL.generation);
    }
    let error: unknown;
    try {
      this.set.runThread(0, threads, n, loss, width);
    } catch (e) {
      error = e;
    }
    waitForCount(control, CONTROL.done, threads - 1);
    const failed = this.set.failure();
    if (error !== undefined) throw error;
    if (failed) throw failed;
    return this.set.totalLoss(n);
  }

  /** Whether every worker has started (throws what a worker that could not start said). */
  private workersReady(): boolean {
    if (this.started) return true;
    if (Atomics.load(this.set.controlWords, CONTROL.ready) < this.threads - 1) return false;
    const failed = this.set.failure();
    if (failed) {
      void this.close();
      throw new Error(`the model's worker threads could not start: ${failed.message}`);
    }
    this.started = true;
    return true;
  }

  /** Resolves once the workers have started (training before that runs on this thread alone). */
  ready(): Promise<void> {
    const timers = globalThis as unknown as { setTimeout(callback: () => void, ms: number): unknown };
    return new Promise((resolve, reject) => {
      const poll = (): void => {
        try {
          if (this.closed || this.workersReady()) resolve();
          else timers.setTimeout(poll, 2);
        } catch (e) {
          reject(e);
        }
      };
      poll();
    });
  }

  /** Stops the workers (the model then trains no more). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const control = this.set.controlWords;
    Atomics.store(control, CONTROL.job, JOB_EXIT);
    Atomics.add(control, CONTROL.generation, 1);
    Atomics.notify(control, CONTROL.generation);
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/**
 * into[start, start + count) += from's, by the kernels' sgd with rate −1 (exact: w − (−1)·g). Made
 * here rather than in the Model's constructor, whose closures would keep the model alive.
 */
export function gradientAdder(sgd: (w: Float32Array, g: Float32Array, start: number, count: number, rate: number) => void): (into: Float32Array, from: Float32Array, start: number, count: number) => void {
  return (into, from, start, count) => sgd(into, from, start, count, -1);
}

/** Stops a model's workers once the model itself is garbage: they would otherwise wait forever. */
const collected = typeof FinalizationRegistry === "function" ? new FinalizationRegistry<ShardThreads>((threads) => void threads.close()) : undefined;

/** Closes `threads` when `model` is collected (the threads must not refer to the model). */
export function closeWhenCollected(model: object, threads: ShardThreads): void {
  collected?.register(model, threads);
}

/** A worker's loop: says it is ready, then runs its shards of each batch until told to exit. */
export function serveShards(set: ShardSet, thread: number): void {
  const control = set.controlWords;
  let generation = Atomics.load(control, CONTROL.generation);
  Atomics.add(control, CONTROL.ready, 1);
  Atomics.notify(control, CONTROL.ready);
  for (;;) {
    waitWhile(control, CONTROL.generation, generation);
    generation = Atomics.load(control, CONTROL.generation);
    if (Atomics.load(control, CONTROL.job) === JOB_EXIT) return;
    try {
      const threads = Atomics.load(control, CONTROL.threads);
      set.runThread(thread, threads, Atomics.load(control, CONTROL.n), LOSS_NAMES[Atomics.load(control, CONTROL.loss)]!, Atomics.load(control, CONTROL.width));
    } catch (e) {
      set.fail(e);
    }
    Atomics.add(control, CONTROL.done, 1);
    Atomics.notify(control, CONTROL.done);
  }
}

/** Shard k's dropout generator, its state shared by every thread (the one that runs the shard draws). */
export function shardRandom(buffers: ShardBuffers, k: number): () => number {
  return randomOnState(new Uint32Array(buffers.random), k);
}

/**
 * Shard k's replica of a model: the same object with its per-sample arrays cut to rows
 * k·cap … (k+1)·cap − 1, and `own` arrays (gradients, fixed scratch) in place of the model's.
 */
export function shardReplica<M extends object>(model: M, k: number, count: number, cap: number, perSample: readonly (readonly [string, number])[], own: Readonly<Record<string, unknown>>, random: () => number): M {
  const replica = Object.create(Object.getPrototypeOf(model) as object) as Record<string, unknown>;
  Object.assign(replica, model);
  const fields = model as unknown as Record<string, Float32Array | Int32Array>;
  for (const [field, size] of perSample) replica[field] = fields[field]!.subarray(k * cap * size, (k + 1) * cap * size);
  Object.assign(replica, own);
  replica["maxBatch"] = cap;
  replica["rand"] = random;
  replica["shardIndex"] = k;
  replica["shardCount"] = count;
  return replica as M;
}
