import type { AnyLayerDef, KernelContext, ParamTensors } from "../../src/layers/types.js";
import { seededRandom } from "../../src/interp/random.js";
import { zeros, type Tensor } from "../../src/interp/tensor.js";

export interface GradCheckCase {
  readonly def: AnyLayerDef;
  /** Resolved layer arguments (what the kind's `resolve` returns). */
  readonly args: unknown;
  /** Input tensors, batch first. */
  readonly inputs: readonly Tensor[];
  /** Parameters (and state) by spec name. */
  readonly params: ParamTensors;
  /** Names in `params` that are state, not learnable (no gradient expected). */
  readonly state?: readonly string[];
  readonly training?: boolean;
  readonly bptt?: number;
  /** Integer inputs (embedding ids) are not differentiated. */
  readonly skipInputs?: readonly number[];
  readonly seed?: number;
}

export interface GradCheckResult {
  /** Worst error over every coordinate: |a − n| / max(1, |a| + |n|): relative for large gradients, absolute near 0 where finite differences are only noise. */
  readonly maxRelativeError: number;
  readonly worst: string;
}

export function randomTensor(shape: readonly number[], seed: number, scale = 1): Tensor {
  const t = zeros(shape);
  const r = seededRandom(seed);
  for (let i = 0; i < t.data.length; i++) t.data[i] = (r() * 2 - 1) * scale;
  return t;
}

/**
 * Central finite differences in float64 against the kernel's backward, on the scalar
 * L = Σ w ⊙ y with a fixed random w. Dropout-like randomness is made repeatable by
 * re-seeding the kernel context's generator before every forward.
 */
export function gradCheck(c: GradCheckCase, h = 1e-6): GradCheckResult {
  const kernel = c.def.kernel;
  if (!kernel) throw new Error(`${c.def.kind} has no kernel`);
  const ctxFor = (): KernelContext => ({ training: c.training ?? true, random: seededRandom(c.seed ?? 7), bptt: c.bptt });
  const cloneParams = (): ParamTensors => Object.fromEntries(Object.entries(c.params).map(([k, v]) => [k, { shape: v.shape, data: new Float64Array(v.data) }]));
  const inputs = c.inputs.map((t) => ({ shape: t.shape, data: new Float64Array(t.data) }));
  const params = cloneParams();

  const first = kernel.forward(inputs, cloneParams(), c.args, ctxFor());
  const w = randomTensor(first.y.shape, 12345);
  const loss = (xs: readonly Tensor[], p: ParamTensors): number => {
    const { y } = kernel.forward(xs, p, c.args, ctxFor());
    let s = 0;
    for (let i = 0; i < y.data.length; i++) s += w.data[i]! * y.data[i]!;
    return s;
  };

  const grads: ParamTensors = {};
  const learnable = Object.keys(params).filter((k) => !(c.state ?? []).includes(k));
  for (const k of learnable) grads[k] = zeros(params[k]!.shape);
  const fwdParams = cloneParams();
  const fwd = kernel.forward(inputs, fwdParams, c.args, ctxFor());
  const dxs = kernel.backward(w, inputs, fwd.y, fwd.cache, fwdParams, grads, c.args, ctxFor());

  let maxRelativeError = 0;
  let worst = "";
  const compare = (label: string, analytic: number, numeric: number): void => {
    const err = Math.abs(analytic - numeric) / Math.max(1, Math.abs(analytic) + Math.abs(numeric));
    if (err > maxRelativeError) {
      maxRelativeError = err;
      worst = `${label}: analytic ${analytic}, numeric ${numeric}`;
    }
  };
  inputs.forEach((x, i) => {
    if (c.skipInputs?.includes(i)) return;
    for (let j = 0; j < x.data.length; j++) {
      const keep = x.data[j]!;
      x.data[j] = keep + h;
      const up = loss(inputs, cloneParams());
      x.data[j] = keep - h;
      const down = loss(inputs, cloneParams());
      x.data[j] = keep;
      compare(`input ${i}[${j}]`, dxs[i]!.data[j]!, (up - down) / (2 * h));
    }
  });
  for (const k of learnable) {
    const base = c.params[k]!;
    for (let j = 0; j < base.data.length; j++) {
      const p = cloneParams();
      p[k]!.data[j] = base.data[j]! + h;
      const up = loss(inputs, p);
      const q = cloneParams();
      q[k]!.data[j] = base.data[j]! - h;
      const down = loss(inputs, q);
      compare(`${k}[${j}]`, grads[k]!.data[j]!, (up - down) / (2 * h));
    }
  }
  return { maxRelativeError, worst };
}
