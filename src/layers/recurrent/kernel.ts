import { zeros, type Tensor } from "../../interp/tensor.js";
import type { Cell, RecurrentArgs } from "../recurrent.js";
import type { LayerKernel, ParamTensors } from "../types.js";
import { gruCell, lstmCell, rnnCell, type CellMath } from "./cells.js";
import { DirectionRun, type DirectionGrads, type DirectionParams } from "./direction.js";

const CELLS: Record<Cell, CellMath> = { rnn: rnnCell, lstm: lstmCell, gru: gruCell };

/** `l2.fw.` or "" — the naming rule of recurrent.ts, passed in so this file imports no values from it. */
export type PartPrefix = (a: RecurrentArgs, layer: number, backward: boolean) => string;

interface RecurrentCache {
  /** runs[layer][direction]: forward first, then backward. */
  readonly runs: DirectionRun[][];
  /** Each layer's input width F. */
  readonly features: number[];
}

/**
 * rnn/lstm/gru over x [B, T, F] from a zero state. Stacked layers read the full output sequence
 * of the layer below ([T, 2H] per example when bidirectional: forward ‖ backward per step).
 * Output: every step [B, T, D·H] with `sequences`; otherwise [B, D·H], each direction's final
 * state — the forward one at t = T, the backward one at t = 1 (Keras). Backward is BPTT, or
 * truncated BPTT with the layer's `bptt K` (which wins) or the context's; see DirectionRun.
 */
export function recurrentKernel(cell: Cell, partPrefix: PartPrefix): LayerKernel<RecurrentArgs> {
  return {
    forward([x], p, a) {
      if (x!.shape.length !== 3) throw new Error(`${cell}: expected an input [B,T,F], got [${x!.shape.join(",")}]`);
      const [batch, steps, f0] = x!.shape as [number, number, number];
      const math = CELLS[cell];
      const units = a.units;
      const dirs = a.bidirectional ? 2 : 1;
      const width = dirs * units;
      let seq = toTimeMajor(x!.data, batch, steps, f0);
      const runs: DirectionRun[][] = [];
      const features: number[] = [];
      for (let layer = 0; layer < a.layers; layer++) {
        const f = layer === 0 ? f0 : width;
        features.push(f);
        const out = new Float64Array(steps * batch * width);
        const layerRuns: DirectionRun[] = [];
        for (let d = 0; d < dirs; d++) {
          const run = new DirectionRun(math, seq, steps, batch, f, units, d === 1);
          run.forward(paramsOf(p, partPrefix(a, layer, d === 1)));
          for (let k = 0; k < steps; k++) {
            const src = run.outputOffset(k);
            const t = run.timeOf(k);
            for (let r = 0; r < batch; r++) out.set(run.states.subarray(src + r * units, src + (r + 1) * units), (t * batch + r) * width + d * units);
          }
          layerRuns.push(run);
        }
        runs.push(layerRuns);
        seq = out;
      }
      let y: Tensor;
      if (a.sequences) {
        y = zeros([batch, steps, width]);
        y.data.set(fromTimeMajor(seq, batch, steps, width));
      } else {
        // Each direction's final state: processing step T−1 (t = T forward, t = 1 backward).
        y = zeros([batch, width]);
        runs[runs.length - 1]!.forEach((run, d) => {
          const src = run.outputOffset(steps - 1);
          for (let r = 0; r < batch; r++) y.data.set(run.states.subarray(src + r * units, src + (r + 1) * units), r * width + d * units);
        });
      }
      const cache: RecurrentCache = { runs, features };
      return { y, cache };
    },

    backward(dy, [x], _y, cache, p, g, a, ctx) {
      const { runs, features } = cache as RecurrentCache;
      const [batch, steps, f0] = x!.shape as [number, number, number];
      const units = a.units;
      const dirs = a.bidirectional ? 2 : 1;
      const width = dirs * units;
      const window = a.bptt ?? ctx.bptt;
      let dSeq: Float64Array;
      if (a.sequences) dSeq = toTimeMajor(dy.data, batch, steps, width);
      else {
        dSeq = new Float64Array(steps * batch * width);
        for (let d = 0; d < dirs; d++) {
          const t = d === 0 ? steps - 1 : 0;
          for (let r = 0; r < batch; r++) dSeq.set(dy.data.subarray(r * width + d * units, r * width + (d + 1) * units), (t * batch + r) * width + d * units);
        }
      }
      for (let layer = a.layers - 1; layer >= 0; layer--) {
        const dInput = new Float64Array(steps * batch * features[layer]!);
        for (let d = 0; d < dirs; d++) {
          const prefix = partPrefix(a, layer, d === 1);
          runs[layer]![d]!.backward(dSeq, d * units, width, window, paramsOf(p, prefix), gradsOf(g, prefix), dInput);
        }
        dSeq = dInput;
      }
      const dx = zeros([batch, steps, f0]);
      dx.data.set(fromTimeMajor(dSeq, batch, steps, f0));
      return [dx];
    },
  };
}

function paramsOf(p: ParamTensors, prefix: string): DirectionParams {
  const get = (name: string): Float64Array => {
    const t = p[prefix + name];
    if (!t) throw new Error(`recurrent: missing parameter '${prefix}${name}'`);
    return t.data;
  };
  return { kernel: get("kernel"), recurrent: get("recurrent_kernel"), bias: get("bias") };
}

function gradsOf(g: ParamTensors, prefix: string): DirectionGrads {
  return { kernel: g[`${prefix}kernel`]?.data, recurrent: g[`${prefix}recurrent_kernel`]?.data, bias: g[`${prefix}bias`]?.data };
}

/** [B, T, F] → [T, B, F]. */
function toTimeMajor(data: Float64Array, batch: number, steps: number, f: number): Float64Array {
  const out = new Float64Array(batch * steps * f);
  for (let b = 0; b < batch; b++) for (let t = 0; t < steps; t++) out.set(data.subarray((b * steps + t) * f, (b * steps + t + 1) * f), (t * batch + b) * f);
  return out;
}

/** [T, B, F] → [B, T, F]. */
function fromTimeMajor(data: Float64Array, batch: number, steps: number, f: number): Float64Array {
  const out = new Float64Array(batch * steps * f);
  for (let t = 0; t < steps; t++) for (let b = 0; b < batch; b++) out.set(data.subarray((t * batch + b) * f, (t * batch + b + 1) * f), (b * steps + t) * f);
  return out;
}
