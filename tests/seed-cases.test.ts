import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { loadSeedCases, seedCasesPath, sharedSeedCasesPath } from "./helpers/seed-cases.js";

describe("the project's copy of the seed cases", () => {
  it("holds the homework network and the convolution cases", () => {
    const ids = loadSeedCases().map((c) => c.id);
    expect(ids).toContain("homework_q3");
    expect(ids.length).toBeGreaterThan(5);
  });

  it.skipIf(!existsSync(sharedSeedCasesPath))("is identical to shared/seed-cases.json", () => {
    expect(readFileSync(seedCasesPath, "utf8")).toBe(readFileSync(sharedSeedCasesPath, "utf8"));
  });
});
