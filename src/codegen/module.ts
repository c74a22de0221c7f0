import { createHash } from "node:crypto";
import type { LossKind, TrainConfig } from "../ir/types.js";
import type { EmitContext } from "./emit-types.js";
import { lossCode } from "./loss-emit.js";
import { optimizerCode } from "./optimizer-emit.js";
import type { Plan, Step, WeightSlot } from "./plan.js";
import { HELPERS } from "./helpers.js";
import { activationEntry, cellEntry, convWalkEntry, matmulEntry, packedMatmulEntry, stagedMatmulEntry, type MatmulHelper } from "./wasm/kernel-entries.js";
import { PACKED_STRIP, TN_K_CHUNK, packedLength, stageLength, stagingPays } from "./wasm/matmul.js";
import { KernelSet } from "./wasm/kernel-set.js";
import { initRuntime } from "./runtime-init.js";
import { runtimeApi, runtimeFixed, runtimeMethods } from "./runtime/inline.js";
import { commentText, jsonCode, literal } from "./safe-text.js";
import { mergeRanges, rangesLiteral, subtractRanges, type Range } from "./ranges.js";

export interface ModuleOptions {
  readonly file: string;
  readonly precision: "f32" | "f64";
  readonly train?: TrainConfig;
  readonly version: string;
  /**
   * f32 only: "wasm" (the default) embeds f32x4 SIMD matmul kernels generated for the network's
   * shapes and keeps every arena in one WebAssembly memory, falling back to the JS kernels where
   * WebAssembly SIMD is missing; "js" keeps pure TypeScript.
   */
  readonly kernels?: "wasm" | "js";
  /**
   * Shards of each training batch (`dlc compile --threads S`, default 1): S > 1 trains on up to S
   * threads sharing one memory, with the same arithmetic for any thread count (runtime/threads.ts).
   * Needs the wasm kernels' arena (f32); batchnorm's shards meet at its statistics (EmitContext.shards).
   */
  readonly threads?: number;
  /**
   * With the wasm kernels: also embed the matmul kernels built on relaxed SIMD's fused
   * multiply-add (`f32x4.relaxed_madd`), which the model uses where the engine has relaxed SIMD
   * (the plain SIMD kernels elsewhere). Results may then differ in the last bits between engines.
   */
  readonly fma?: boolean;
}

/** The marker before each step's code; the source map is built from these after formatting. */
export const MARKER = "@dl";

function fans(shape: readonly number[], given?: readonly [number, number]): [number, number] {
  if (given) return [given[0], given[1]];
  if (shape.length === 1) return [shape[0]!, shape[0]!];
  return [shape.slice(0, -1).reduce((a, b) => a * b, 1), shape[shape.length - 1]!];
}

/**
 * IR plan → one TypeScript module: constants, the Model class with its arenas, forward and
 * backward code from each layer's emitter, the loss, the optimizer and the training loop.
 */
export function moduleCode(p: Plan, o: ModuleOptions): string {
  return joinModuleParts(moduleParts(p, o));
}

/**
 * The module in pieces that prettier can format one by one (and dlc compile does):
 * three runs of top-level declarations — this network's code, the runtime (the same text in
 * every module, so dlc compile formats it once and caches it) and this network's runtime API —
 * joined by a blank line; and the layers' forward and backward blocks in chunks, statements of a
 * method body (two levels deep: a class, a method), each standing in the network's code as one
 * placeholder statement line (chunkPlaceholder). joinModuleParts puts them together.
 */
export interface ModuleParts {
  readonly network: string;
  readonly chunks: readonly string[];
  readonly runtime: string;
  readonly api: string;
}

/** The statement standing for chunk i in ModuleParts.network, on a line of its own. */
export function chunkPlaceholder(i: number): string {
  return `__dlc_chunk_${i}__;`;
}

/** Matches a placeholder line (its indentation and newline included) in the network's code. */
export const CHUNK_PLACEHOLDER_LINE = /^[ \t]*__dlc_chunk_(\d+)__;\n/gm;

/** The parts (unformatted, or each formatted on its own) as one module. */
export function joinModuleParts(parts: ModuleParts): string {
  let network = parts.network;
  if (parts.chunks.length > 0) {
    let used = 0;
    network = network.replace(CHUNK_PLACEHOLDER_LINE, (_line, i: string) => {
      used++;
      const chunk = parts.chunks[Number(i)];
      if (chunk === undefined) throw new Error(`internal: no chunk ${i}`);
      return chunk.endsWith("\n") ? chunk : `${chunk}\n`;
    });
    if (used !== parts.chunks.length) throw new Error(`internal: ${parts.chunks.length} chunks for ${used} placeholders`);
  }
  return `${network}\n${parts.runtime}\n${parts.api}`;
}

/** About how many characters of layer code go in one chunk. */
const CHUNK_SIZE = 24_000;

export function moduleParts(p: Plan, o: ModuleOptions): ModuleParts {
  const { network } = p.checked;
  const helpers = new Set<string>();
  const wasm = o.precision === "f32" && (o.kernels ?? "wasm") === "wasm" ? new KernelSet(o.fma ?? false) : undefined;
  const scratch: { field: string; local: string; size: number; perSample: boolean; kind: "float" | "int" | "double"; step: number; shared?: boolean }[] = [];
  const shards = o.threads ?? 1;
  const threaded = shards > 1;
  /** Sync points of one training step (forward and backward) in a threaded build: where shards meet. */
  let syncPoints = 0;
  /** Weights whose plain-SGD step their layer makes in the backward pass ([start, end) by start). */
  const folded = new Map<number, number>();
  const contextFor = (s: Step): EmitContext => {
    const slotOf = (param: string): WeightSlot => {
      const slot = p.weights.find((w) => w.node === s.node && w.spec.name === param);
      if (!slot) throw new Error(`internal: ${s.node.name} has no weight '${param}'`);
      return slot;
    };
    const helper: EmitContext["helper"] = (name, n, accumulate) => {
      helpers.add(name);
      if (!wasm || !(name === "matmul" || name === "matmulTN" || name === "matmulNT")) return name;
      if (n === undefined) throw new Error(`internal: ${s.node.name} calls ${name} without its N`);
      return `kern.${wasm.request(matmulEntry(name as MatmulHelper, n, accumulate ?? true))}`;
    };
    const stepScratch: EmitContext["scratch"] = (name, size, perSample = false, kind = "float") => {
      const field = `s${s.index}_${name}`;
      const known = scratch.find((x) => x.field === field);
      if (!known) scratch.push({ field, local: name, size, perSample, kind, step: s.index });
      else if (known.size < size) known.size = size;
      return name;
    };
    return {
      inShapes: s.inputs.map((b) => p.buffers[b]!.shape),
      outShape: p.buffers[s.output]!.shape,
      precision: o.precision,
      bptt: o.train?.bptt,
      offset: (param: string) => slotOf(param).offset,
      scratch: stepScratch,
      needsDx: (i: number) => p.buffers[s.inputs[i]!]!.inputIndex === undefined,
      frozen: s.node.frozen,
      helper,
      foldedStep(param, n) {
        const slot = slotOf(param);
        if (!wasm || threaded || !slot.trainable) return undefined;
        helpers.add("matmulTN");
        folded.set(slot.offset, slot.offset + slot.size);
        return `kern.${wasm.request(matmulEntry("matmulTN", n, false, true))}`;
      },
      packedMatmul(n, accumulate) {
        if (!wasm) return undefined;
        helpers.add("packStrips");
        helpers.add("matmulPacked");
        return {
          kernel: (k) => `kern.${wasm.request(packedMatmulEntry(n, accumulate, k))}`,
          length: (k) => packedLength(k, n),
          pack: (b, bo, dst, k) => `packStrips(${b}, ${bo}, ${dst}, ${k}, ${n}, ${PACKED_STRIP});`,
        };
      },
      matmulCall(n, accumulate, k) {
        if (!wasm || !stagingPays("nn", 0, n)) return { kernel: helper("matmul", n, accumulate), args: "" };
        helpers.add("matmul");
        return { kernel: `kern.${wasm.request(stagedMatmulEntry("matmul", n, accumulate))}`, args: `, ${stepScratch("stage", stageLength("nn", k, n))}, 0` };
      },
      matmulTNCall(m, n) {
        if (!wasm || !stagingPays("tn", m, n)) return { kernel: helper("matmulTN", n), args: "" };
        helpers.add("matmulTN");
        return { kernel: `kern.${wasm.request(stagedMatmulEntry("matmulTN", n, true))}`, args: `, true, ${stepScratch("stage", stageLength("tn", TN_K_CHUNK, n))}, 0` };
      },
      simdKernels: wasm !== undefined,
      cellKernel: (kind, units, js) => (wasm ? `kern.${wasm.request(cellEntry(kind, units, js))}` : undefined),
      activationKernel: (kernel, js) => (wasm ? `kern.${wasm.request(activationEntry(kernel, js))}` : undefined),
      convWalk: (spec, js) => (wasm ? `kern.${wasm.request(convWalkEntry(spec, js))}` : undefined),
      shards: threaded
        ? {
            sync: () => {
              syncPoints++;
              return "yield;";
            },
            index: "this.shardIndex",
            count: "this.shardCount",
            batch: "this.batchRows",
            table(name, size) {
              const field = `s${s.index}_${name}`;
              if (!scratch.some((x) => x.field === field)) scratch.push({ field, local: name, size: shards * size, perSample: false, kind: "float", step: s.index, shared: true });
              return name;
            },
          }
        : undefined,
    };
  };

  const marker = (s: Step, phase: string): string => {
    const n = s.node;
    const what = s.isFusedActivation ? `${s.def.kind} (after ${n.name})` : n.name;
    return `// ${MARKER} ${n.span.line}:${n.span.column} ${commentText(o.file)}:${n.span.line} ${phase} ${commentText(what)}: ${commentText(n.text)}`;
  };
  const bind = (s: Step, backward: boolean): string => {
    const names: string[] = [];
    s.inputs.forEach((b, i) => names.push(`x${i} = this.b${b}`));
    names.push(`y = this.b${s.output}`);
    if (backward) {
      names.push(`dy = this.d${s.output}`);
      s.inputs.forEach((b, i) => {
        if (p.buffers[b]!.inputIndex === undefined) names.push(`dx${i} = this.d${b}`);
      });
    }
    for (const x of scratch.filter((x) => x.step === s.index)) names.push(`${x.local} = this.${x.field}`);
    return `const ${names.join(", ")};`;
  };

  const forwardBlocks = p.steps.map((s) => {
    const body = s.def.emit!.forward(s.args, contextFor(s));
    return `${marker(s, "forward")}\n{\n${bind(s, false)}\n${body}\n}`;
  });
  const backwardBlocks = [...p.steps].reverse().flatMap((s) => {
    if (s.index === p.finalActivationStep) return [`// the final ${s.def.kind} is folded into the loss gradient when the loss is fused with it\nif (!this.fused) {\n${marker(s, "backward")}\n{\n${bind(s, true)}\n${s.def.emit!.backward(s.args, contextFor(s))}\n}\n}`];
    const body = s.def.emit!.backward(s.args, contextFor(s));
    if (body.trim() === "") return [];
    return [`${marker(s, "backward")}\n{\n${bind(s, true)}\n${body}\n}`];
  });

  const chunks: string[] = [];
  /** Blocks → placeholder lines, the blocks going into chunks of about CHUNK_SIZE characters. */
  const chunked = (blocks: readonly string[]): string => {
    const lines: string[] = [];
    for (let i = 0; i < blocks.length; ) {
      let size = 0;
      let j = i;
      while (j < blocks.length && (j === i || size + blocks[j]!.length <= CHUNK_SIZE)) size += blocks[j++]!.length + 1;
      lines.push(chunkPlaceholder(chunks.length));
      chunks.push(blocks.slice(i, j).join("\n"));
      i = j;
    }
    return lines.join("\n");
  };

  const arr = o.precision === "f32" ? "Float32Array" : "Float64Array";
  const outShape = p.buffers[p.outputBuffer]!.shape;
  const outSize = p.buffers[p.outputBuffer]!.size;
  const loss: LossKind | undefined = o.train?.loss;
  const fusedPossible = p.finalActivationStep !== undefined;
  const finalKind = fusedPossible ? p.steps[p.finalActivationStep!]!.def.kind : undefined;
  const inputs = network.inputs.map((id, k) => ({ name: network.nodes[id]!.name, shape: p.buffers[p.inputBuffers[k]!]!.shape }));
  const weightSpecs = p.weights.map((w) => {
    const [fanIn, fanOut] = fans(w.spec.shape, w.spec.fans);
    return `{ name: ${literal(w.name)}, shape: [${w.spec.shape.join(", ")}], offset: ${w.offset}, size: ${w.size}, init: ${literal(w.spec.init)}, fanIn: ${fanIn}, fanOut: ${fanOut}, kind: ${literal(w.kind)}, trainable: ${w.trainable} }`;
  });
  const trainable = mergeRanges(p.weights.filter((w) => w.trainable).map((w) => [w.offset, w.offset + w.size] as [number, number]));
  const bufferFields = p.buffers.map((b) => `private readonly b${b.id}: ${arr};`);
  const gradFields = p.buffers.filter((b) => b.inputIndex === undefined).map((b) => `private readonly d${b.id}: ${arr};`);
  const scratchFields = [
    ...scratch.map((x) => `private readonly ${x.field}: ${x.kind === "int" ? "Int32Array" : x.kind === "double" ? "Float64Array" : arr};`),
    `/** One-hot targets made from class indices by lossAndGrad. */\nprivate readonly oneHot: ${arr};`,
  ];
  /** Every array the model owns: `perSample` ones hold maxBatch samples of `size`. */
  const arrays: { target: string; size: number; perSample: boolean; int?: boolean }[] = [
    { target: "this.w", size: p.weightCount, perSample: false },
    { target: "this.g", size: p.weightCount, perSample: false },
    ...p.buffers.map((b) => ({ target: `this.b${b.id}`, size: b.size, perSample: true })),
    ...p.buffers.filter((b) => b.inputIndex === undefined).map((b) => ({ target: `this.d${b.id}`, size: b.size, perSample: true })),
    ...scratch.filter((x) => x.kind !== "double").map((x) => ({ target: `this.${x.field}`, size: x.size, perSample: x.perSample, int: x.kind === "int" })),
    { target: "this.oneHot", size: p.buffers[p.outputBuffer]!.size, perSample: true },
  ];
  const countOf = (a: { size: number; perSample: boolean }): string => (a.perSample ? `${rowsName} * ${a.size}` : `${a.size}`);
  // With WebAssembly kernels every array is a view of the model's one memory (the Arena), so
  // that the kernels can address it; the optimizer's state goes there too.
  const useArena = wasm !== undefined && wasm.size > 0;
  if (threaded && !useArena) throw new Error("internal: --threads needs the f32 WebAssembly kernels' arena");
  const rowsName = threaded ? "rows" : "maxBatch";
  const fixedScratch = scratch.filter((x) => !x.perSample && !x.shared);
  const synced = syncPoints > 0;
  let optimizerAllocations = optimizerCode.allocate(arr);
  const allocations: string[] = [];
  if (useArena) {
    const optimizerArrays = optimizerAllocations.match(/new Arr\(WEIGHT_COUNT\)/g)?.length ?? 0;
    optimizerAllocations = optimizerAllocations.replace(/new Arr\(WEIGHT_COUNT\)/g, "arena.f32(WEIGHT_COUNT)");
    const perSample = arrays.filter((a) => a.perSample).reduce((t, a) => t + a.size, 0);
    const fixed = arrays.filter((a) => !a.perSample).reduce((t, a) => t + a.size, 0) + optimizerArrays * p.weightCount;
    if (threaded) {
      // Shards 1 … S − 1 each have their own gradients and fixed scratch (shard 0 uses the model's).
      const perShard = p.weightCount + fixedScratch.filter((x) => x.kind !== "double").reduce((t, x) => t + x.size, 0);
      allocations.push(
        "const cap = Math.ceil(maxBatch / SHARDS);",
        "const rows = cap * SHARDS;",
        `const arena = new Arena(rows * ${perSample} + ${fixed + (shards - 1) * perShard}, attach ? attach.options.kernels : options.kernels ?? "wasm", true, attach?.memory);`,
      );
    } else allocations.push(`const arena = new Arena(maxBatch * ${perSample} + ${fixed}, options.kernels ?? "wasm");`);
    allocations.push("this.kern = arena.kernels;", "this.kernels = arena.engine;", ...(o.fma ? ["this.fma = arena.fma;"] : []));
    // Loops, not push(...list): a spread of one argument per array overflows the stack on big networks.
    for (const a of arrays) allocations.push(`${a.target} = arena.${a.int ? "i32" : "f32"}(${countOf(a)});`);
  } else {
    for (const a of arrays) allocations.push(`${a.target} = new ${a.int ? "Int32Array" : arr}(${countOf(a)});`);
  }
  // float64 scratch (statistics summed in double precision) stays outside the arena: only JS reads it.
  for (const x of scratch) if (x.kind === "double") allocations.push(`this.${x.field} = new Float64Array(${x.perSample ? `${rowsName} * ${x.size}` : x.size});`);
  // The fused softmax cross-entropy exponentiates with expf in f32, as the softmax does.
  const lossExp = o.precision === "f32" && finalKind === "softmax" ? "expf" : "Math.exp";
  if (lossExp === "expf") helpers.add("expf");
  const foldedRanges = mergeRanges([...folded].sort(([a], [b]) => a - b) as Range[]);
  const folds = useArena && foldedRanges.length > 0;
  const zeroGrads = p.buffers.filter((b) => b.inputIndex === undefined && b.id !== p.outputBuffer && b.id !== p.logitsBuffer).map((b) => `this.d${b.id}.fill(0, 0, n * ${b.size});`);
  const optimizer = o.train?.optimizer;
  const config = {
    loss: loss ?? null,
    optimizer: optimizer?.kind ?? "sgd",
    lr: optimizer?.lr ?? (optimizer?.kind === "adam" || optimizer?.kind === "adamw" ? 0.001 : 0.01),
    momentum: optimizer?.momentum ?? 0,
    beta1: optimizer?.beta1 ?? 0.9,
    beta2: optimizer?.beta2 ?? 0.999,
    eps: optimizer?.eps ?? 1e-8,
    weightDecay: o.train?.weightDecay ?? (optimizer?.kind === "adamw" ? 0.01 : 0),
    clip: o.train?.clip ?? 0,
    schedule: o.train?.schedule ?? null,
    warmup: o.train?.warmup ?? 0,
    patience: o.train?.patience ?? null,
    batch: o.train?.batch ?? 32,
    epochs: o.train?.epochs ?? 1,
    seed: o.train?.seed ?? 1,
  };

  const networkCode = `// Generated by dlc ${commentText(o.version)} from ${commentText(o.file)}${network.name ? ` (network ${commentText(network.name)})` : ""}.
// Edit the .dl file and run \`dlc compile\` again rather than editing this file.
// Every block below starts with a comment naming the .dl line and statement it came from.

/** The arenas' number type: ${o.precision === "f32" ? "float32, the speed default" : "float64, matches the interpreter"}. */
type Arr = ${arr};
const Arr = ${arr};

export interface WeightSpec {
  readonly name: string;
  readonly shape: readonly number[];
  readonly offset: number;
  readonly size: number;
  readonly init: string;
  readonly fanIn: number;
  readonly fanOut: number;
  readonly kind: "param" | "state";
  readonly trainable: boolean;
}

export const NETWORK = {
  name: ${network.name === null ? "null" : literal(network.name)},
  source: ${literal(o.file)},
  inputs: [${inputs.map((i) => `{ name: ${literal(i.name)}, shape: [${i.shape.join(", ")}] }`).join(", ")}],
  output: [${outShape.join(", ")}],
  precision: ${literal(o.precision)},
} as const;

/** Training settings from the .dl file's train { } block (or dlc's defaults). */
export const TRAIN_DEFAULTS = ${jsonCode(config)} as const;

export type LossKind = "squared" | "cross_entropy" | "binary_cross_entropy";

/** Every weight in the order and layout of LANGUAGE.md §8, and where it lives in the arena. */
export const WEIGHTS: readonly WeightSpec[] = [
${weightSpecs.join(",\n")}
];

const WEIGHT_COUNT = ${p.weightCount};
const OUTPUT_SIZE = ${outSize};
/** [start, end) ranges of the arena the optimizer updates: frozen layers and state are left out. */
const TRAINABLE: readonly (readonly [number, number])[] = ${rangesLiteral(trainable)};${folds ? `
/**
 * With plain SGD, trainStep leaves the step of the weights ${foldedRanges.map(([a, b]) => `[${a}, ${b})`).join(", ")} to their
 * layers: each applies it as it makes the weights' gradient (a matmul kernel that ends in
 * w −= rate·gradient), so that gradient is never stored. The optimizer steps the rest,
 * UNFOLDED_TRAINABLE, and only UNFOLDED_GRADIENTS of g are cleared.
 */
const UNFOLDED_TRAINABLE: readonly (readonly [number, number])[] = ${rangesLiteral(subtractRanges(trainable, foldedRanges))};
const UNFOLDED_GRADIENTS: readonly (readonly [number, number])[] = ${rangesLiteral(subtractRanges([[0, p.weightCount]], foldedRanges))};` : ""}

${initRuntime}
${[...helpers].sort().map((h) => HELPERS[h]).join("\n")}
${useArena ? wasm.code(threaded) : ""}
${threaded ? threadedConstants(shards, arrays, lastAxis(outShape), syncPoints) : ""}

export interface ModelOptions {
  /** The largest batch forward/trainStep will be given (buffers are allocated once, for this size). */
  readonly maxBatch?: number;
  /** Seed of the initial weights and dropout. */
  readonly seed?: number;
  readonly loss?: LossKind;${useArena ? `
  /** "wasm" (default): the generated SIMD kernels where the JavaScript engine has WebAssembly SIMD; "js": the JS kernels. */
  readonly kernels?: "wasm" | "js";` : ""}${threaded ? `
  /** Threads that train each batch, 1 … ${shards} (default: the machine's cores, at most ${shards}); any count gives the same results. */
  readonly threads?: number;` : ""}
}

export class Model {
  readonly maxBatch: number;
  /** All weights and state, laid out as WEIGHTS says. */
  readonly w: Arr;
  /** Gradients, at the same offsets as w. */
  readonly g: Arr;
  /** Where the matrix products run: ${useArena ? "f32x4 WebAssembly SIMD kernels, or JS where WebAssembly SIMD is missing (or asked for)" : "JS kernels"}. */
  readonly kernels: "wasm" | "js"${useArena ? "" : ' = "js"'};${useArena ? "\n  private readonly kern: KernelTable;" : ""}${useArena && o.fma ? "\n  /** Whether the kernels multiply-add with relaxed SIMD (f32x4.relaxed_madd): built with --fma, in an engine that has it. */\n  readonly fma: boolean;" : ""}
  loss: LossKind | null;${threaded ? `
  /** How many threads trainStep runs on (this one and threads − 1 workers). */
  readonly threads: number;
  /** The batch's ${shards} shards (each thread builds the same over the shared memory). */
  private readonly shardSet: ShardSet;
  /** The worker threads (main thread only). */
  private readonly shardThreads: ShardThreads | undefined;` : ""}
  /** Whether the loss gradient skips the final ${finalKind ?? "activation"} (fused, stable \`a − y\`). */
  private fused = false;
  private rand: () => number;
  /** @internal The batch row of this model's sample 0, for messages (not 0 only in a thread's shard of a batch). */
  firstRow = 0;${threaded ? `
  /** @internal Which shard of a batch this is, of how many (1: not a shard), and the batch's samples. */
  shardIndex = 0;
  shardCount = 1;
  batchRows = 0;` : ""}
${[...bufferFields, ...gradFields, ...scratchFields].join("\n")}
${optimizerCode.fields(arr)}

  constructor(options: ModelOptions = {}${threaded ? ", attach?: ShardWorkerData" : ""}) {
    const maxBatch = options.maxBatch ?? TRAIN_DEFAULTS.batch;
    this.maxBatch = maxBatch;
    this.loss = options.loss ?? TRAIN_DEFAULTS.loss;
    this.rand = seededRandom(options.seed ?? TRAIN_DEFAULTS.seed);
${allocations.join("\n")}
${optimizerAllocations}
${threaded ? threadedConstructorTail(fixedScratch.map((x) => ({ field: x.field, size: x.size, kind: x.kind }))) : "    this.initWeights(options.seed ?? TRAIN_DEFAULTS.seed);"}
  }

  /** Fresh weights from a seed: He uniform for relu layers, Glorot uniform otherwise (as Keras). */
  initWeights(seed: number): void {
    const random = seededRandom(seed);
    for (const spec of WEIGHTS) {
      const d = new Float64Array(spec.size);
      initWeight(d, spec, random);
      this.w.set(d, spec.offset);
    }
    this.resetOptimizer();
  }

  /** One weight by its §8 name, as float64 (a copy). */
  getWeight(name: string): { shape: readonly number[]; data: Float64Array } | undefined {
    const spec = WEIGHTS.find((s) => s.name === name);
    return spec && { shape: spec.shape, data: Float64Array.from(this.w.subarray(spec.offset, spec.offset + spec.size)) };
  }

  /** Sets one weight by its §8 name; the shape must match. */
  setWeight(name: string, data: ArrayLike<number>): void {
    const spec = WEIGHTS.find((s) => s.name === name);
    if (!spec) throw new Error(\`the network has no weight named \${JSON.stringify(name)}\`);
    if (data.length !== spec.size) throw new Error(\`\${name} needs \${spec.size} values (shape [\${spec.shape.join(",")}]), got \${data.length}\`);
    this.w.set(data, spec.offset);
  }

  /**
   * Runs the network on n samples. inputs[k] holds n samples of input k (${inputs.map((i) => `${commentText(i.name)} [${i.shape.join(",")}]`).join(", ")}),
   * row-major. Returns the output buffer: its first n·${outSize} values are the outputs.
   */
  forward(inputs: readonly ArrayLike<number>[] | ArrayLike<number>, n: number, training = false): Arr {
    if (!(n >= 1 && n <= this.maxBatch)) throw new RangeError(\`forward: n must be between 1 and maxBatch (\${this.maxBatch}), got \${n}\`);
    const list = Array.isArray(inputs) ? (inputs as readonly ArrayLike<number>[]) : [inputs as ArrayLike<number>];
${p.inputBuffers.map((b, k) => `    this.setInput(this.b${b}, list[${k}], n * ${p.buffers[b]!.size}, ${k});`).join("\n")}
    return this.pass(n, training);
  }

  /** @internal The forward pass over n samples already in the input buffers. */
  pass(n: number, training: boolean): Arr {${synced ? `
    const steps = this.passSteps(n, training);
    while (!steps.next().done);
    return this.b${p.outputBuffer};
  }

  /** @internal The forward pass in steps: it pauses (yield) where batchnorm's statistics need the batch's other shards. */
  *passSteps(n: number, training: boolean): Generator<void, void, void> {` : ""}
    const w = this.w;
    const rand = this.rand;
    void rand;
    void training;${useArena ? "\n    const kern = this.kern;\n    void kern;" : ""}
${chunked(forwardBlocks)}${synced ? "" : `
    return this.b${p.outputBuffer};`}
  }

  private setInput(target: Arr, source: ArrayLike<number> | undefined, count: number, k: number): void {
    if (!source || source.length < count) throw new RangeError(\`input \${k}: expected \${count} values, got \${source?.length ?? 0}\`);
    if (source.length === count) target.set(source as ArrayLike<number>);
    else for (let i = 0; i < count; i++) target[i] = source[i]!;
  }

  /**
   * The loss of the last forward pass against targets, and its gradient into the output (or,
   * fused, the logits). targets: n·${outSize} values shaped like the output, or (cross_entropy)
   * one class index per ${outShape.length > 1 ? "position" : "sample"}. The loss and gradient are divided by \`over\` (n: the batch mean).
   */
  lossAndGrad(targets: ArrayLike<number>, n: number, over = n): number {
    const loss = this.loss;
    if (!loss) throw new Error("no loss: give one in the .dl file's train { } block or in new Model({ loss })");
    this.fused = ${fusedPossible ? `loss === ${literal(finalKind === "softmax" ? "cross_entropy" : "binary_cross_entropy")}` : "false"};
${lossCode(p, arr, lossExp)}
  }

  /** Backpropagates the gradient lossAndGrad left, accumulating parameter gradients into g${folds ? " (given a \`rate\`, the weights whose step trainStep folds are stepped by plain SGD instead, and their gradients not written)" : ""}. */
  backward(n: number${folds ? ", rate?: number" : ""}): void {${synced ? `
    const steps = this.backwardSteps(n);
    while (!steps.next().done);
  }

  /** @internal backward in steps, pausing (yield) as passSteps does. */
  *backwardSteps(n: number): Generator<void, void, void> {` : ""}
    const w = this.w;
    const g = this.g;
    void w;
    void g;
    const rand = this.rand;
    void rand;
    const training = true;
    void training;${useArena ? "\n    const kern = this.kern;\n    void kern;" : ""}
${zeroGrads.map((z) => "    " + z).join("\n")}
${p.logitsBuffer !== undefined ? `    if (!this.fused) this.d${p.logitsBuffer}.fill(0, 0, n * ${p.buffers[p.logitsBuffer]!.size});` : ""}
${chunked(backwardBlocks)}
  }

  /** One optimizer step (${config.optimizer}) on g; frozen layers and state are left alone.${useArena ? " `ranges`: the parts of the weights to step (all the trainable ones by default)." : ""} */
  step(lr?: number${useArena ? ", ranges: readonly (readonly [number, number])[] = TRAINABLE" : ""}): void {
${optimizerCode.step(config, useArena)}
  }

  resetOptimizer(): void {
${optimizerCode.reset()}
  }
${optimizerCode.stateMethods()}${useArena ? `

  /** @internal Whether every weight is finite (fit's check after each batch), on the model's kernels. */
  weightsFinite(): boolean {
    return this.kern.finite(this.w, 0, WEIGHT_COUNT);
  }` : ""}${useArena ? `

  /**
   * @internal step()'s update of ranges ∩ [from, to) with the settings given (kind 0: sgd, 1: adam,
   * 2: adamw; t: the steps after this one; scale: the gradient clipping's factor, 1 for none).
   */
  stepRange(from: number, to: number, kind: number, rate: number, momentum: number, beta1: number, beta2: number, eps: number, t: number, weightDecay: number, scale: number, ranges: readonly (readonly [number, number])[] = TRAINABLE): void {
${optimizerCode.stepRange()}
  }` : ""}${threaded ? `

  /** @internal Σ g² over the trainable weights in [from, to) (a threaded build's gradient clipping). */
  gradientSquares(from: number, to: number): number {
    return squaredSum(this.g, TRAINABLE, from, to);
  }` : ""}

  /** forward (training) + loss + backward + optimizer step on one batch. Returns the batch loss. */
  trainStep(inputs: readonly ArrayLike<number>[] | ArrayLike<number>, targets: ArrayLike<number>, n: number, lr?: number): number {
${threaded ? threadedTrainStep(p.inputBuffers.map((b) => ({ field: `b${b}`, size: p.buffers[b]!.size }))) : `    this.forward(inputs, n, true);
    const loss = this.lossAndGrad(targets, n);
    if (!Number.isFinite(loss)) return loss;${folds ? `
    const o = this.optimizer;
    if (o.kind === "sgd" && o.momentum === 0 && !o.weightDecay && !(o.clip > 0)) {
      for (const [start, end] of UNFOLDED_GRADIENTS) this.g.fill(0, start, end);
      this.backward(n, lr ?? o.lr);
      this.step(lr, UNFOLDED_TRAINABLE);
      return loss;
    }` : ""}
    this.g.fill(0);
    this.backward(n);
    this.step(lr);
    return loss;`}
  }${threaded ? `

  /** Stops the worker threads; the model can still run forward, but not train. */
  close(): Promise<void> {
    return this.shardThreads?.close() ?? Promise.resolve();
  }

  /** Resolves once the worker threads have started; until then trainStep runs every shard on this thread (same results). */
  ready(): Promise<void> {
    return this.shardThreads?.ready() ?? Promise.resolve();
  }` : ""}

  /** Outputs for n samples (inference: dropout off, batchnorm on its running statistics). A copy. */
  predict(inputs: readonly ArrayLike<number>[] | ArrayLike<number>, n: number): Arr {
    return this.forward(inputs, n, false).slice(0, n * OUTPUT_SIZE);
  }
${runtimeMethods}}
`;
  // A threaded module's workers find it by this key in whatever file it ends up in (a bundle may hold several).
  const workerKey = threaded ? createHash("sha256").update(networkCode).update(chunks.join("")).digest("hex").slice(0, 16) : undefined;
  return { network: networkCode, chunks, runtime: runtimeFixed(), api: runtimeApi(p.checked, shards, workerKey) };
}

/** The size of the output's last axis (the classes, for class-index targets). */
function lastAxis(shape: readonly number[]): number {
  return shape[shape.length - 1] ?? 1;
}

/** Module-level code of a threaded build: the shard count, the per-sample arrays, the worker's entry. */
function threadedConstants(shards: number, arrays: readonly { target: string; size: number; perSample: boolean }[], last: number, syncPoints: number): string {
  const perSample = arrays.filter((a) => a.perSample).map((a) => `[${literal(a.target.replace(/^this\./, ""))}, ${a.size}]`);
  return `
/** Shards of each training batch (dlc compile --threads ${shards}): they fix the arithmetic, whatever the thread count. */
const SHARDS = ${shards};
/** Points in a training step where every shard waits for the others (batchnorm's batch statistics). */
const SYNC_POINTS = ${syncPoints};
/** The output's last axis: class-index targets name one of these per position. */
const LAST_AXIS = ${last};
/** The per-sample arrays (fields of Model) a shard cuts at its rows, with their values per sample. */
const PER_SAMPLE: readonly (readonly [string, number])[] = [${perSample.join(", ")}];

/** A worker thread's entry (claimShardWorker calls it as the worker loads this module): the same model over the same memory. */
function serveShardWorker(data: ShardWorkerData): void {
  const model = new Model({ maxBatch: data.options.maxBatch, seed: data.options.seed }, data);
  serveShards((model as unknown as { shardSet: ShardSet }).shardSet, data.thread);
}
`;
}

/** The end of a threaded build's constructor: shard replicas, threads, the gradient sum. */
function threadedConstructorTail(fixed: readonly { field: string; size: number; kind: "float" | "int" | "double" }[]): string {
  const fresh = (x: { size: number; kind: "float" | "int" | "double" }): string => (x.kind === "double" ? `new Float64Array(${x.size})` : `arena.${x.kind === "int" ? "i32" : "f32"}(${x.size})`);
  const own = (k: string) => `{ g: ${k === "0" ? "this.g" : "arena.f32(WEIGHT_COUNT)"}${fixed.map((x) => `, ${x.field}: ${k === "0" ? `this.${x.field}` : fresh(x)}`).join("")} }`;
  return `    const seed = options.seed ?? TRAIN_DEFAULTS.seed;
    if (!attach) this.initWeights(seed);
    const own: Record<string, unknown>[] = [${own("0")}];
    for (let k = 1; k < SHARDS; k++) own.push(${own("k")});
    const buffers = attach ? attach.buffers : newShardBuffers(SHARDS, rows * OUTPUT_SIZE, seed);
    const replicas = own.map((fields, k) => shardReplica(this, k, SHARDS, cap, PER_SAMPLE, fields, shardRandom(buffers, k)));
    this.shardSet = new ShardSet(replicas, cap, buffers, SYNC_POINTS, gradientAdder(this.kern.sgd));
    let threads = attach ? 1 : options.threads ?? defaultThreads(SHARDS);
    if (!(Number.isInteger(threads) && threads >= 1 && threads <= SHARDS)) throw new RangeError(\`threads must be a whole number from 1 to \${SHARDS} (this module was compiled with --threads \${SHARDS}), got \${threads}\`);
    const unavailable = threads > 1 ? threadsUnavailable(MODULE_URL) ?? (arena.shared ? undefined : "shared memory is unavailable here (a browser page needs cross-origin isolation); training on one thread") : undefined;
    if (unavailable) {
      warnOnce(unavailable);
      threads = 1;
    }
    this.threads = threads;
    this.shardThreads = attach ? undefined : new ShardThreads(this.shardSet, threads, { url: MODULE_URL, key: MODULE_KEY, buffers, options: { maxBatch, seed, kernels: this.kernels }, memory: arena.memory });
    if (this.shardThreads) closeWhenCollected(this, this.shardThreads);`;
}

/** A threaded build's trainStep: inputs and targets into each shard's rows, the shards on the threads, gradients summed in shard order, one step. */
function threadedTrainStep(inputs: readonly { field: string; size: number }[]): string {
  return `    if (!(n >= 1 && n <= this.maxBatch)) throw new RangeError(\`trainStep: n must be between 1 and maxBatch (\${this.maxBatch}), got \${n}\`);
    const lossKind = this.loss;
    if (!lossKind) throw new Error("no loss: give one in the .dl file's train { } block or in new Model({ loss })");
    const list = Array.isArray(inputs) ? (inputs as readonly ArrayLike<number>[]) : [inputs as ArrayLike<number>];
    const shards = this.shardSet;
${inputs.map((x, k) => `    shards.scatter(list[${k}], this.${x.field}, n, ${x.size}, ${k});`).join("\n")}
    const width = shards.scatterTargets(targets, n, OUTPUT_SIZE, LAST_AXIS);
    const o = this.optimizer;
    const t = this.t + 1;
    shards.setStep(o, lr ?? o.lr, t);
    // The shards' forward, loss and backward passes; then, if the loss is finite, each thread
    // sums its slice of the gradients into g and updates its slice of the weights (as step() would).
    const loss = this.shardThreads!.train(n, lossKind, width);
    if (Number.isFinite(loss)) this.t = t;
    return loss;`;
}

