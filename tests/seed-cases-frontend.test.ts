// The seed notes' parameter counts and output sizes (recomputed independently in
// tests/fixtures/seed-cases.json, a copy of shared/seed-cases.json) through the front end: parse, shapes, counts, warnings.
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { analyze, summarize } from "../src/index.js";
import { loadSeedCases, seedCasesPath } from "./helpers/seed-cases.js";

interface SeedDlc {
  readonly dl: string;
  readonly expectedTotalParams?: number;
  readonly expectedOutputShape?: readonly number[];
  readonly expectWarning?: boolean;
}

interface SeedCase {
  readonly id: string;
  readonly dlc?: SeedDlc;
}

const casesPath = seedCasesPath;
const cases = loadSeedCases<SeedCase>();

const withCounts = cases.filter((c) => c.dlc?.expectedTotalParams !== undefined);
const withShapes = cases.filter((c) => c.dlc?.expectedOutputShape !== undefined || c.dlc?.expectWarning !== undefined);

describe(`seed cases through the front end (${casesPath})`, () => {
  it("the file holds cases with counts and with output sizes", () => {
    expect(withCounts.length).toBeGreaterThan(0);
    expect(withShapes.length).toBeGreaterThan(0);
  });

  it.each(withCounts.map((c) => [c.id, c.dlc!] as const))("%s: total parameters", (_id, dlc) => {
    const analysis = analyze(dlc.dl);
    expect(analysis.hasErrors).toBe(false);
    expect(summarize(analysis.selected!).totalParams).toBe(dlc.expectedTotalParams);
  });

  it.each(withShapes.map((c) => [c.id, c.dlc!] as const))("%s: output shape and dropped-pixels warning", (_id, dlc) => {
    const analysis = analyze(dlc.dl);
    expect(analysis.hasErrors).toBe(false);
    if (dlc.expectedOutputShape !== undefined) {
      const rows = summarize(analysis.selected!).rows;
      expect(rows.at(-1)!.outputShape).toEqual(dlc.expectedOutputShape);
    }
    if (dlc.expectWarning !== undefined) {
      const warned = analysis.diagnostics.some((d) => d.severity === "warning" && d.code === "dropped-pixels");
      expect(warned).toBe(dlc.expectWarning);
    }
  });

  it("examples/seed.dl is the homework_q3 network, with the same train block", () => {
    const homework = cases.find((c) => c.id === "homework_q3")?.dlc;
    expect(homework, "seed-cases.json has no homework_q3 case with a dlc program").toBeDefined();
    const fromCase = analyze(homework!.dl);
    const fromExample = analyze(readFileSync(new URL("../examples/seed.dl", import.meta.url), "utf8"));
    expect(fromCase.hasErrors).toBe(false);
    expect(fromExample.hasErrors).toBe(false);
    const layers = (a: typeof fromCase) => summarize(a.selected!).rows.map((r) => ({ name: r.name, kind: r.kind, shape: r.outputShape, params: r.params, activation: r.activation }));
    expect(layers(fromExample)).toEqual(layers(fromCase));
    const train = (a: typeof fromCase) => ({ loss: a.train?.loss, optimizer: a.train?.optimizer?.kind, lr: a.train?.optimizer?.lr, batch: a.train?.batch, epochs: a.train?.epochs });
    expect(train(fromExample)).toEqual(train(fromCase));
  });
});
