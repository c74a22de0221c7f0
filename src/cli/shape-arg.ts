import type { Shape } from "../ir/shape.js";
import { MAX_DIMENSION } from "../ir/shape.js";
import { DECIMAL_NUMBER } from "../util/decimal.js";
import { UsageError } from "./errors.js";

/** `--input 28x28x1` or `--input 784`. */
export function parseShapeArg(text: string): Shape {
  const trimmed = text.trim();
  if (!/^\d+(?:x\d+)*$/.test(trimmed)) throw new UsageError(`--input expects a shape such as 28x28x1 or 784, got '${text}'`);
  const dims = trimmed.split("x").map(Number);
  if (dims.some((d) => d < 1 || d > MAX_DIMENSION)) throw new UsageError(`--input sizes must be between 1 and ${MAX_DIMENSION}, got '${text}'`);
  return dims;
}

/**
 * A whole-number flag from `min` to `max`, written in decimal (1000 or 1e3). A number past `max`
 * is "too large", not "not a whole number" (`--batch 1e9`).
 */
export function parsePositiveInt(flag: string, text: string, min = 1, max = Number.MAX_SAFE_INTEGER): number {
  const trimmed = text.trim();
  const value = Number(trimmed);
  if (DECIMAL_NUMBER.test(trimmed) && value > max) throw new UsageError(`${flag} is too large: got '${text}', at most ${max}`);
  if (!DECIMAL_NUMBER.test(trimmed) || !Number.isInteger(value) || value < min) {
    throw new UsageError(`${flag} expects a whole number ≥ ${min}, got '${text}'`);
  }
  return value;
}

/** The largest batch dlc trains or estimates memory for: far beyond any data set that fits in memory one batch at a time. */
export const MAX_BATCH = 1_000_000;
