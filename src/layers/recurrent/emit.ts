import type { EmitContext, LayerEmitter } from "../../codegen/emit-types.js";
import type { RecurrentArgs } from "../recurrent.js";
import type { PartPrefix } from "./kernel.js";
import { CELL_CODE, type CellCode } from "./emit-cells.js";

/**
 * Generated forward and backward code for rnn/lstm/gru, specialised to T, F, H and G. It
 * computes what kernel.ts and direction.ts compute: zero initial state, Keras gate layouts,
 * stacked layers reading the full output sequence of the layer below (forward ‖ backward per
 * step), the bidirectional last-step rule (forward at t = T, backward at t = 1), and BPTT —
 * truncated with the window `a.bptt ?? c.bptt` exactly as direction.ts defines it.
 *
 * Samples are independent, so both passes loop over the batch outermost and run one sample's
 * whole stack at a time. Forward keeps, per sample, every state (and cell state and gate
 * values) of every direction of every layer, and each lower layer's output sequence.
 * Only the recurrence itself is step by step: x·kernel for all T steps is one tiled matmul
 * before the loop, and backward collects every step's gate gradients so that the kernel,
 * recurrent-kernel and input gradients are three tiled matmuls after it.
 */

/** The sizes of one call, from the node's shapes. */
interface Dims {
  readonly code: CellCode;
  readonly steps: number;
  readonly f0: number;
  readonly units: number;
  readonly dirs: number;
  /** D·H: the width of a layer's output sequence. */
  readonly width: number;
  /** G·H: the width of the kernels. */
  readonly gw: number;
  /** The weight-name rule of recurrent.ts (`l2.fw.` or ""). */
  readonly prefix: PartPrefix;
}

function dimsOf(a: RecurrentArgs, c: EmitContext, prefix: PartPrefix): Dims {
  const [steps, f0] = c.inShapes[0]! as readonly number[];
  const code = CELL_CODE[a.cell];
  const dirs = a.bidirectional ? 2 : 1;
  return { code, steps: steps!, f0: f0!, units: a.units, dirs, width: dirs * a.units, gw: code.gates * a.units, prefix };
}

/** One direction of one layer: its weights' offsets and its per-sample buffers. */
interface Direction {
  readonly layer: number;
  readonly d: number;
  readonly reverse: boolean;
  /** The layer's input width F. */
  readonly features: number;
  readonly kernel: number;
  readonly recurrent: number;
  readonly bias: number;
  readonly states: string;
  readonly cells?: string;
  readonly acts?: string;
}

function directions(a: RecurrentArgs, c: EmitContext, z: Dims): Direction[][] {
  const { code, steps, units } = z;
  const out: Direction[][] = [];
  for (let layer = 0; layer < a.layers; layer++) {
    const row: Direction[] = [];
    for (let d = 0; d < z.dirs; d++) {
      const prefix = z.prefix(a, layer, d === 1);
      const tag = `${layer}${d === 1 ? "b" : "f"}`;
      row.push({
        layer,
        d,
        reverse: d === 1,
        features: layer === 0 ? z.f0 : z.width,
        kernel: c.offset(`${prefix}kernel`),
        recurrent: c.offset(`${prefix}recurrent_kernel`),
        bias: c.offset(`${prefix}bias`),
        states: c.scratch(`st${tag}`, (steps + 1) * units, true),
        cells: code.carriesCell ? c.scratch(`cs${tag}`, (steps + 1) * units, true) : undefined,
        acts: code.cached > 0 ? c.scratch(`ac${tag}`, steps * code.cached * units, true) : undefined,
      });
    }
    out.push(row);
  }
  return out;
}

/** Output sequence of each lower layer (the next layer's input), [T, D·H] per sample. */
function sequenceBuffer(c: EmitContext, z: Dims, layer: number): string {
  return c.scratch(`sq${layer}`, z.steps * z.width, true);
}

/** Binds the cell snippets' names (st, cs, ac) to one direction's buffers. */
function bindBuffers(dir: Direction): string {
  const names = [`st = ${dir.states}`];
  if (dir.cells) names.push(`cs = ${dir.cells}`);
  if (dir.acts) names.push(`ac = ${dir.acts}`);
  return `const ${names.join(", ")};`;
}

/** Where a layer reads its input sequence: an array and the sample's base offset. */
function inputOf(c: EmitContext, z: Dims, layer: number): { array: string; base: string } {
  if (layer === 0) return { array: "x0", base: `b * ${z.steps * z.f0}` };
  return { array: sequenceBuffer(c, z, layer - 1), base: `b * ${z.steps * z.width}` };
}

function stepIndex(z: Dims, reverse: boolean): string {
  return reverse ? `${z.steps - 1} - k` : "k";
}

/**
 * target[off + q] += Σ_i st[hp + i]·U[i, q] (`off` is code ending in " + ", or ""): the state times the recurrent kernel, walking four
 * kernel rows at once (all G gates of a row in one pass).
 */
function stateTimesKernel(target: string, off: string, u: number, h: number, gw: number): string {
  const h4 = h - (h % 4);
  const parts: string[] = [];
  if (h4 > 0) {
    parts.push(`for (let i = 0; i < ${h4}; i += 4) {
            const v0 = st[hp + i], v1 = st[hp + i + 1], v2 = st[hp + i + 2], v3 = st[hp + i + 3];
            const u0 = ${u} + i * ${gw}, u1 = u0 + ${gw}, u2 = u1 + ${gw}, u3 = u2 + ${gw};
            for (let q = 0; q < ${gw}; q++) ${target}[${off}q] += v0 * w[u0 + q] + v1 * w[u1 + q] + v2 * w[u2 + q] + v3 * w[u3 + q];
          }`);
  }
  if (h4 < h) {
    parts.push(`for (let i = ${h4}; i < ${h}; i++) {
            const v = st[hp + i];
            const uo = ${u} + i * ${gw};
            for (let q = 0; q < ${gw}; q++) ${target}[${off}q] += v * w[uo + q];
          }`);
  }
  return parts.join("\n");
}

/**
 * target[toff + i] = Σ_q src[soff + q]·U[i, q] (+ dhd[i] for gru): a gate gradient back through
 * the recurrent kernel to the old state, four kernel rows at once.
 */
function kernelTimesGradient(src: string, soff: string, target: string, toff: string, u: number, h: number, gw: number, direct: boolean): string {
  const h4 = h - (h % 4);
  const plus = (i: string): string => (direct ? `dhd[${i}] + ` : "");
  const parts: string[] = [];
  if (h4 > 0) {
    parts.push(`for (let i = 0; i < ${h4}; i += 4) {
              const u0 = ${u} + i * ${gw}, u1 = u0 + ${gw}, u2 = u1 + ${gw}, u3 = u2 + ${gw};
              let a0 = 0, a1 = 0, a2 = 0, a3 = 0;
              for (let q = 0; q < ${gw}; q++) {
                const d = ${src}[${soff} + q];
                a0 += d * w[u0 + q];
                a1 += d * w[u1 + q];
                a2 += d * w[u2 + q];
                a3 += d * w[u3 + q];
              }
              ${target}[${toff} + i] = ${plus("i")}a0;
              ${target}[${toff} + i + 1] = ${plus("i + 1")}a1;
              ${target}[${toff} + i + 2] = ${plus("i + 2")}a2;
              ${target}[${toff} + i + 3] = ${plus("i + 3")}a3;
            }`);
  }
  if (h4 < h) {
    parts.push(`for (let i = ${h4}; i < ${h}; i++) {
              const uo = ${u} + i * ${gw};
              let acc = 0;
              for (let q = 0; q < ${gw}; q++) acc += ${src}[${soff} + q] * w[uo + q];
              ${target}[${toff} + i] = ${plus("i")}acc;
            }`);
  }
  return parts.join("\n");
}

function recurrentForward(a: RecurrentArgs, c: EmitContext, prefix: PartPrefix): string {
  const z = dimsOf(a, c, prefix);
  const { code, steps, units: h, gw, width } = z;
  const dirs = directions(a, c, z);
  const matmul = c.helper("matmul");
  // x·kernel + input bias for every step of a sample, rows by time t.
  const xp = c.scratch("xProj", steps * gw);
  const gh = code.recurrentBias ? c.scratch("hProj", gw) : undefined;
  const last = a.layers - 1;
  const blocks: string[] = [];
  for (const row of dirs) {
    for (const dir of row) {
      const input = inputOf(c, z, dir.layer);
      // Where each step's new state goes: the next layer's input, or y (every step or the last).
      let perStep = "";
      let afterLoop = "";
      if (dir.layer < last) {
        perStep = `for (let j = 0; j < ${h}; j++) ${sequenceBuffer(c, z, dir.layer)}[b * ${steps * width} + t * ${width} + ${dir.d * h ? `${dir.d * h} + ` : ""}j] = st[hn + j];`;
      } else if (a.sequences) {
        perStep = `for (let j = 0; j < ${h}; j++) y[b * ${steps * width} + t * ${width} + ${dir.d * h ? `${dir.d * h} + ` : ""}j] = st[hn + j];`;
      } else {
        // The final state: processing step T−1 (t = T forward, t = 1 backward), as Keras.
        afterLoop = `for (let j = 0; j < ${h}; j++) y[b * ${width} + ${dir.d * h ? `${dir.d * h} + ` : ""}j] = st[sb + ${steps * h} + j];`;
      }
      const recurrent = gh ? stateTimesKernel("gh", "", dir.recurrent, h, gw) : stateTimesKernel("gx", "go + ", dir.recurrent, h, gw);
      blocks.push(`
      // layer ${dir.layer + 1}, ${dir.reverse ? "backward (t = T down to 1)" : "forward"} direction
      {
        ${bindBuffers(dir)}
        const gx = ${xp};
        ${gh ? `const gh = ${gh};` : ""}
        const sb = b * ${(steps + 1) * h};
        ${code.cached > 0 ? `const ab = b * ${steps * code.cached * h};` : ""}
        for (let r = 0; r < ${steps * gw}; r += ${gw}) for (let q = 0; q < ${gw}; q++) gx[r + q] = w[${dir.bias} + q];
        ${matmul}(${input.array}, ${input.base}, w, ${dir.kernel}, gx, 0, ${steps}, ${dir.features}, ${gw}, true);
        for (let j = 0; j < ${h}; j++) st[sb + j] = 0;
        ${dir.cells ? `for (let j = 0; j < ${h}; j++) cs[sb + j] = 0;` : ""}
        for (let k = 0; k < ${steps}; k++) {
          const t = ${stepIndex(z, dir.reverse)};
          const go = t * ${gw};
          const hp = sb + k * ${h};
          const hn = hp + ${h};
          ${code.cached > 0 ? `const ao = ab + k * ${code.cached * h};` : ""}
          ${gh ? `for (let q = 0; q < ${gw}; q++) gh[q] = w[${dir.bias + gw} + q];` : ""}
          if (k > 0) {
            // + h·recurrent_kernel (the state before the first step is zero)
            ${recurrent}
          }
          ${code.forward(h)}
          ${perStep}
        }
        ${afterLoop}
      }`);
    }
  }
  return `
    for (let b = 0; b < n; b++) {
      ${blocks.join("\n")}
    }`;
}

/** Where the gradient on a layer's output sequence comes from, and whether it enters at step k. */
interface Entering {
  readonly array: string;
  /** Offset of direction d's H values at time t (code, using b and t). */
  readonly offset: (d: number) => string;
  /** Only the last processing step receives a gradient (the last layer without sequences). */
  readonly lastStepOnly: boolean;
}

function enteringOf(a: RecurrentArgs, c: EmitContext, z: Dims, layer: number): Entering {
  const { steps, width, units: h } = z;
  if (layer < a.layers - 1) return { array: c.scratch(`dq${layer}`, steps * width), offset: (d) => `t * ${width}${d ? ` + ${d * h}` : ""}`, lastStepOnly: false };
  if (a.sequences) return { array: "dy", offset: (d) => `b * ${steps * width} + t * ${width}${d ? ` + ${d * h}` : ""}`, lastStepOnly: false };
  return { array: "dy", offset: (d) => `b * ${width}${d ? ` + ${d * h}` : ""}`, lastStepOnly: true };
}

/** Where a layer's input gradient goes (undefined: nobody needs it). */
function inputGradientOf(c: EmitContext, z: Dims, layer: number): { array: string; base: string } | undefined {
  if (layer > 0) return { array: c.scratch(`dq${layer - 1}`, z.steps * z.width), base: "0" };
  return c.needsDx(0) ? { array: "dx0", base: `b * ${z.steps * z.f0}` } : undefined;
}

interface DirectionBackward {
  readonly z: Dims;
  readonly dir: Direction;
  readonly entering: Entering;
  readonly input: { array: string; base: string };
  readonly dIn?: { array: string; base: string };
  /** Gate gradients of every step: input side by time t, recurrent side by processing step k. */
  readonly dGates: string;
  readonly dGatesRec: string;
  readonly dcp?: string;
  readonly dhd?: string;
  readonly helpers: { matmulTN: string; matmulNT: string };
}

function recurrentBackward(a: RecurrentArgs, c: EmitContext, prefix: PartPrefix): string {
  const z = dimsOf(a, c, prefix);
  const { code, steps, units: h, gw, width } = z;
  const window = a.bptt ?? c.bptt;
  // direction.ts: no window, or one of T or more, is full BPTT (K = T gives the same numbers).
  const truncated = window !== undefined && window >= 1 && window < steps;
  const dirs = directions(a, c, z);
  const shared = {
    dGates: c.scratch("dGates", steps * gw),
    dGatesRec: c.scratch("dGatesRec", steps * gw),
    dcp: code.carriesCell ? c.scratch("stepDcp", h) : undefined,
    dhd: code.directPath ? c.scratch("stepDhd", h) : undefined,
    helpers: { matmulTN: c.helper("matmulTN"), matmulNT: "" },
  };
  const layers: string[] = [];
  for (let layer = a.layers - 1; layer >= 0; layer--) {
    const dIn = inputGradientOf(c, z, layer);
    if (dIn) shared.helpers.matmulNT = c.helper("matmulNT");
    const clear = layer > 0 ? `for (let i = 0; i < ${steps * width}; i++) ${dIn!.array}[i] = 0;` : "";
    const body = dirs[layer]!.map((dir) => {
      const x: DirectionBackward = { z, dir, entering: enteringOf(a, c, z, layer), input: inputOf(c, z, layer), dIn, ...shared };
      const loop = truncated ? truncatedLoop(x, c, window) : fullLoop(x, c);
      return `
      // layer ${dir.layer + 1}, ${dir.reverse ? "backward" : "forward"} direction: ${truncated ? `truncated BPTT, window ${window}` : "backpropagation through time"}
      {
        ${bindBuffers(dir)}
        const sb = b * ${(steps + 1) * h};
        ${code.cached > 0 ? `const ab = b * ${steps * code.cached * h};` : ""}
        ${loop}
        ${finish(x)}
      }`;
    });
    layers.push(`
      // layer ${layer + 1}
      ${clear}
      ${body.join("\n")}`);
  }
  return `
    for (let b = 0; b < n; b++) {
      ${layers.join("\n")}
    }`;
}

/** The offsets every backward step uses. */
function stepOffsets(z: Dims, dir: Direction): string {
  const h = z.units;
  return `
          const t = ${stepIndex(z, dir.reverse)};
          const hp = sb + k * ${h};
          ${z.code.cached > 0 ? `const ao = ab + k * ${z.code.cached * h};` : "const hn = hp + " + h + ";"}`;
}

/**
 * After the step loop, from every step's gate gradients at once: the biases, kernel += Xᵀ·dGates,
 * recurrent_kernel += H_prevᵀ·dGatesRec (the states before each step, in processing order), and
 * the input gradient dGates·kernelᵀ.
 */
function finish(x: DirectionBackward): string {
  const { z, dir, dIn, input, dGates, dGatesRec } = x;
  const { gw, steps, units: h, code } = z;
  const bias = `for (let r = 0; r < ${steps * gw}; r += ${gw}) {
          for (let q = 0; q < ${gw}; q++) {
            g[${dir.bias} + q] += ${dGates}[r + q];
            ${code.recurrentBias ? `g[${dir.bias + gw} + q] += ${dGatesRec}[r + q];` : ""}
          }
        }`;
  return `
        ${bias}
        ${x.helpers.matmulTN}(${input.array}, ${input.base}, ${dGates}, 0, g, ${dir.kernel}, ${dir.features}, ${steps}, ${gw});
        ${x.helpers.matmulTN}(st, sb, ${dGatesRec}, 0, g, ${dir.recurrent}, ${h}, ${steps}, ${gw});
        ${dIn ? `${x.helpers.matmulNT}(${dGates}, 0, w, ${dir.kernel}, ${dIn.array}, ${dIn.base}, ${steps}, ${gw}, ${dir.features});` : ""}`;
}

/** Full BPTT: one gradient stream that every entering gradient joins. */
function fullLoop(x: DirectionBackward, c: EmitContext): string {
  const { z, dir, entering } = x;
  const { steps, units: h, code, gw } = z;
  const dh = c.scratch("dhRun", h);
  const dc = code.carriesCell ? c.scratch("dcRun", h) : undefined;
  const enter = `for (let j = 0; j < ${h}; j++) dh[j] += ${entering.array}[${entering.offset(dir.d)} + j];`;
  const temps = [`dgx = ${x.dGates}`, `dgh = ${x.dGatesRec}`, `dh = ${dh}`];
  if (dc) temps.push(`dc = ${dc}`, `dcp = ${x.dcp}`);
  if (x.dhd) temps.push(`dhd = ${x.dhd}`);
  return `
        const ${temps.join(", ")};
        const dho = 0;
        ${dc ? "const dco = 0;" : ""}
        for (let j = 0; j < ${h}; j++) dh[j] = 0;
        ${dc ? `for (let j = 0; j < ${h}; j++) dc[j] = 0;` : ""}
        for (let k = ${steps - 1}; k >= 0; k--) {
          ${stepOffsets(z, dir)}
          const gxo = t * ${gw};
          const gho = k * ${gw};
          ${entering.lastStepOnly ? `if (k === ${steps - 1}) ${enter}` : enter}
          ${code.backward(h)}
          if (k > 0) {
            // the gradient on the state (and cell) before this step
            ${kernelTimesGradient("dgh", "gho", "dh", "0", dir.recurrent, h, gw, code.directPath)}
            ${dc ? `for (let j = 0; j < ${h}; j++) dc[j] = dcp[j];` : ""}
          }
        }`;
}

/**
 * Truncated BPTT with window K (direction.ts): the gradient entering at step s is its own
 * stream, kept in slot s mod K, and reaches steps s … s−K+1; a step's gate gradients are the
 * sum over every live stream.
 */
function truncatedLoop(x: DirectionBackward, c: EmitContext, window: number): string {
  const { z, dir, entering } = x;
  const { steps, units: h, code, gw } = z;
  const dhs = c.scratch("dhSlots", window * h);
  const dcs = code.carriesCell ? c.scratch("dcSlots", window * h) : undefined;
  const live = c.scratch("liveSlots", window, false, "int");
  const temps = [`dgx = ${c.scratch("streamDgx", gw)}`, `dgh = ${c.scratch("streamDgh", gw)}`, `dh = ${dhs}`, `live = ${live}`];
  if (dcs) temps.push(`dc = ${dcs}`, `dcp = ${x.dcp}`);
  if (x.dhd) temps.push(`dhd = ${x.dhd}`);
  const enter = `{
            let any = false;
            for (let j = 0; j < ${h}; j++) {
              const v = ${entering.array}[${entering.offset(dir.d)} + j];
              if (v !== 0) any = true;
              dh[fo + j] += v;
            }
            live[fresh] = any ? k : -1;
          }`;
  return `
        const ${temps.join(", ")};
        const gxo = 0;
        const gho = 0;
        for (let s = 0; s < ${window}; s++) live[s] = -1;
        for (let k = ${steps - 1}; k >= 0; k--) {
          ${stepOffsets(z, dir)}
          const rx = t * ${gw};
          const rh = k * ${gw};
          const fresh = k % ${window};
          const fo = fresh * ${h};
          for (let j = 0; j < ${h}; j++) dh[fo + j] = 0;
          ${dcs ? `for (let j = 0; j < ${h}; j++) dc[fo + j] = 0;` : ""}
          ${entering.lastStepOnly ? `if (k === ${steps - 1}) ${enter} else live[fresh] = -1;` : enter}
          for (let q = 0; q < ${gw}; q++) {
            ${x.dGates}[rx + q] = 0;
            ${x.dGatesRec}[rh + q] = 0;
          }
          for (let s = 0; s < ${window}; s++) {
            const source = live[s];
            if (source < 0) continue;
            const dho = s * ${h};
            ${dcs ? "const dco = dho;" : ""}
            ${code.backward(h)}
            for (let q = 0; q < ${gw}; q++) {
              ${x.dGates}[rx + q] += dgx[q];
              ${x.dGatesRec}[rh + q] += dgh[q];
            }
            if (source - k + 1 < ${window} && k > 0) {
              ${kernelTimesGradient("dgh", "0", "dh", "dho", dir.recurrent, h, gw, code.directPath)}
              ${dcs ? `for (let j = 0; j < ${h}; j++) dc[dho + j] = dcp[j];` : ""}
            } else live[s] = -1;
          }
        }`;
}

/** The emitter of one cell kind; `partPrefix` is passed in (as to the kernel) so this file imports no values from recurrent.ts. */
export function recurrentEmit(partPrefix: PartPrefix): LayerEmitter<RecurrentArgs> {
  return {
    forward: (a, c) => recurrentForward(a, c, partPrefix),
    backward: (a, c) => recurrentBackward(a, c, partPrefix),
  };
}
