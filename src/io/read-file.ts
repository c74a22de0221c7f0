import { readFileSync, statSync, type Stats } from "node:fs";
import { specialKind } from "../codegen/runtime/node-files.js";
import { DataError, reasonOf } from "./errors.js";

/**
 * A file's bytes, for `--data` and `--weights`. Only regular files are read: a device such as
 * /dev/zero never ends, a FIFO may never be written to, and neither tells its size beforehand,
 * so reading one could fill the memory or wait forever. `what` names the file in messages
 * ("data file", "weights file").
 */
export function readRegularFile(path: string, what: string): Buffer {
  let st: Stats;
  try {
    st = statSync(path);
  } catch (e) {
    throw new DataError(`cannot read the ${what} ${path}: ${reasonOf(e)}`, { file: path });
  }
  if (st.isDirectory()) throw new DataError(`cannot read the ${what} ${path}: it is a directory`, { file: path });
  if (!st.isFile()) throw new DataError(`cannot read the ${what} ${path}: it is ${specialKind(st)}, not a regular file; dlc reads only regular files`, { file: path });
  try {
    return readFileSync(path);
  } catch (e) {
    throw new DataError(`cannot read the ${what} ${path}: ${reasonOf(e)}`, { file: path });
  }
}
