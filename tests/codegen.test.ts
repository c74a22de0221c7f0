import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync, existsSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL, fileURLToPath } from "node:url";
import { SourceMapConsumer } from "source-map";
import { describe, expect, it } from "vitest";
import { generateModule } from "../src/codegen/compile.js";
import { formatTypeScript } from "../src/codegen/format.js";
import { analyze } from "../src/index.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const dlc = join(root, "bin", "dlc");
const tmp = mkdtempSync(join(tmpdir(), "dlc-codegen-"));

function compile(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [dlc, "compile", ...args], { cwd: root, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const seedText = "network seed {\n  input 3\n  dense 2 relu\n  dense 2 sigmoid\n  dense 1 sigmoid\n}\n\ntrain {\n  loss squared\n  optimizer sgd lr 0.7\n  batch 1\n  epochs 1\n}\n";

describe("dlc compile output", () => {
  const dl = join(tmp, "seed.dl");
  writeFileSync(dl, seedText);

  it("writes the module and a source map whose mappings point every layer block at its .dl statement", async () => {
    const out = join(tmp, "seed.ts");
    const r = compile([dl, "-o", out]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const code = readFileSync(out, "utf8");
    const map = JSON.parse(readFileSync(`${out}.map`, "utf8"));
    expect(code).toContain("//# sourceMappingURL=seed.ts.map");
    const consumer = await new SourceMapConsumer(map);
    const lines = code.split("\n");
    const statements: Record<string, number> = { "dense 2 relu": 3, "dense 2 sigmoid": 4, "dense 1 sigmoid": 5 };
    let checked = 0;
    lines.forEach((text, i) => {
      const m = /\/\/ @dl \d+:\d+ .*?: (dense \d (?:relu|sigmoid))$/.exec(text.trim());
      if (!m) return;
      // The marker line and the code right under it both map to the statement's line.
      for (const line of [i + 1, i + 4]) {
        const column = lines[line - 1]!.length - lines[line - 1]!.trimStart().length;
        const pos = consumer.originalPositionFor({ line, column });
        expect(pos.source).toBe(dl);
        expect(pos.line).toBe(statements[m[1]!]);
        expect(pos.column).toBe(2);
      }
      checked++;
    });
    // forward and backward of three layers and their fused activations
    expect(checked).toBeGreaterThanOrEqual(6);
    // lines outside any layer block map to nothing
    const header = consumer.originalPositionFor({ line: 1, column: 0 });
    expect(header.line).toBeNull();
    consumer.destroy();
  });

  it("the TypeScript output type-checks under tsc --strict --noEmit", () => {
    const out = join(tmp, "strict.ts");
    expect(compile([dl, "-o", out]).status).toBe(0);
    const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
    const r = spawnSync(process.execPath, [tsc, "--strict", "--noEmit", "--target", "es2022", "--module", "es2022", "--moduleResolution", "bundler", "--types", "node", out], { cwd: root, encoding: "utf8" });
    expect(r.stdout + r.stderr).toBe("");
    expect(r.status).toBe(0);
  });

  it("the JavaScript output imports nothing and runs", async () => {
    const out = join(tmp, "seed.mjs");
    expect(compile([dl, "-o", out]).status).toBe(0);
    const code = readFileSync(out, "utf8");
    expect(code).not.toMatch(/^\s*import\s/m);
    expect(code).not.toMatch(/require\(/);
    const mod = await import(pathToFileURL(out).href);
    const model = new mod.Model({ maxBatch: 2 });
    const y = model.predict([[1, 2, 3, 4, 5, 6]], 2);
    expect(y.length).toBe(2);
    for (const v of y) expect(v).toBeGreaterThan(0);
  });

  it("names and paths from the user can never inject code", async () => {
    const dir = join(tmp, "hostile`${process.exit(3)}`*/ \" ' \u2028 x");
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'net"; process.exit(4); *\u2029.dl');
    writeFileSync(file, "network n {\n  input 2\n  evil_name__proto__: dense 1 sigmoid\n}\ntrain { loss binary_cross_entropy }\n");
    const out = join(tmp, "hostile.mjs");
    const r = compile([file, "-o", out]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const mod = await import(pathToFileURL(out).href);
    expect(mod.NETWORK.source).toBe(file);
    expect(mod.WEIGHTS.map((w: { name: string }) => w.name)).toEqual(["evil_name__proto__.kernel", "evil_name__proto__.bias"]);
    const model = new mod.Model({ maxBatch: 1 });
    expect(model.predict([[0.5, -0.5]], 1).length).toBe(1);
  });

  it("a .dl file with errors gives exit 1 and no output file", () => {
    const bad = join(tmp, "bad.dl");
    writeFileSync(bad, "input 4\nconv 3x3\n");
    const out = join(tmp, "bad.ts");
    const r = compile([bad, "-o", out]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("conv expects an [H,W,C] input");
    expect(existsSync(out)).toBe(false);
  });

  it("generated code grows linearly with the number of layers", () => {
    const sizeFor = (layers: number): number => {
      const text = `input 16\n${Array.from({ length: layers }, () => "dense 16 relu").join("\n")}\n`;
      const a = analyze(text);
      return generateModule(a.selected!, { file: "n.dl", precision: "f32", version: "test" }).length;
    };
    const [s50, s100, s400] = [sizeFor(50), sizeFor(100), sizeFor(400)];
    const perLayerSmall = (s100 - s50) / 50;
    const perLayerLarge = (s400 - s100) / 300;
    expect(perLayerLarge / perLayerSmall).toBeGreaterThan(0.9);
    expect(perLayerLarge / perLayerSmall).toBeLessThan(1.1);
  });
});

describe("golden generated code", () => {
  const update = process.env.UPDATE_GOLDEN === "1";
  for (const [name, text, precision] of [["seed-f64", seedText, "f64"]] as const) {
    it(`${name}.ts matches tests/golden-codegen (review the diff, then UPDATE_GOLDEN=1)`, async () => {
      const a = analyze(text);
      const code = await formatTypeScript(generateModule(a.selected!, { file: `${name}.dl`, precision, train: a.train, version: "golden" }));
      const path = join(root, "tests", "golden-codegen", `${name}.ts`);
      if (update || !existsSync(path)) writeFileSync(path, code);
      expect(code).toBe(readFileSync(path, "utf8"));
    });
  }
});
