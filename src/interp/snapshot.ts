import { weightDiverged } from "./divergence.js";
import type { Tensor } from "./tensor.js";

/**
 * A copy of every weight (state included) taken before a batch, so that a batch that makes
 * training diverge can be undone: training then stops on the last good weights.
 * The buffers are allocated once; `take` is one copy per weight.
 */
export class WeightsSnapshot {
  private readonly entries: { readonly name: string; readonly live: Float64Array; readonly saved: Float64Array }[];

  constructor(weights: ReadonlyMap<string, Tensor>) {
    this.entries = [...weights].map(([name, t]) => ({ name, live: t.data, saved: new Float64Array(t.data.length) }));
  }

  take(): void {
    for (const e of this.entries) e.saved.set(e.live);
  }

  restore(): void {
    for (const e of this.entries) e.live.set(e.saved);
  }

  /** The first weight holding NaN, ±Infinity or a value beyond float32's range (divergence.ts), and that value. */
  firstDiverged(): { readonly name: string; readonly value: number } | undefined {
    for (const e of this.entries) {
      const w = e.live;
      for (let i = 0; i < w.length; i++) if (weightDiverged(w[i]!)) return { name: e.name, value: w[i]! };
    }
    return undefined;
  }
}
