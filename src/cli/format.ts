export function thousands(n: number): string {
  return n.toLocaleString("en-US");
}

export { bytes } from "../util/format-bytes.js";

/** A compact count for MACs: 416,520 → "416.5K", 3.8e9 → "3.82G". */
export function compact(n: number): string {
  if (n < 10_000) return thousands(n);
  const units = [
    [1e12, "T"],
    [1e9, "G"],
    [1e6, "M"],
    [1e3, "K"],
  ] as const;
  for (const [scale, unit] of units) if (n >= scale) return `${(n / scale).toFixed(n / scale >= 100 ? 1 : 2)}${unit}`;
  return String(n);
}
