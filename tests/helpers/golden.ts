// Golden files: compared, never created by a plain test run. UPDATE_GOLDEN=1 rewrites them (then
// review the diff); without it a missing golden file fails like a different one, so a renamed or
// deleted golden cannot pass by being written afresh from the code under test.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { relative } from "node:path";
import { expect } from "vitest";

export const UPDATE_GOLDEN = process.env.UPDATE_GOLDEN === "1";

/** Compares `actual` with the golden file at `path`, or (with `update`) writes it. `testFile` is for the message. */
export function expectGolden(actual: string, path: string, testFile: string, update = UPDATE_GOLDEN): void {
  if (update) {
    writeFileSync(path, actual);
    return;
  }
  if (!existsSync(path)) {
    throw new Error(`golden file ${relative(process.cwd(), path)} is missing: run UPDATE_GOLDEN=1 npx vitest run ${testFile} and review what it writes`);
  }
  expect(actual).toBe(readFileSync(path, "utf8"));
}
