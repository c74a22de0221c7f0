import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync, existsSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL, fileURLToPath } from "node:url";
import { SourceMapConsumer } from "source-map";
import { describe, expect, it } from "vitest";
import { generateModule } from "../src/codegen/compile.js";
import { formatAsJavaScript, formatChunkAsJavaScript, formatJavaScript, formatModule, formattedRuntime } from "../src/codegen/format.js";
import { toJavaScript } from "../scripts/transpile.js";
import { stripTypes, UnsupportedTypeScript } from "../src/codegen/strip-types.js";
import { joinModuleParts, moduleParts } from "../src/codegen/module.js";
import { plan } from "../src/codegen/plan.js";
import { runtimeFixed } from "../src/codegen/runtime/inline.js";
import { analyze } from "../src/index.js";
import { expectGolden } from "./helpers/golden.js";

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

  it("--json says what was written, with the precision, the kernels, the shards (--threads) and --fma", () => {
    for (const [args, precision, kernels, threads, fma] of [[[], "f32", "wasm", 1, false], [["--kernels", "js"], "f32", "js", 1, false], [["--precision", "f64"], "f64", "js", 1, false], [["--threads", "3"], "f32", "wasm", 3, false], [["--fma"], "f32", "wasm", 1, true]] as const) {
      const out = join(tmp, `json-${precision}-${kernels}-${threads}${fma ? "-fma" : ""}.mjs`);
      const r = compile([dl, "-o", out, "--json", ...args]);
      expect(r.status).toBe(0);
      expect(JSON.parse(r.stdout)).toEqual({ ok: true, output: out, map: `${out}.map`, target: "js", precision, kernels, threads, fma });
      expect(/const KERNEL_WASM_FMA =\s*"/.test(readFileSync(out, "utf8"))).toBe(fma);
      expect(readFileSync(out, "utf8").includes("KERNEL_WASM")).toBe(kernels === "wasm");
    }
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
  const lenet5 = readFileSync(join(root, "examples", "lenet5.dl"), "utf8");
  // LeNet-5 in f32 shows the conv and pool code, the one-memory arena and the embedded SIMD kernels;
  // the seed network with --threads 2 shows a threaded build's shards.
  const goldens = [["seed-f64", seedText, "f64", 1], ["lenet5-f32", lenet5, "f32", 1], ["seed-f32-threads2", seedText, "f32", 2]] as const;
  it("every file in tests/golden-codegen is one of these cases", () => {
    const names: readonly string[] = goldens.map(([name]) => `${name}.ts`);
    expect(readdirSync(join(root, "tests", "golden-codegen")).filter((f) => !names.includes(f))).toEqual([]);
  });
  for (const [name, text, precision, threads] of goldens) {
    it(`${name}.ts matches tests/golden-codegen (review the diff, then UPDATE_GOLDEN=1)`, async () => {
      const a = analyze(text);
      const parts = moduleParts(plan(a.selected!), { file: `${name}.dl`, precision, train: a.train, version: "golden", threads });
      const code = await formatModule(parts, "ts");
      // The runtime (the same in every module) is left out of the golden file; the tests below
      // check that it is there, formatted.
      const runtime = await formattedRuntime("ts");
      expect(code.split(runtime).length).toBe(2);
      const golden = code.replace(runtime, RUNTIME_LINE);
      expectGolden(golden, join(root, "tests", "golden-codegen", `${name}.ts`), "tests/codegen.test.ts");
    });
  }
});

/** What stands for the runtime in the golden files. */
const RUNTIME_LINE = "// ---- [the runtime: src/codegen/runtime/*.ts, formatted; not in the golden file] ----\n";

/** A program's shape for comparing JavaScript: the AST without positions and comments. */
async function programShape(code: string): Promise<string> {
  const { parsers } = await import("prettier/plugins/babel");
  const ast = (await parsers.babel.parse(code, {} as never)) as unknown as { program: unknown };
  const skip = new Set(["start", "end", "loc", "range", "extra", "comments", "leadingComments", "trailingComments", "innerComments"]);
  return JSON.stringify(ast.program, (k, v: unknown) => (skip.has(k) || k.startsWith("__") ? undefined : v));
}

/** Compares two programShapes, showing only where they part (they are long). */
function expectSameProgram(actual: string, expected: string): void {
  let i = 0;
  while (i < actual.length && actual[i] === expected[i]) i++;
  expect(actual.slice(Math.max(0, i - 200), i + 200)).toBe(expected.slice(Math.max(0, i - 200), i + 200));
}

describe("dlc compile's formatting shortcuts give what prettier makes of the whole module", () => {
  const cases: [string, string][] = [
    ["seed", seedText],
    ["lenet5", readFileSync(join(root, "examples", "lenet5.dl"), "utf8")],
    ["char_lstm", readFileSync(join(root, "examples", "char_lstm.dl"), "utf8")],
  ];
  for (const [name, text] of cases) {
    it(`${name}: the cached runtime and the network's pieces, formatted one by one, are prettier's output (ts and js)`, { timeout: 60_000 }, async () => {
      const prettier = await import("prettier");
      const a = analyze(text);
      const parts = moduleParts(plan(a.selected!), { file: `${name}.dl`, precision: "f32", train: a.train, version: "test" });
      expect(parts.chunks.length).toBeGreaterThan(0);
      // TypeScript: exactly what prettier (its own typescript parser) makes of the whole module.
      const ts = await formatModule(parts, "ts");
      expect(ts).toBe(await prettier.format(generateModule(a.selected!, { file: `${name}.dl`, precision: "f32", train: a.train, version: "test" }), { parser: "typescript", printWidth: 110 }));
      // JavaScript: prettier leaves it as it is, and it is the program typescript's transpileModule gives.
      const js = await formatModule(parts, "js");
      expect(await prettier.format(js, { parser: "babel", printWidth: 110 })).toBe(js);
      const whole = joinModuleParts(parts);
      expectSameProgram(await programShape(js), await programShape(await formatJavaScript(await toJavaScript(whole))));
    });
  }

  it("the cached runtime is prettier's formatting of the runtime as it is now", { timeout: 60_000 }, async () => {
    const prettier = await import("prettier");
    const text = runtimeFixed();
    expect(await formattedRuntime("ts")).toBe(await prettier.format(text, { parser: "typescript", printWidth: 110 }));
    const js = await formattedRuntime("js");
    expect(await prettier.format(js, { parser: "babel", printWidth: 110 })).toBe(js);
    expectSameProgram(await programShape(js), await programShape(await toJavaScript(text)));
  });
});

describe("stripTypes", () => {
  const source = `
/** A doc comment that goes with the interface. */
export interface Shape {
  readonly size: number;
}
type Pair = [number, number];
export type Kind = "a" | "b";
declare const outside: number;

export function area(s: Shape, scale?: number): number;
export function area(s: Shape, scale: number = 1): number {
  return s.size * scale!;
}

class Box<T> implements Shape {
  private readonly items: T[] = [];
  protected static count: number = 0;
  declare tag: string;
  size!: number;
  label?: string;
  [key: string]: unknown;
  constructor() {
    this.size = 0;
  }
  public add(item: T): this {
    this.items.push(item as T);
    return this;
  }
  get(i: number): T | undefined;
  get(i: number, fallback: T): T;
  get(i: number, fallback?: T): T | undefined {
    return this.items[i] ?? fallback;
  }
  private static make<U>(): Box<U> {
    return new Box<U>();
  }
}

const pairs = new Map<string, Pair>();
const f = <U,>(x: U): U => x;
const k = { kind: "a" } satisfies { kind: Kind };
const n = (k as unknown as { kind: string }).kind.length;
const m = (pairs.get("x")! as Pair)[0];
export const all = [area, Box, pairs, f, k, n, m] as const;
`;

  it("gives the program typescript's transpileModule gives", async () => {
    const js = await stripTypes(source);
    expect(js).not.toContain("interface");
    expect(js).not.toContain("doc comment");
    expectSameProgram(await programShape(js), await programShape(await toJavaScript(source)));
  });

  it("layer code is formatted as JavaScript directly only when that cannot misread TypeScript", async () => {
    // A generic call reads as comparisons to a JavaScript parser: it must go through stripTypes.
    expect(await formatChunkAsJavaScript("const y = f<number>(1);\n")).toBe("const y = f(1);\n");
    expect(await formatChunkAsJavaScript("const t = tag<string>`x`;\n")).toBe("const t = tag`x`;\n");
    expect(await formatChunkAsJavaScript("const w = f<number> /* a comment */ (1);\n")).toBe("const w = f(/* a comment */ 1);\n");
    expect(await formatChunkAsJavaScript("const z = a!.b as number;\n")).toBe("const z = a.b;\n");
    expect(await formatChunkAsJavaScript("for (let i=0;i<n;i++) y[i] = x[i] > 0 ? x[i] : 0\n")).toBe("for (let i = 0; i < n; i++) y[i] = x[i] > 0 ? x[i] : 0;\n");
  });

  it("refuses what needs more than blanking out, which dlc never generates; formatAsJavaScript too", async () => {
    for (const code of ["enum E { A }\n", "namespace N {\n  export const a = 1;\n}\n"]) {
      await expect(stripTypes(code)).rejects.toBeInstanceOf(UnsupportedTypeScript);
      await expect(formatAsJavaScript(code)).rejects.toBeInstanceOf(UnsupportedTypeScript);
    }
  });

  it("turns parameter properties into the fields and assignments typescript emits (after super, with or without its semicolon)", async () => {
    const code = `class A extends B {
  presses = 0;
  f = () => this.x;
  constructor(private readonly x: number, readonly y = 2, z: string) {
    super(z);
    this.q = 1;
  }
}
class A2 extends B {
  constructor(public w: number) {
    super()
    this.q = w
  }
}
class C {
  a = 1;
  constructor(protected s: string, override t?: string) {}
}
`;
    expectSameProgram(await programShape(await stripTypes(code)), await programShape(await toJavaScript(code)));
  });
});
