import type { EmitContext, LayerEmitter, MatmulCall } from "../../codegen/emit-types.js";
import type { RecurrentArgs } from "../recurrent.js";
import { fillRows } from "../bias-emit.js";
import type { PartPrefix } from "./kernel.js";
import { CELL_CODE, type CellCode } from "./emit-cells.js";

/**
 * Generated forward and backward code for rnn/lstm/gru, specialised to T, F, H and G. It
 * computes what kernel.ts and direction.ts compute: zero initial state, Keras gate layouts,
 * stacked layers reading the full output sequence of the layer below (forward ‖ backward per
 * step), the bidirectional last-step rule (forward at t = T, backward at t = 1), and BPTT —
 * truncated with the window `a.bptt ?? c.bptt` exactly as direction.ts defines it.
 *
 * Like direction.ts, the time loop is outside and the batch inside, on time-major buffers
 * ([T, n, ·]: the input is transposed once, the output and input gradient transposed back):
 *   forward   x·kernel for every step and row is one matmul [T·n, F]·[F, G·H] before the loop;
 *             each step adds h·recurrent_kernel for the whole batch ([n, H]·[H, G·H]) and runs
 *             the cell's elementwise code row by row (an LSTM in an f32 module with wasm
 *             kernels: one SIMD kernel call per step for all rows, src/codegen/wasm/cells.ts).
 *   backward  each step turns dh into gate gradients [n, G·H], kept for every step, and
 *             carries dh back through the recurrent kernel ([n, G·H]·[G·H, H]ᵀ); after the loop,
 *             the kernel, recurrent-kernel and input gradients are three matmuls over all T·n rows.
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
  /** f32: the cells' exponentials from the generated expf, tanh from one of them (measured faster; f64 keeps Math.exp and Math.tanh). */
  readonly fast: boolean;
}

function dimsOf(a: RecurrentArgs, c: EmitContext, prefix: PartPrefix): Dims {
  const [steps, f0] = c.inShapes[0]! as readonly number[];
  const code = CELL_CODE[a.cell];
  const dirs = a.bidirectional ? 2 : 1;
  return { code, steps: steps!, f0: f0!, units: a.units, dirs, width: dirs * a.units, gw: code.gates * a.units, prefix, fast: c.precision === "f32" };
}

/** `n * k` as code (n is the call's batch size). */
const rows = (k: number): string => (k === 1 ? "n" : `n * ${k}`);

/** One direction of one layer: its weights' offsets and its buffers, time-major. */
interface Direction {
  readonly layer: number;
  readonly d: number;
  readonly reverse: boolean;
  /** The layer's input width F. */
  readonly features: number;
  readonly kernel: number;
  readonly recurrent: number;
  readonly bias: number;
  /** [T+1, n, H] in processing order: block k is the state before step k. */
  readonly states: string;
  readonly cells?: string;
  /** [T, n, cached·H] in processing order. */
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

/** A layer's input sequence, time-major [T, n, F]: the transposed x0, or the layer below's output. */
function inputOf(c: EmitContext, z: Dims, layer: number): string {
  return layer === 0 ? c.scratch("xSeq", z.steps * z.f0, true) : c.scratch(`sq${layer - 1}`, z.steps * z.width, true);
}

/** The gradient on a lower layer's output sequence, time-major [T, n, D·H]. */
function sequenceGradient(c: EmitContext, z: Dims, layer: number): string {
  return c.scratch(`dq${layer}`, z.steps * z.width, true);
}

/** Binds the cell snippets' names (st, cs, ac) to one direction's buffers. */
function bindBuffers(dir: Direction): string {
  const names = [`st = ${dir.states}`];
  if (dir.cells) names.push(`cs = ${dir.cells}`);
  if (dir.acts) names.push(`ac = ${dir.acts}`);
  return `const ${names.join(", ")};`;
}

function stepIndex(z: Dims, reverse: boolean): string {
  return reverse ? `${z.steps - 1} - k` : "k";
}

/** `+ o` for a non-zero column offset, as code. */
const plus = (o: number): string => (o ? ` + ${o}` : "");

/** Where processing step k's blocks start: states before (hb) and after (nb), cached values (ab). */
function blockOffsets(z: Dims): string {
  const { units: h, code } = z;
  return `const hb = k * ${rows(h)}, nb = hb + ${rows(h)};${code.cached > 0 ? ` const ab = k * ${rows(code.cached * h)};` : ""}`;
}

/** One batch row's offsets into the step's blocks, for the cell snippets. */
function rowOffsets(z: Dims, backward: boolean): string {
  const { units: h, code } = z;
  const names = ["hp = hb + b * " + h];
  if (!backward || code.cached === 0) names.push(`hn = nb + b * ${h}`);
  if (code.cached > 0) names.push(`ao = ab + b * ${code.cached * h}`);
  return `const ${names.join(", ")};`;
}

/**
 * From this many gate columns (G·H) the forward products read the kernels packed in column
 * strips: rows of 1 KiB and more map a strip onto few L1 sets (measured: N = 512, 36 against
 * 41.5 GFLOP/s for h·recurrent_kernel, 29 against 38 for the input projection; N = 256, 37
 * against 41.5), and the copy is made once for T steps.
 */
const PACK_FROM_WIDTH = 256;

function recurrentForward(a: RecurrentArgs, c: EmitContext, prefix: PartPrefix): string {
  const z = dimsOf(a, c, prefix);
  const { code, steps, units: h, gw, width, f0 } = z;
  const dirs = directions(a, c, z);
  const matmul = c.helper("matmul", gw, true);
  // x·kernel + input bias for every step and row, [T, n, G·H] by time t.
  const xp = c.scratch("xProj", steps * gw, true);
  const gh = code.recurrentBias ? c.scratch("hProj", gw, true) : undefined;
  const last = a.layers - 1;
  const blocks: string[] = [];
  if (z.fast) c.helper("expf");
  const cellKernel = forwardKernel(c, z);
  // Wide kernels go to the products packed in column strips, copied once per pass (see packedMatmul).
  const product = gw >= PACK_FROM_WIDTH ? c.packedMatmul?.(gw, true) : undefined;
  // One scratch of strips for every direction in turn: its input kernel, then its recurrent kernel.
  const packed = product && { ...product, strips: c.scratch("strips", Math.max(product.length(h), ...dirs.flat().map((d) => product.length(d.features)))) };
  blocks.push(
    `
    // the input, time-major: xSeq[t, b] = x0[b, t]
    {
      const xs = ${inputOf(c, z, 0)};
      for (let b = 0; b < n; b++) {
        for (let t = 0; t < ${steps}; t++) {
          const from = (b * ${steps} + t) * ${f0}, to = (t * n + b) * ${f0};
          for (let f = 0; f < ${f0}; f++) xs[to + f] = x0[from + f];
        }
      }
    }`,
  );
  for (const row of dirs) {
    for (const dir of row) {
      const col = plus(dir.d * h);
      // Where each step's new state goes: the next layer's input, or y (every step or the last).
      let perStep = "";
      let afterLoop = "";
      if (dir.layer < last) {
        perStep = `for (let j = 0; j < ${h}; j++) ${inputOf(c, z, dir.layer + 1)}[(t * n + b) * ${width}${col} + j] = st[hn + j];`;
      } else if (a.sequences) {
        perStep = `for (let j = 0; j < ${h}; j++) y[(b * ${steps} + t) * ${width}${col} + j] = st[hn + j];`;
      } else {
        // The final state: processing step T−1 (t = T forward, t = 1 backward), as Keras.
        afterLoop = `
        // the output: the state after the last processing step
        for (let b = 0; b < n; b++) for (let j = 0; j < ${h}; j++) y[b * ${width}${col} + j] = st[${rows(steps * h)} + b * ${h} + j];`;
      }
      // h·recurrent_kernel: from the strips packed before the loop, or from w
      const [rk, rkAt] = packed ? [packed.kernel(h), `${packed.strips}, 0`] : [matmul, `w, ${dir.recurrent}`];
      const recurrent = gh
        ? `// gh = recurrent bias + h·recurrent_kernel for the whole batch (the state before the first step is zero)
${fillRows("gh", dir.bias + gw, gw, rows(gw))}
          if (k > 0) ${rk}(st, hb, ${rkAt}, gh, 0, n, ${h}, ${gw}, true);`
        : `// + h·recurrent_kernel for the whole batch (the state before the first step is zero)
          if (k > 0) ${rk}(st, hb, ${rkAt}, gx, gb, n, ${h}, ${gw}, true);`;
      const projection = packed
        ? `${packed.pack("w", dir.kernel, packed.strips, dir.features)}
        ${packed.kernel(dir.features)}(${inputOf(c, z, dir.layer)}, 0, ${packed.strips}, 0, gx, 0, ${rows(steps)}, ${dir.features}, ${gw}, true);
        // the recurrent kernel in column strips, for every step's product
        ${packed.pack("w", dir.recurrent, packed.strips, h)}`
        : `${matmul}(${inputOf(c, z, dir.layer)}, 0, w, ${dir.kernel}, gx, 0, ${rows(steps)}, ${dir.features}, ${gw}, true);`;
      blocks.push(`
      // layer ${dir.layer + 1}, ${dir.reverse ? "backward (t = T down to 1)" : "forward"} direction
      {
        ${bindBuffers(dir)}
        const gx = ${xp};
        ${gh ? `const gh = ${gh};` : ""}
        // every step's input projection at once: gx[t, b] = bias + input[t, b]·kernel
${fillRows("gx", dir.bias, gw, rows(steps * gw))}
        ${projection}
        for (let i = 0; i < ${rows(h)}; i++) st[i] = 0;
        ${dir.cells ? `for (let i = 0; i < ${rows(h)}; i++) cs[i] = 0;` : ""}
        for (let k = 0; k < ${steps}; k++) {
          const t = ${stepIndex(z, dir.reverse)};
          const gb = t * ${rows(gw)};
          ${blockOffsets(z)}
          ${recurrent}
          ${
            cellKernel
              ? `// the cell, every row at once${perStep ? ", then the new states onward" : ""}
          ${cellKernel}(gx, gb, st, cs, hb, nb, ac, ab, n);
          ${perStep ? `for (let b = 0; b < n; b++) {
            const hn = nb + b * ${h};
            ${perStep}
          }` : ""}`
              : `// the cell, row by row
          for (let b = 0; b < n; b++) {
            ${rowOffsets(z, false)}
            const go = gb + b * ${gw};${gh ? ` const ho = b * ${gw};` : ""}
            ${code.forward(h, z.fast)}
            ${perStep}
          }`
          }
        }
        ${afterLoop}
      }`);
    }
  }
  return blocks.join("\n");
}

/**
 * The cell's forward step over all n rows as a kernel-table entry (f32 with WebAssembly
 * kernels, cells that have one), its JS fallback the row loop below; undefined otherwise.
 * Arguments: gx, gb, st, cs, hb, nb, ac, ab, n (kernel-set.ts CELL_SIGNATURES).
 */
function forwardKernel(c: EmitContext, z: Dims): string | undefined {
  const { code, units: h, gw } = z;
  if (!code.kernels || !c.cellKernel || !z.fast) return undefined;
  const js = `(gx, gb, st, cs, hb, nb, ac, ab, n) => {
      for (let b = 0; b < n; b++) {
        ${rowOffsets(z, false)}
        const go = gb + b * ${gw};
        ${code.forward(h, true)}
      }
    }`;
  return c.cellKernel(code.kernels.forward, h, js);
}

/** The same for the backward step: ac, ab, cs, hb, dh, dc, d0 (dh's and dc's rows), dgx, gxb, dgh, ghb, dcp, n. */
function backwardKernel(c: EmitContext, z: Dims): string | undefined {
  const { code, units: h, gw } = z;
  if (!code.kernels || !c.cellKernel || !z.fast) return undefined;
  const js = `(ac, ab, cs, hb, dh, dc, d0, dgx, gxb, dgh, ghb, dcp, n) => {
      for (let b = 0; b < n; b++) {
        ${rowOffsets(z, true)}
        const gxo = gxb + b * ${gw}, gho = ghb + b * ${gw}, dho = d0 + b * ${h}, dco = dho, ro = b * ${h};
        ${code.backward(h, false)}
      }
    }`;
  return c.cellKernel(code.kernels.backward, h, js);
}

/** Where the gradient on a layer's output sequence comes from (code for direction d's unit j at time t, row b). */
interface Entering {
  readonly at: (d: number) => string;
  /** Only the last processing step receives a gradient (the last layer without sequences). */
  readonly lastStepOnly: boolean;
}

function enteringOf(a: RecurrentArgs, c: EmitContext, z: Dims, layer: number): Entering {
  const { steps, width, units: h } = z;
  if (layer < a.layers - 1) return { at: (d) => `${sequenceGradient(c, z, layer)}[(t * n + b) * ${width}${plus(d * h)} + j]`, lastStepOnly: false };
  if (a.sequences) return { at: (d) => `dy[(b * ${steps} + t) * ${width}${plus(d * h)} + j]`, lastStepOnly: false };
  return { at: (d) => `dy[b * ${width}${plus(d * h)} + j]`, lastStepOnly: true };
}

interface DirectionBackward {
  readonly z: Dims;
  readonly dir: Direction;
  readonly entering: Entering;
  readonly input: string;
  /** Where the input gradient goes, time-major (undefined: nobody needs it). */
  readonly dIn?: string;
  /** rnn and lstm forward in time: the recurrent-side gate gradients are the input-side ones. */
  readonly sameDg: boolean;
  /** Gate gradients of every step, [T, n, G·H]: input side by time t; recurrent side by processing step k ("" where unused). */
  readonly dGates: string;
  readonly dGatesRec: string;
  readonly dcp?: string;
  readonly dhd?: string;
  /** The matmul helpers by N (the columns of their result). */
  /** matmulNT by N (the columns of its result), and matmulTN calls for C [m×n] (EmitContext.matmulTNCall). */
  readonly helpers: { matmulNT(n: number): string; matmulTN(m: number, n: number): MatmulCall };
  /** The cell's backward step over all rows as a kernel (backwardKernel), where there is one. */
  readonly cellKernel?: string;
}

function recurrentBackward(a: RecurrentArgs, c: EmitContext, prefix: PartPrefix): string {
  const z = dimsOf(a, c, prefix);
  const { code, steps, units: h, gw, width, f0 } = z;
  const window = a.bptt ?? c.bptt;
  // direction.ts: no window, or one of T or more, is full BPTT (K = T gives the same numbers).
  const truncated = window !== undefined && window >= 1 && window < steps;
  const dirs = directions(a, c, z);
  const shared = {
    dGates: c.scratch("dGates", steps * gw, true),
    // only where some direction's recurrent-side gradients differ from (or are ordered unlike) dGates
    dGatesRec: code.directPath || a.bidirectional ? c.scratch("dGatesRec", steps * gw, true) : "",
    dcp: code.carriesCell ? c.scratch("stepDcp", h, true) : undefined,
    dhd: code.directPath ? c.scratch("stepDhd", h, true) : undefined,
    helpers: { matmulNT: (n: number) => c.helper("matmulNT", n), matmulTN: (m: number, n: number) => c.matmulTNCall(m, n) },
    cellKernel: backwardKernel(c, z),
  };
  const layers: string[] = [];
  for (let layer = a.layers - 1; layer >= 0; layer--) {
    const dIn = layer > 0 ? sequenceGradient(c, z, layer - 1) : c.needsDx(0) ? c.scratch("dxSeq", steps * f0, true) : undefined;
    const clear = dIn ? `for (let i = 0; i < ${rows(steps * (layer > 0 ? width : f0))}; i++) ${dIn}[i] = 0;` : "";
    const body = dirs[layer]!.map((dir) => {
      const sameDg = !code.directPath && !dir.reverse;
      const x: DirectionBackward = { z, dir, entering: enteringOf(a, c, z, layer), input: inputOf(c, z, layer), dIn, sameDg, ...shared };
      const loop = truncated ? truncatedLoop(x, c, window) : fullLoop(x, c);
      return `
      // layer ${dir.layer + 1}, ${dir.reverse ? "backward" : "forward"} direction: ${truncated ? `truncated BPTT, window ${window}` : "backpropagation through time"}
      {
        ${bindBuffers(dir)}
        ${loop}
        ${finish(x)}
      }`;
    });
    const transposeBack =
      layer === 0 && dIn
        ? `
      // the input gradient back to batch-major: dx0[b, t] += dxSeq[t, b]
      for (let b = 0; b < n; b++) {
        for (let t = 0; t < ${steps}; t++) {
          const to = (b * ${steps} + t) * ${f0}, from = (t * n + b) * ${f0};
          for (let f = 0; f < ${f0}; f++) dx0[to + f] += ${dIn}[from + f];
        }
      }`
        : "";
    layers.push(`
      // layer ${layer + 1}
      ${clear}
      ${body.join("\n")}
      ${transposeBack}`);
  }
  return layers.join("\n");
}

/**
 * After the step loop, from every step's gate gradients at once: the biases, kernel += Xᵀ·dGates,
 * recurrent_kernel += H_prevᵀ·dGatesRec (the states before each step, in processing order, but
 * the zero one before step 0), and the input gradient dGates·kernelᵀ.
 */
function finish(x: DirectionBackward): string {
  const { z, dir, dIn, input, dGates, sameDg } = x;
  const { gw, steps, units: h, code } = z;
  const dRec = sameDg ? dGates : x.dGatesRec;
  const all = rows(steps);
  const kernelGradient = x.helpers.matmulTN(dir.features, gw);
  const recurrentGradient = x.helpers.matmulTN(h, gw);
  // column sums over every row, `width` adjacent columns per pass (a pass reads whole cache lines)
  const width = [16, 8, 4, 2, 1].find((b) => gw % b === 0)!;
  const cols = Array.from({ length: width }, (_, i) => i);
  const sums = (name: string, from: string): string[] => cols.map((i) => `${name}${i} += ${from}[r${plus(i)}];`);
  const bias = `for (let q = 0; q < ${gw}; q += ${width}) {
          let ${cols.map((i) => `s${i} = 0`).join(", ")};
          ${code.recurrentBias ? `let ${cols.map((i) => `sr${i} = 0`).join(", ")};` : ""}
          for (let r = q; r < ${rows(steps * gw)}; r += ${gw}) {
            ${sums("s", dGates).join(" ")}
            ${code.recurrentBias ? sums("sr", dRec).join(" ") : ""}
          }
          ${cols.map((i) => `g[${dir.bias} + q${plus(i)}] += s${i};`).join(" ")}
          ${code.recurrentBias ? cols.map((i) => `g[${dir.bias + gw} + q${plus(i)}] += sr${i};`).join(" ") : ""}
        }`;
  return `
        // after the loop, from every step's gate gradients at once: the biases, kernel += inputᵀ·dGates,
        // recurrent_kernel += (states before steps 1 … T−1; before step 0 it is zero)ᵀ·dGates${sameDg ? "" : "Rec"}${dIn ? ",\n        // input gradient += dGates·kernelᵀ" : ""}
        ${bias}
        ${kernelGradient.kernel}(${input}, 0, ${dGates}, 0, g, ${dir.kernel}, ${dir.features}, ${all}, ${gw}${kernelGradient.args});
        ${recurrentGradient.kernel}(st, ${rows(h)}, ${dRec}, ${rows(gw)}, g, ${dir.recurrent}, ${h}, ${rows(steps - 1)}, ${gw}${recurrentGradient.args});
        ${dIn ? `${x.helpers.matmulNT(dir.features)}(${dGates}, 0, w, ${dir.kernel}, ${dIn}, 0, ${all}, ${gw}, ${dir.features});` : ""}`;
}

/** The cell's backward for every batch row of step k, its dh (and dc) rows from `dBase`, its gate gradients from gxb and ghb. */
function cellRows(z: Dims, sameDg: boolean, dBase: string, kernel?: string): string {
  const { code, units: h, gw } = z;
  if (kernel) {
    const d0 = dBase === "" ? "0" : dBase.replace(/ \+ $/, "");
    return `${kernel}(ac, ab, cs, hb, dh, dc, ${d0}, dgx, gxb, ${sameDg ? "dgx, gxb" : "dgh, ghb"}, dcp, n);`;
  }
  const names = [`gxo = gxb + b * ${gw}`];
  if (!sameDg) names.push(`gho = ghb + b * ${gw}`);
  names.push(`dho = ${dBase}b * ${h}`);
  if (code.carriesCell) names.push("dco = dho");
  if (code.carriesCell || code.directPath) names.push(`ro = b * ${h}`);
  return `for (let b = 0; b < n; b++) {
            ${rowOffsets(z, true)}
            const ${names.join(", ")};
            ${code.backward(h, sameDg)}
          }`;
}

/** A stream's dh (from `o`) becomes the gradient on the state before step k: dhd (gru) + dgh·recurrent_kernelᵀ; its dc, dcp. */
function carryBack(x: DirectionBackward, dgh: string, ghOffset: string, o: string): string {
  const { z, dir } = x;
  const { units: h, gw, code } = z;
  const at = (i: string): string => (o === "0" ? i : `${o} + ${i}`);
  return `// the gradient on the state${code.carriesCell ? " and cell" : ""} before this step: dh = ${code.directPath ? "dhd + " : ""}dgh·recurrent_kernelᵀ
            for (let i = 0; i < ${rows(h)}; i++) dh[${at("i")}] = ${code.directPath ? "dhd[i]" : "0"};
            ${x.helpers.matmulNT(h)}(${dgh}, ${ghOffset}, w, ${dir.recurrent}, dh, ${o}, n, ${gw}, ${h});
            ${code.carriesCell ? `for (let i = 0; i < ${rows(h)}; i++) dc[${at("i")}] = dcp[i];` : ""}`;
}

/** Full BPTT: one gradient stream [n, H] that every entering gradient joins. */
function fullLoop(x: DirectionBackward, c: EmitContext): string {
  const { z, dir, entering, sameDg } = x;
  const { steps, units: h, code, gw } = z;
  const dh = c.scratch("dhRun", h, true);
  const dc = code.carriesCell ? c.scratch("dcRun", h, true) : undefined;
  const enter = `for (let b = 0; b < n; b++) for (let j = 0; j < ${h}; j++) dh[b * ${h} + j] += ${entering.at(dir.d)};`;
  const temps = [`dgx = ${x.dGates}`];
  if (!sameDg) temps.push(`dgh = ${x.dGatesRec}`);
  temps.push(`dh = ${dh}`);
  if (dc) temps.push(`dc = ${dc}`, `dcp = ${x.dcp}`);
  if (x.dhd) temps.push(`dhd = ${x.dhd}`);
  return `const ${temps.join(", ")};
        for (let i = 0; i < ${rows(h)}; i++) dh[i] = 0;
        ${dc ? `for (let i = 0; i < ${rows(h)}; i++) dc[i] = 0;` : ""}
        for (let k = ${steps - 1}; k >= 0; k--) {
          const t = ${stepIndex(z, dir.reverse)};
          ${blockOffsets(z)}
          const gxb = t * ${rows(gw)}${sameDg ? "" : `, ghb = k * ${rows(gw)}`};
          // the gradient entering at this step
          ${entering.lastStepOnly ? `if (k === ${steps - 1}) ${enter}` : enter}
          // gate gradients, row by row
          ${cellRows(z, sameDg, "", x.cellKernel)}
          if (k > 0) {
            ${carryBack(x, sameDg ? "dgx" : "dgh", sameDg ? "gxb" : "ghb", "0")}
          }
        }`;
}

/**
 * Truncated BPTT with window K (direction.ts): the gradient entering at step s is its own
 * stream, kept in slot s mod K, and reaches steps s … s−K+1; a step's gate gradients are the
 * sum over every live stream.
 */
function truncatedLoop(x: DirectionBackward, c: EmitContext, window: number): string {
  const { z, dir, entering, sameDg } = x;
  const { steps, units: h, code, gw } = z;
  const dhs = c.scratch("dhSlots", window * h, true);
  const dcs = code.carriesCell ? c.scratch("dcSlots", window * h, true) : undefined;
  const live = c.scratch("liveSlots", window, false, "int");
  const temps = [`dgx = ${c.scratch("streamDgx", gw, true)}`];
  if (!sameDg) temps.push(`dgh = ${c.scratch("streamDgh", gw, true)}`);
  temps.push(`dh = ${dhs}`, `live = ${live}`);
  if (dcs) temps.push(`dc = ${dcs}`, `dcp = ${x.dcp}`);
  if (x.dhd) temps.push(`dhd = ${x.dhd}`);
  const enter = `{
            let any = false;
            for (let b = 0; b < n; b++) {
              for (let j = 0; j < ${h}; j++) {
                const v = ${entering.at(dir.d)};
                if (v !== 0) any = true;
                dh[fo + b * ${h} + j] += v;
              }
            }
            live[fresh] = any ? k : -1;
          }`;
  const dRec = sameDg ? "" : x.dGatesRec;
  return `const ${temps.join(", ")};
        const gxb = 0${sameDg ? "" : ", ghb = 0"};
        for (let s = 0; s < ${window}; s++) live[s] = -1;
        for (let k = ${steps - 1}; k >= 0; k--) {
          const t = ${stepIndex(z, dir.reverse)};
          ${blockOffsets(z)}
          const rx = t * ${rows(gw)}${sameDg ? "" : `, rh = k * ${rows(gw)}`};
          // the gradient entering at this step starts a stream in slot k mod K
          const fresh = k % ${window};
          const fo = fresh * ${rows(h)};
          for (let i = 0; i < ${rows(h)}; i++) dh[fo + i] = 0;
          ${dcs ? `for (let i = 0; i < ${rows(h)}; i++) dc[fo + i] = 0;` : ""}
          ${entering.lastStepOnly ? `if (k === ${steps - 1}) ${enter} else live[fresh] = -1;` : enter}
          // this step's gate gradients: the sum over every live stream
          for (let q = 0; q < ${rows(gw)}; q++) {
            ${x.dGates}[rx + q] = 0;
            ${dRec ? `${dRec}[rh + q] = 0;` : ""}
          }
          for (let s = 0; s < ${window}; s++) {
            const source = live[s];
            if (source < 0) continue;
            const so = s * ${rows(h)};
            ${cellRows(z, sameDg, "so + ", x.cellKernel)}
            for (let q = 0; q < ${rows(gw)}; q++) {
              ${x.dGates}[rx + q] += dgx[q];
              ${dRec ? `${dRec}[rh + q] += dgh[q];` : ""}
            }
            if (source - k + 1 < ${window} && k > 0) {
              ${carryBack(x, sameDg ? "dgx" : "dgh", "0", "so")}
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
