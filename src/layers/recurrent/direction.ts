import { Step, type CellMath } from "./cells.js";
import { mulAdd, mulTransAdd, sumRowsAdd, transMulAdd } from "./linalg.js";

/** One direction of one layer's weights: kernel [F, G·H], recurrent_kernel [H, G·H], bias [G·H] or [2, G·H]. */
export interface DirectionParams {
  readonly kernel: Float64Array;
  readonly recurrent: Float64Array;
  readonly bias: Float64Array;
}

/** Where that direction's gradients go (absent for parameters nobody asked about). */
export interface DirectionGrads {
  readonly kernel?: Float64Array;
  readonly recurrent?: Float64Array;
  readonly bias?: Float64Array;
}

/**
 * One recurrence: a cell run over a time-major sequence [T, B, F], forward in time or (for the
 * backward half of a bidirectional layer) from t = T down to t = 1, from a zero state.
 * States are kept in processing order: block k of `states` is the state before step k.
 *
 * Truncated BPTT with a window K (our definition, Williams & Peng's BPTT(h) per recurrence):
 * a gradient that ENTERS this recurrence at processing step s — from the loss, or from the layer
 * above — flows back through at most K steps of it: it reaches steps s, s−1, …, s−K+1 (and the
 * parameter and input gradients of those steps) and stops there; the state that step s−K+1 read
 * is treated as a constant. Hidden (and cell) states are still carried forward over the whole
 * sequence. Each entering gradient is its own stream, so the cost is O(T·K) cell steps.
 * Consequences: K ≥ T is full BPTT; K = 1 means no gradient ever crosses from one step to the
 * step before, so the recurrent-kernel gradient is Σ_t h_{t−1}ᵀ·δ_t with δ_t taken from step
 * t's entering gradient alone: no product of two recurrent Jacobians. The window applies to
 * each recurrence separately (each layer of a stack, each direction), so `layers 2` behaves
 * exactly like two recurrent statements in a row.
 */
export class DirectionRun {
  readonly states: Float64Array;
  readonly cells: Float64Array;
  private readonly acts: Float64Array;
  private readonly xProj: Float64Array;
  private readonly step: Step;
  private readonly width: number;

  constructor(
    private readonly cell: CellMath,
    /** The layer's input, time-major [T, B, F]; kept (not copied) for backward. */
    private readonly input: Float64Array,
    private readonly steps: number,
    private readonly batch: number,
    private readonly features: number,
    private readonly units: number,
    private readonly reverse: boolean,
  ) {
    const block = batch * units;
    this.width = cell.gates * units;
    this.states = new Float64Array((steps + 1) * block);
    this.cells = new Float64Array(cell.carriesCell ? (steps + 1) * block : 0);
    this.acts = new Float64Array(steps * block * cell.cached);
    this.xProj = new Float64Array(steps * batch * this.width);
    this.step = new Step(batch, units);
    this.step.xProj = this.xProj;
    this.step.h = this.states;
    this.step.c = this.cells;
    this.step.acts = this.acts;
    this.step.hProj = new Float64Array(batch * this.width);
  }

  /** The time index (0-based) of processing step k. */
  timeOf(k: number): number {
    return this.reverse ? this.steps - 1 - k : k;
  }

  /** Offset of the state after processing step k, [B, H]. */
  outputOffset(k: number): number {
    return (k + 1) * this.batch * this.units;
  }

  forward(p: DirectionParams): void {
    const { batch, units, width, features, steps } = this;
    checkLength("kernel", p.kernel, features * width);
    checkLength("recurrent_kernel", p.recurrent, units * width);
    checkLength("bias", p.bias, this.cell.recurrentBias ? 2 * width : width);
    const rows = steps * batch;
    for (let r = 0; r < rows; r++) this.xProj.set(p.bias.subarray(0, width), r * width);
    mulAdd(this.xProj, 0, this.input, 0, p.kernel, rows, features, width);

    const s = this.step;
    for (let k = 0; k < steps; k++) {
      this.place(k);
      this.projectState(p, k);
      this.cell.forward(s);
    }
  }

  /**
   * Backward through this recurrence. `dSeq` is the gradient on the layer's output sequence,
   * time-major [T, B, stride]; this direction's columns start at `column`. Adds parameter
   * gradients into `g` and the input gradient into `dInput` (time-major [T, B, F]).
   */
  backward(dSeq: Float64Array, column: number, stride: number, window: number | undefined, p: DirectionParams, g: DirectionGrads, dInput: Float64Array): void {
    const { batch, units, width, steps } = this;
    const block = batch * units;
    const s = this.step;
    s.dgx = new Float64Array(batch * width);
    s.dgh = new Float64Array(batch * width);
    s.dcPrev = new Float64Array(block);
    s.dhDirect = new Float64Array(block);
    const dgxTotal = new Float64Array(batch * width);
    const dghTotal = new Float64Array(batch * width);

    if (window === undefined || window < 1 || window > steps) {
      // Full BPTT: one stream that every entering gradient joins. (A window K > T is the same
      // thing; K = T takes the stream path below, which must and does give the same numbers.
      // The checker only lets K ≥ 1 through; anything less is read as no window.)
      const dh = new Float64Array(block);
      const dc = new Float64Array(block);
      for (let k = steps - 1; k >= 0; k--) {
        this.addEntering(dSeq, column, stride, k, dh);
        dgxTotal.fill(0);
        dghTotal.fill(0);
        this.streamStep(k, dh, dc, dgxTotal, dghTotal, p, k > 0);
        this.finishStep(k, dgxTotal, dghTotal, p, g, dInput);
      }
      return;
    }

    // Truncated: stream from source step k lives in slot k mod K and dies after K steps.
    const slots = Array.from({ length: window }, () => ({ dh: new Float64Array(block), dc: new Float64Array(block), source: -1 }));
    for (let k = steps - 1; k >= 0; k--) {
      const fresh = slots[k % window]!;
      fresh.dh.fill(0);
      fresh.dc.fill(0);
      fresh.source = this.addEntering(dSeq, column, stride, k, fresh.dh) ? k : -1;
      dgxTotal.fill(0);
      dghTotal.fill(0);
      for (const slot of slots) {
        if (slot.source < 0) continue;
        const continues = slot.source - k + 1 < window && k > 0;
        this.streamStep(k, slot.dh, slot.dc, dgxTotal, dghTotal, p, continues);
        if (!continues) slot.source = -1;
      }
      this.finishStep(k, dgxTotal, dghTotal, p, g, dInput);
    }
  }

  /** Points the step at processing step k's blocks. */
  private place(k: number): void {
    const s = this.step;
    const block = this.batch * this.units;
    s.xOff = this.timeOf(k) * this.batch * this.width;
    s.hPrevOff = k * block;
    s.hNextOff = (k + 1) * block;
    s.cPrevOff = k * block;
    s.cNextOff = (k + 1) * block;
    s.actsOff = k * block * this.cell.cached;
  }

  /** hProj = h_{k}·U (+ recurrent bias). */
  private projectState(p: DirectionParams, k: number): void {
    const s = this.step;
    const width = this.width;
    if (this.cell.recurrentBias) for (let r = 0; r < this.batch; r++) s.hProj.set(p.bias.subarray(width, 2 * width), r * width);
    else s.hProj.fill(0);
    mulAdd(s.hProj, 0, this.states, k * this.batch * this.units, p.recurrent, this.batch, this.units, width);
  }

  /** Adds the gradient entering at processing step k into dh; says whether any of it is non-zero. */
  private addEntering(dSeq: Float64Array, column: number, stride: number, k: number, dh: Float64Array): boolean {
    const { batch, units } = this;
    const base = this.timeOf(k) * batch * stride + column;
    let any = false;
    for (let r = 0; r < batch; r++) {
      for (let j = 0; j < units; j++) {
        const v = dSeq[base + r * stride + j]!;
        if (v !== 0) any = true;
        dh[r * units + j] += v;
      }
    }
    return any;
  }

  /**
   * Runs one stream (its gradient dh, dc on the state after step k) through step k: adds the
   * step's gate gradients into the totals and, when it continues, replaces dh, dc by the
   * gradient on the state before step k.
   */
  private streamStep(k: number, dh: Float64Array, dc: Float64Array, dgxTotal: Float64Array, dghTotal: Float64Array, p: DirectionParams, continues: boolean): void {
    const s = this.step;
    this.place(k);
    s.dh = dh;
    s.dc = dc;
    this.cell.backward(s);
    for (let q = 0; q < dgxTotal.length; q++) {
      dgxTotal[q] += s.dgx[q]!;
      dghTotal[q] += s.dgh[q]!;
    }
    if (!continues) return;
    if (this.cell.directPath) dh.set(s.dhDirect);
    else dh.fill(0);
    mulTransAdd(dh, 0, s.dgh, 0, p.recurrent, this.batch, this.width, this.units);
    if (this.cell.carriesCell) dc.set(s.dcPrev);
  }

  /** Parameter and input gradients of step k from the summed gate gradients of every stream. */
  private finishStep(k: number, dgx: Float64Array, dgh: Float64Array, p: DirectionParams, g: DirectionGrads, dInput: Float64Array): void {
    const { batch, units, width, features } = this;
    const xOff = this.timeOf(k) * batch * features;
    if (g.kernel) transMulAdd(g.kernel, this.input, xOff, dgx, 0, batch, features, width);
    if (g.recurrent) transMulAdd(g.recurrent, this.states, k * batch * units, dgh, 0, batch, units, width);
    if (g.bias) {
      sumRowsAdd(g.bias, 0, dgx, 0, batch, width);
      if (this.cell.recurrentBias) sumRowsAdd(g.bias, width, dgh, 0, batch, width);
    }
    mulTransAdd(dInput, xOff, dgx, 0, p.kernel, batch, width, features);
  }
}

function checkLength(name: string, t: Float64Array, expected: number): void {
  if (t.length !== expected) throw new Error(`recurrent: ${name} has ${t.length} values, expected ${expected}`);
}
