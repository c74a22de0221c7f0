import { readDataFile } from "../codegen/runtime/node-files.js";
import type { DataSpec } from "./data-spec.js";
import { withShapes, type Dataset } from "./dataset.js";
import { nodeHost } from "./node-host.js";

export type { DataFormat } from "../codegen/runtime/public-types.js";

/**
 * Loads a data file for a network (`--data`), with the reader every generated module uses
 * (runtime/node-files.ts's readDataFile; LANGUAGE.md §8):
 * - `data.json` — `{"x": […], "y": […]}` (several inputs: `"x": {"src": […], "tgt": […]}`);
 * - `data.csv` — one sample per row, the label last, an optional header;
 * - IDX (MNIST): `train-images-idx3-ubyte` finds `train-labels-idx1-ubyte` beside it, or both
 *   are named: `--data images.idx,labels.idx`.
 * Any of them may be gzip-compressed (`.gz`). The format follows the name (`.json`, `.csv`,
 * `idx` in it) or else the first bytes.
 */
export function loadData(path: string, spec: DataSpec): Dataset {
  return withShapes(readDataFile(path, spec, nodeHost()), spec);
}
