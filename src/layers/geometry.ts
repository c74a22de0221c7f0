import type { ParsedArgs, Reporter, ShapeContext } from "./types.js";
import { intOption, wordOption } from "./args.js";

/** A sliding window over [H, W, C]: conv and the pools share it. */
export interface Window {
  readonly kh: number;
  readonly kw: number;
  readonly stride: number;
  /** A fixed padding on every side, or TensorFlow's `same`. */
  readonly pad: number | "same";
  /** PyTorch's ceil_mode: partial windows at the end make an output too. */
  readonly ceil: boolean;
}

export interface Padding {
  readonly top: number;
  readonly bottom: number;
  readonly left: number;
  readonly right: number;
}

/** `pad same` puts the odd extra row or column at the bottom/right, as TensorFlow does. */
export function paddingOf(w: Window, h: number, wd: number): Padding {
  if (w.pad !== "same") return { top: w.pad, bottom: w.pad, left: w.pad, right: w.pad };
  const total = (size: number, k: number): number => Math.max((Math.ceil(size / w.stride) - 1) * w.stride + k - size, 0);
  const th = total(h, w.kh);
  const tw = total(wd, w.kw);
  return { top: Math.floor(th / 2), bottom: th - Math.floor(th / 2), left: Math.floor(tw / 2), right: tw - Math.floor(tw / 2) };
}

/** One output size of a window (floor, or PyTorch ceil_mode): shape inference and the interpreter share it. */
export function outputSize(size: number, k: number, stride: number, before: number, after: number, ceil: boolean): number {
  const span = size + before + after - k;
  if (!ceil) return Math.floor(span / stride) + 1;
  let out = Math.ceil(span / stride) + 1;
  // PyTorch: the last window must start inside the input or the left padding.
  if ((out - 1) * stride >= size + before) out--;
  return out;
}

/** Output [H', W'] of a window over [H, W], reporting impossible or lossy geometry. */
export function windowOutput(w: Window, h: number, wd: number, ctx: ShapeContext): [number, number] | undefined {
  const p = paddingOf(w, h, wd);
  if (w.kh > h + p.top + p.bottom || w.kw > wd + p.left + p.right) {
    ctx.error("kernel-too-large", `${ctx.kind} kernel ${w.kh}x${w.kw} is larger than its padded input ${h + p.top + p.bottom}x${wd + p.left + p.right} (input ${ctx.describeInput(0)})`);
    return undefined;
  }
  const oh = outputSize(h, w.kh, w.stride, p.top, p.bottom, w.ceil);
  const ow = outputSize(wd, w.kw, w.stride, p.left, p.right, w.ceil);
  if (oh < 1 || ow < 1) {
    ctx.error("shape-size", `${ctx.kind} gives a non-positive output size ${oh}x${ow} from input ${ctx.describeInput(0)}`);
    return undefined;
  }
  if (w.pad !== "same" && !w.ceil) {
    const rh = (h + p.top + p.bottom - w.kh) % w.stride;
    const rw = (wd + p.left + p.right - w.kw) % w.stride;
    if (rh !== 0 || rw !== 0) {
      ctx.warn("dropped-pixels", `${ctx.kind} drops ${rh !== 0 ? `${rh} row${rh > 1 ? "s" : ""}` : ""}${rh !== 0 && rw !== 0 ? " and " : ""}${rw !== 0 ? `${rw} column${rw > 1 ? "s" : ""}` : ""} of its ${h + p.top + p.bottom}x${wd + p.left + p.right} padded input: stride ${w.stride} does not divide ${rh !== 0 ? `${h + p.top + p.bottom} - ${w.kh} = ${h + p.top + p.bottom - w.kh}` : `${wd + p.left + p.right} - ${w.kw} = ${wd + p.left + p.right - w.kw}`}`);
    }
  }
  return [oh, ow];
}

/** Reads `stride`, `pad` and `ceil` into a window with the given kernel. */
export function readWindow(p: ParsedArgs, kh: number, kw: number, defaultStride: number, _r: Reporter): Window {
  const stride = intOption(p, "stride") ?? defaultStride;
  const padWord = wordOption(p, "pad");
  const pad = padWord === "same" ? "same" : padWord === "valid" ? 0 : (intOption(p, "pad") ?? 0);
  return { kh, kw, stride, pad, ceil: p.options.has("ceil") };
}

export const windowOptions = {
  stride: { type: "int", min: 1 },
  pad: { type: "int", min: 0, words: ["same", "valid"] },
} as const;
