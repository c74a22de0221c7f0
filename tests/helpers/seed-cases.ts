// The course notes' worked numbers (checked against a real framework). The project's copy lives in
// tests/fixtures so a fresh clone tests without the team's shared/ folder; seed-cases.test.ts fails
// when it drifts from shared/seed-cases.json where that exists.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const seedCasesPath = fileURLToPath(new URL("../fixtures/seed-cases.json", import.meta.url));
export const sharedSeedCasesPath = fileURLToPath(new URL("../../../shared/seed-cases.json", import.meta.url));

export function loadSeedCases<T = { id: string }>(): T[] {
  return (JSON.parse(readFileSync(seedCasesPath, "utf8")) as { cases: T[] }).cases;
}
