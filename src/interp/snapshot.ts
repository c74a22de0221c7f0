import type { Tensor } from "./tensor.js";

/**
 * A copy of every weight (state included) taken before a batch, so that a batch that makes the
 * loss or any weight non-finite can be undone: training then stops on the last good weights.
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

  /** The name of the first weight holding NaN or ±Infinity, if any. */
  firstNonFinite(): string | undefined {
    for (const e of this.entries) {
      const w = e.live;
      for (let i = 0; i < w.length; i++) if (!Number.isFinite(w[i]!)) return e.name;
    }
    return undefined;
  }
}
