import type { EmitContext, LayerEmitter } from "../codegen/emit-types.js";
import { NORM_EPSILON } from "./norm-kernel.js";

type NoArgs = Record<string, never>;

function widthAndRows(c: EmitContext): { width: number; rowsPerSample: number } {
  const width = c.outShape[c.outShape.length - 1]!;
  return { width, rowsPerSample: c.outShape.reduce((p, d) => p * d, 1) / width };
}

/**
 * batchnorm over the last axis C, every other axis (batch included) being rows, as
 * src/layers/norm-kernel.ts, by the module's shared batchnorm helpers (norm-helpers.ts):
 * the loops are the same for every shape, and ResNet-sized networks have dozens of batchnorms,
 * so one copy keeps the module (and prettier's work on it) small. A frozen batchnorm always runs
 * on its running statistics.
 */
export const batchnormEmit: LayerEmitter<NoArgs> = {
  forward(_a, c) {
    const { width, rowsPerSample } = widthAndRows(c);
    const s = scratchOf(c, width, rowsPerSample);
    if (c.shards && !c.frozen) return shardedForward(c, width, rowsPerSample, s);
    return `
      ${c.helper("batchnormForward")}(x0, y, w, ${c.offset("gamma")}, ${c.offset("beta")}, ${c.offset("moving_mean")}, ${c.offset("moving_variance")}, n * ${rowsPerSample}, ${width}, ${c.frozen ? "false" : "training"}, ${s.mean}, ${s.variance}, ${s.invStd}, ${s.xhat}, ${s.batchStats});`;
  },

  backward(_a, c) {
    const { width, rowsPerSample } = widthAndRows(c);
    const s = scratchOf(c, width, rowsPerSample);
    if (c.shards && !c.frozen) return shardedBackward(c, width, rowsPerSample, s);
    return `
      ${c.helper("batchnormBackward")}(dy, ${c.needsDx(0) ? "dx0" : "null"}, w, g, ${c.offset("gamma")}, ${c.offset("beta")}, n * ${rowsPerSample}, ${width}, ${s.invStd}, ${s.xhat}, ${s.batchStats}, ${s.sumDy}, ${s.sumDyXhat});`;
  },
};

type Scratch = ReturnType<typeof scratchOf>;

/**
 * A threaded build's batchnorm in training: the statistics of the whole batch, from every
 * shard's partial sums (norm-helpers.ts, batchnormShards), meeting the other shards at each sync.
 * Outside training (or in a model that is not a shard) the same code sees one shard.
 */
function shardedForward(c: EmitContext, width: number, rowsPerSample: number, s: Scratch): string {
  const sh = c.shards!;
  c.helper("batchnormShards");
  const sums = sh.table("sums", width);
  const squares = sh.table("squares", width);
  const stats = `${c.offset("gamma")}, ${c.offset("beta")}, ${c.offset("moving_mean")}, ${c.offset("moving_variance")}`;
  return `
      if (training) {
        const batchN = ${sh.count} === 1 ? n : ${sh.batch};
        batchnormShardSums(x0, n * ${rowsPerSample}, ${width}, ${sums}, ${sh.index}, ${s.variance});
        ${sh.sync()}
        batchnormShardCentered(x0, n * ${rowsPerSample}, ${width}, ${sums}, ${squares}, ${s.mean}, ${sh.index}, ${sh.count}, batchN, batchN * ${rowsPerSample}, ${s.variance});
        ${sh.sync()}
        batchnormShardFinish(x0, y, w, ${stats}, n * ${rowsPerSample}, ${width}, ${squares}, ${s.mean}, ${s.variance}, ${s.invStd}, ${s.xhat}, ${s.batchStats}, ${sh.index}, ${sh.count}, batchN, batchN * ${rowsPerSample});
      } else ${c.helper("batchnormForward")}(x0, y, w, ${stats}, n * ${rowsPerSample}, ${width}, false, ${s.mean}, ${s.variance}, ${s.invStd}, ${s.xhat}, ${s.batchStats});`;
}

function shardedBackward(c: EmitContext, width: number, rowsPerSample: number, s: Scratch): string {
  const sh = c.shards!;
  c.helper("batchnormShards");
  const part = sh.table("gradSums", 2 * width);
  const dx = c.needsDx(0);
  return `
      if (${s.batchStats}[0] === 1) {
        batchnormShardGradSums(dy, g, ${c.offset("gamma")}, ${c.offset("beta")}, n * ${rowsPerSample}, ${width}, ${s.xhat}, ${part}, ${sh.index}, ${s.sumDy}, ${s.sumDyXhat});
        ${sh.sync()}${
          dx
            ? `
        const batchN = ${sh.count} === 1 ? n : ${sh.batch};
        batchnormShardDx(dy, dx0, w, ${c.offset("gamma")}, n * ${rowsPerSample}, ${width}, ${s.invStd}, ${s.xhat}, ${part}, ${s.sumDy}, ${s.sumDyXhat}, ${sh.count}, batchN, batchN * ${rowsPerSample});`
            : ""
        }
      } else ${c.helper("batchnormBackward")}(dy, ${dx ? "dx0" : "null"}, w, g, ${c.offset("gamma")}, ${c.offset("beta")}, n * ${rowsPerSample}, ${width}, ${s.invStd}, ${s.xhat}, ${s.batchStats}, ${s.sumDy}, ${s.sumDyXhat});`;
}

function scratchOf(c: EmitContext, width: number, rowsPerSample: number) {
  return {
    // Per-channel sums over every row of the batch, in float64 as the interpreter's: float32
    // sums drift with the row count, and deep batchnorm stacks magnify the drift.
    mean: c.scratch("mean", width, false, "double"),
    variance: c.scratch("variance", width, false, "double"),
    invStd: c.scratch("invStd", width, false, "double"),
    sumDy: c.scratch("sumDy", width, false, "double"),
    sumDyXhat: c.scratch("sumDyXhat", width, false, "double"),
    xhat: c.scratch("xhat", width * rowsPerSample, true),
    batchStats: c.scratch("batchStats", 1, false, "int"),
  };
}

/**
 * layernorm: each row of the last axis F normalised on its own mean and biased variance (eps
 * 1e-3), then γ·x̂ + β, as src/layers/norm-kernel.ts. The mean and variance are float64 locals;
 * x̂ (per element) and 1/σ (per row) are kept in scratch for backward, which adds the γ/β
 * gradients and dx = (d − mean(d) − x̂·mean(d·x̂))/σ with d = dy·γ.
 */
export const layernormEmit: LayerEmitter<NoArgs> = {
  forward(_a, c) {
    const { width, rowsPerSample } = widthAndRows(c);
    const xhat = c.scratch("xhat", width * rowsPerSample, true);
    const invStd = c.scratch("invStd", rowsPerSample, true);
    const gamma = c.offset("gamma");
    const beta = c.offset("beta");
    return `
      for (let r = 0; r < n * ${rowsPerSample}; r++) {
        const o = r * ${width};
        let mean = 0;
        for (let i = 0; i < ${width}; i++) mean += x0[o + i];
        mean /= ${width};
        let variance = 0;
        for (let i = 0; i < ${width}; i++) {
          const d = x0[o + i] - mean;
          variance += d * d;
        }
        variance /= ${width};
        const s = 1 / Math.sqrt(variance + ${NORM_EPSILON});
        ${invStd}[r] = s;
        for (let i = 0; i < ${width}; i++) {
          const h = (x0[o + i] - mean) * s;
          ${xhat}[o + i] = h;
          y[o + i] = w[${gamma} + i] * h + w[${beta} + i];
        }
      }`;
  },

  backward(_a, c) {
    const { width, rowsPerSample } = widthAndRows(c);
    const xhat = c.scratch("xhat", width * rowsPerSample, true);
    const invStd = c.scratch("invStd", rowsPerSample, true);
    const gamma = c.offset("gamma");
    const beta = c.offset("beta");
    const dx = c.needsDx(0);
    return `
      for (let r = 0; r < n * ${rowsPerSample}; r++) {
        const o = r * ${width};
        let sumD = 0;
        let sumDXhat = 0;
        for (let i = 0; i < ${width}; i++) {
          const e = dy[o + i];
          const d = e * w[${gamma} + i];
          sumD += d;
          sumDXhat += d * ${xhat}[o + i];
          g[${gamma} + i] += e * ${xhat}[o + i];
          g[${beta} + i] += e;
        }${
          dx
            ? `
        const s = ${invStd}[r];
        for (let i = 0; i < ${width}; i++) {
          const d = dy[o + i] * w[${gamma} + i];
          dx0[o + i] += s * (d - sumD / ${width} - ${xhat}[o + i] * (sumDXhat / ${width}));
        }`
            : ""
        }
      }`;
  },
};
