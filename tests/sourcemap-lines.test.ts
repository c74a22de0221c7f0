// The compiled module's source map, line by line: every generated line of a layer's block (the
// `// @dl` marker and the statement it leads, found with TypeScript's own parser) maps to that
// layer's statement in the .dl — its line, and the column where the statement starts there — and
// no other generated line maps to anything. The statement's position is checked against the .dl
// text itself, so a map shifted by a line (either side) fails.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { SourceMapConsumer } from "source-map";
import ts from "typescript";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { runCompile } from "../src/cli/compile.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), "dlc-sourcemap-"));

const SMALL_GRAPH = `# blocks, repeat, residual, parallel, named inputs and attention
block stage(c, s = 1) {
  conv c 3x3 stride s pad same relu
  batchnorm
}

network graph {
  img: input 8x8x2
  seq: input 5x6

  from img
  stage 4
  repeat 2 {
    residual {
      conv 4 3x3 pad 1 relu
    }
  }
  parallel {
    branch { conv 2 1x1 }
    branch {
      maxpool 2 stride 1 pad same
      conv 3 1x1 tanh
    }
  }
  globalavgpool
  q: dense 6

  from seq
  mem: lstm 6 sequences
  attention q mem dot
  dense 3 softmax
}

train { loss cross_entropy }
`;

const cases: { name: string; text: string; precision: "f32" | "f64"; target: "ts" | "js" }[] = [
  { name: "seed", text: readFileSync(join(root, "examples", "seed.dl"), "utf8"), precision: "f64", target: "ts" },
  { name: "lenet5", text: readFileSync(join(root, "examples", "lenet5.dl"), "utf8"), precision: "f32", target: "js" },
  { name: "graph", text: SMALL_GRAPH, precision: "f64", target: "js" },
];

interface Position {
  readonly line: number;
  /** 0-based, as source maps count columns. */
  readonly column: number;
}

/**
 * What each generated line should map to: the lines of every statement led by a `// @dl L:C … what: TEXT`
 * comment (the comment's line through the statement's last line) map to L and C − 1, after checking that
 * the .dl's line L has the statement TEXT (after an optional `name:` label) at column C.
 */
function expectedMapping(code: string, target: "ts" | "js", dl: string): { lines: Map<number, Position>; markers: number } {
  const source = ts.createSourceFile(`m.${target}`, code, ts.ScriptTarget.Latest, true, target === "ts" ? ts.ScriptKind.TS : ts.ScriptKind.JS);
  const dlLines = dl.split("\n");
  const lines = new Map<number, Position>();
  const lineOf = (pos: number): number => source.getLineAndCharacterOfPosition(pos).line + 1;
  const seen = new Set<number>();
  const visit = (node: ts.Node): void => {
    for (const c of ts.getLeadingCommentRanges(code, node.getFullStart()) ?? []) {
      if (seen.has(c.pos)) continue;
      const m = /^\/\/ @dl (\d+):(\d+) .*? (?:forward|backward) [^:]*: (.*)$/.exec(code.slice(c.pos, c.end));
      if (!m) continue;
      seen.add(c.pos);
      const [line, column, text] = [Number(m[1]), Number(m[2]), m[3]!];
      const at = dlLines[line - 1]?.slice(column - 1) ?? "";
      expect(at.replace(/^[A-Za-z_][A-Za-z0-9_]*:\s*/, "").startsWith(text), `the .dl's line ${line} at column ${column} ("${at}") is the statement '${text}'`).toBe(true);
      for (let l = lineOf(c.pos); l <= lineOf(node.getEnd()); l++) {
        expect(lines.has(l), `generated line ${l} is in two layer blocks`).toBe(false);
        lines.set(l, { line, column: column - 1 });
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  // Every marker in the text leads a statement (none dangles at the end of a block).
  expect(code.split("\n").filter((l) => /^\s*\/\/ @dl /.test(l)).length).toBe(seen.size);
  return { lines, markers: seen.size };
}

describe("the source map of dlc compile, line by line", () => {
  // runCompile says what it wrote (stdout) and prints lint warnings (stderr).
  beforeEach(() => {
    vi.spyOn(process.stdout, "write").mockImplementation(() => true);
    vi.spyOn(process.stderr, "write").mockImplementation(() => true);
  });
  afterEach(() => vi.restoreAllMocks());

  for (const c of cases) {
    it(`${c.name} (${c.precision}, ${c.target}): every line of a layer's block maps to its statement, no other line maps`, { timeout: 60_000 }, async () => {
      const dl = join(tmp, `${c.name}.dl`);
      writeFileSync(dl, c.text);
      const out = join(tmp, `${c.name}.${c.target === "ts" ? "ts" : "mjs"}`);
      expect(await runCompile(dl, { output: out, target: c.target, precision: c.precision })).toBe(0);
      const code = readFileSync(out, "utf8");
      const raw = JSON.parse(readFileSync(`${out}.map`, "utf8"));
      expect(raw.sources).toEqual([dl]);
      expect(raw.sourcesContent).toEqual([c.text]);

      const { lines: expected, markers } = expectedMapping(code, c.target, c.text);
      expect(markers, "forward and backward blocks").toBeGreaterThanOrEqual(4);
      const generated = code.split("\n");
      const actual = new Map<number, Position>();
      const consumer = await new SourceMapConsumer(raw);
      consumer.eachMapping((m) => {
        expect(actual.has(m.generatedLine), `generated line ${m.generatedLine} has one mapping`).toBe(false);
        expect(m.source).toBe(dl);
        // The mapping sits where the line's code starts (where a debugger stops).
        const text = generated[m.generatedLine - 1] ?? "";
        expect(m.generatedColumn, `column of generated line ${m.generatedLine}`).toBe(text.length - text.trimStart().length);
        actual.set(m.generatedLine, { line: m.originalLine, column: m.originalColumn });
      });
      consumer.destroy();
      const listed = (m: Map<number, Position>): string[] => [...m].sort((a, b) => a[0] - b[0]).map(([g, p]) => `${g} → ${p.line}:${p.column}`);
      const [want, got] = [listed(expected), listed(actual)];
      const [wantSet, gotSet] = [new Set(want), new Set(got)];
      const wrong = got.filter((x) => !wantSet.has(x));
      const lost = want.filter((x) => !gotSet.has(x));
      expect({ wrong: wrong.slice(0, 5), lost: lost.slice(0, 5) }).toEqual({ wrong: [], lost: [] });
    });
  }
});
