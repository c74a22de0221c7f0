import type { Dataset } from "../io/index.js";
import { UsageError } from "./errors.js";

/** Samples start … end − 1 of a data set (views, no copy). */
export function sliceDataset(d: Dataset, start: number, end: number, source: string): Dataset {
  const rows = <T extends Float64Array | Int32Array>(data: T, width: number): T => data.subarray(start * width, end * width) as T;
  const t = d.targets;
  const targets = t === undefined ? undefined : t.kind === "values" ? { ...t, data: rows(t.data, t.data.length / d.size) } : { ...t, data: rows(t.data, t.perSample) };
  return { size: end - start, inputs: d.inputs.map((i) => ({ ...i, data: rows(i.data, i.data.length / d.size) })), ...(targets ? { targets } : {}), source };
}

/**
 * `--val-split F`: the last F of the samples (at least one, rounded) held out for validation,
 * the rest trained on; the split is in file order, before any shuffling.
 */
export function splitForValidation(d: Dataset, fraction: number): { train: Dataset; validation: Dataset } {
  if (!(fraction > 0 && fraction < 1)) throw new UsageError(`--val-split expects a fraction between 0 and 1 (exclusive), got ${fraction}`);
  const held = Math.max(1, Math.round(d.size * fraction));
  if (held >= d.size) throw new UsageError(`--val-split ${fraction} leaves no training samples of the ${d.size} in ${d.source}`);
  const cut = d.size - held;
  return { train: sliceDataset(d, 0, cut, d.source), validation: sliceDataset(d, cut, d.size, `the last ${held} samples of ${d.source}`) };
}
