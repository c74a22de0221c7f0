import { outputSize, paddingOf, type Window } from "./geometry.js";

/** Where a sliding window's outputs fall on an [H, W] input: conv and pool kernels share it. */
export interface WindowPlan {
  readonly oh: number;
  readonly ow: number;
  /** Padding before the first row/column: output (i, j) starts at input (i·S − top, j·S − left). */
  readonly top: number;
  readonly left: number;
}

/** The same output size and padding as shape inference (`pad same`: extra row/column at bottom/right). */
export function planWindow(w: Window, h: number, wd: number): WindowPlan {
  const p = paddingOf(w, h, wd);
  return {
    oh: outputSize(h, w.kh, w.stride, p.top, p.bottom, w.ceil),
    ow: outputSize(wd, w.kw, w.stride, p.left, p.right, w.ceil),
    top: p.top,
    left: p.left,
  };
}

/** Checks a kernel's input rank, so a wrong tensor fails loudly instead of reading garbage. */
export function expectRank(kind: string, shape: readonly number[], rank: number): void {
  if (shape.length !== rank) throw new Error(`${kind}: expected a rank-${rank} tensor (batch first), got [${shape.join(",")}]`);
}
