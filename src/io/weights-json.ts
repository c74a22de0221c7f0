import type { Tensor } from "../interp/tensor.js";
import { DataError } from "./errors.js";
import { isJsonObject, jsonKind, parseJsonBytes } from "./json-bytes.js";
import { NestedError, nestedJson, readNested } from "./nested.js";

/**
 * A JSON weights file: one object mapping each `<layer>.<param>` name to a nested array of the
 * parameter's shape (a bare number for shape []). Numbers are written exactly (float64).
 */
export function parseWeightsJson(bytes: Uint8Array, file: string): Map<string, Tensor> {
  const doc = parseJsonBytes(bytes, file);
  if (!isJsonObject(doc)) {
    throw new DataError(`${file}: a JSON weights file must be one object mapping each weight's name to a nested array, e.g. {"dense1.kernel": [[…]], "dense1.bias": […]}; found ${jsonKind(doc)}`, { file });
  }
  const out = new Map<string, Tensor>();
  for (const [name, value] of Object.entries(doc)) {
    try {
      out.set(name, readNested(value, name));
    } catch (e) {
      if (e instanceof NestedError) throw new DataError(`${file}: ${e.message}`, { file, path: e.path });
      throw e;
    }
  }
  return out;
}

/** The text of a JSON weights file: one weight per line, in the given order. */
export function weightsJsonText(tensors: Iterable<readonly [string, Tensor]>, file: string): string {
  const lines: string[] = [];
  for (const [name, t] of tensors) {
    const parts: string[] = [];
    try {
      nestedJson(t.shape, t.data, parts, () => name);
    } catch (e) {
      if (e instanceof NestedError) throw new DataError(`cannot write ${file}: ${e.message}`, { file, path: e.path });
      throw e;
    }
    lines.push(`  ${JSON.stringify(name)}: ${parts.join("")}`);
  }
  return lines.length === 0 ? "{}\n" : `{\n${lines.join(",\n")}\n}\n`;
}
