import type { Shape } from "../ir/shape.js";
import { MAX_DIMENSION } from "../ir/shape.js";
import { UsageError } from "./errors.js";

/** `--input 28x28x1` or `--input 784`. */
export function parseShapeArg(text: string): Shape {
  const trimmed = text.trim();
  if (!/^\d+(?:x\d+)*$/.test(trimmed)) throw new UsageError(`--input expects a shape such as 28x28x1 or 784, got '${text}'`);
  const dims = trimmed.split("x").map(Number);
  if (dims.some((d) => d < 1 || d > MAX_DIMENSION)) throw new UsageError(`--input sizes must be between 1 and ${MAX_DIMENSION}, got '${text}'`);
  return dims;
}

export function parsePositiveInt(flag: string, text: string, min = 1): number {
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(Number(text)) || Number(text) < min) {
    throw new UsageError(`${flag} expects a whole number ≥ ${min}, got '${text}'`);
  }
  return Number(text);
}
