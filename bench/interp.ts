/**
 * The interpreter's benchmark (issue 3): training throughput at batch 32 for the seed network,
 * an MLP and LeNet-5, peak memory, and memory after each of several epochs (flat = no leak).
 */
import { runCase, DATA_SIZE, PLAN } from "./cases.js";
import { memoryOverEpochs } from "./interp-engine.js";
import { CPU_NOTE, collector, cpuColumns, gflops, mib, perSecond, spread } from "./measure.js";
import { load, type Section } from "./report.js";
import { BATCH, WORKLOADS, syntheticData, trainFlopsPerSample, type WorkloadName } from "./workloads.js";

export const INTERP_TARGETS = {
  /** LeNet-5 samples/s at batch 32. */
  lenet5: 200,
  /** Heap + array buffers may grow at most this much per epoch (after a full GC) and still count as flat. */
  growthPerEpoch: 64 * 1024,
} as const;

const NETWORKS: readonly WorkloadName[] = ["seed", "mlp", "lenet5"];

export async function interpreterSections(): Promise<Section[]> {
  const rows: string[][] = [];
  const loadBefore = load().text;
  for (const name of NETWORKS) {
    const w = WORKLOADS[name];
    const r = await runCase("interp", name);
    if (r.status !== "ok") {
      rows.push([w.label, r.why, "", "", "", "", "", "", "", ""]);
      continue;
    }
    const sps = r.throughput.samplesPerSecond;
    const target = name === "lenet5" ? INTERP_TARGETS.lenet5 : undefined;
    rows.push([
      w.label,
      perSecond(sps),
      spread(r.throughput),
      cpuColumns(r.throughput)[0],
      cpuColumns(r.throughput)[1],
      gflops((sps * trainFlopsPerSample(w)) / 1e9),
      r.peakRss === undefined ? "" : mib(r.peakRss),
      r.peakHeapUsed === undefined ? "" : mib(r.peakHeapUsed),
      target === undefined ? "" : `≥ ${target}/s`,
      target === undefined ? "" : sps >= target ? "pass" : "FAIL",
    ]);
  }
  return [
    {
      title: "Interpreter: training throughput (batch 32)",
      intro:
        `\`train()\` of src/interp (the loop of \`dlc train --interpret\`: forward, loss, backward, SGD, NaN guard, ` +
        `one \`setImmediate\` per batch) on ${DATA_SIZE} synthetic samples, batch ${BATCH}. ` +
        `Warm-up ${PLAN.warmupMs / 1000} s, then the median of ${PLAN.runs} runs of ${PLAN.runMs / 1000} s; "spread" covers the slowest and fastest run. ` +
        `Load average (1 min): ${loadBefore} before, ${load().text} after; on a loaded machine samples/s reads low (see the CPU columns).`,
      table: {
        headers: ["network", "samples/s", "spread", "samples / CPU-s", "CPU share", "GFLOP/s", "peak rss", "peak heapUsed", "target", "result"],
        align: ["left", "right", "right", "right", "right", "right", "right", "right", "left", "left"],
        rows,
      },
      notes: [
        CPU_NOTE,
        "GFLOP/s counts 6·MACs per sample (forward 2·MACs, backward ≈ 2× the forward); activations, pooling, loss and optimizer are not counted.",
        "Peak rss / heapUsed are sampled between batches (at most every 20 ms) while that case trained, after a full garbage collection before it; " +
          "rss includes everything the bench process has loaded (the front end, other engines) and what the allocator kept from earlier cases.",
      ],
    },
    await memorySection(),
  ];
}

async function memorySection(): Promise<Section> {
  const w = WORKLOADS.lenet5;
  const epochs = 5;
  const data = syntheticData(w, DATA_SIZE, 7);
  process.stderr.write(`  training ${w.label} with the interpreter for ${epochs} epochs (memory)…\n`);
  const gc = collector();
  const mem = await memoryOverEpochs(w, data, epochs, gc);
  // Epoch 1 includes one-time allocations (JIT code, optimizer state); the slope is fitted from epoch 2 on.
  const tail = mem.slice(1);
  const slope = fitSlope(tail.map((m) => m.epoch), tail.map((m) => m.heapUsed + m.arrayBuffers));
  const first = mem[0]!;
  const rows = mem.map((m) => [
    String(m.epoch),
    mib(m.heapUsed),
    mib(m.arrayBuffers),
    mib(m.rss),
    kib(m.heapUsed + m.arrayBuffers - (first.heapUsed + first.arrayBuffers)),
    perSecond(m.samplesPerSecond),
  ]);
  const flat = Math.abs(slope) <= INTERP_TARGETS.growthPerEpoch;
  const batches = DATA_SIZE / BATCH;
  return {
    title: "Interpreter: memory over epochs (LeNet-5)",
    intro:
      `${epochs} epochs of ${DATA_SIZE} samples (${batches} batches of ${BATCH} each) with \`train()\`; after each epoch ` +
      `${gc ? "a full garbage collection, then " : "(no garbage collector available: numbers include garbage) "}\`process.memoryUsage()\`. ` +
      "Typed-array data lives outside the V8 heap, so heapUsed and arrayBuffers are both shown.",
    table: {
      headers: ["epoch", "heapUsed", "arrayBuffers", "rss", "heap + buffers vs epoch 1", "samples/s"],
      align: ["right", "right", "right", "right", "right", "right"],
      rows,
    },
    notes: [
      `Growth of heapUsed + arrayBuffers, least-squares slope over epochs 2–${epochs}: ${kib(slope)} per epoch ` +
        `(${kib(slope / batches)} per batch); target: within ±${kib(INTERP_TARGETS.growthPerEpoch).slice(1)} per epoch — ` +
        `${flat ? "pass (flat)" : "FAIL (grows)"}.`,
    ],
  };
}

function fitSlope(xs: readonly number[], ys: readonly number[]): number {
  const n = xs.length;
  if (n < 2) return 0;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return num / den;
}

const kib = (bytes: number): string => `${bytes >= 0 ? "+" : "−"}${(Math.abs(bytes) / 1024).toFixed(1)} KiB`;
