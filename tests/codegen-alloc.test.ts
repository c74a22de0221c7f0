// The generated trainer allocates its buffers once, at construction: the methods a training loop
// calls per batch must not create arrays (no GC pauses, flat memory). Error paths may allocate.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { generateModule } from "../src/codegen/compile.js";
import { formatTypeScript } from "../src/codegen/format.js";
import { analyze } from "../src/index.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const HOT_METHODS = ["forward", "lossAndGrad", "backward", "step", "trainStep"];
const ALLOCATIONS: [RegExp, string][] = [
  [/\bnew\s+(?!\w*Error\b)[A-Z]\w*/, "new"],
  [/\.(slice|map|filter|concat)\(/, "array copy"],
  [/Array\.from|\[\s*\.\.\./, "array spread"],
  [/=>/, "closure"],
];

/** The text of each hot method of the generated model class (formatted: members at two spaces). */
function hotMethods(code: string): Map<string, string> {
  const lines = code.split("\n");
  const found = new Map<string, string>();
  for (let i = 0; i < lines.length; i++) {
    const m = /^ {2}(\w+)\(/.exec(lines[i]!);
    if (!m || !HOT_METHODS.includes(m[1]!) || found.has(m[1]!)) continue;
    let end = i;
    while (end < lines.length && lines[end] !== "  }") end++;
    if (end > i + 1) found.set(m[1]!, lines.slice(i, end + 1).join("\n"));
  }
  return found;
}

const cases: [string, string][] = [
  ["seed", "seed.dl"],
  ["LeNet-5 (conv, pools, class targets)", "lenet5.dl"],
  ["character LSTM", "char_lstm.dl"],
  ["GRU tagger (bidirectional, stacked)", "gru_tagger.dl"],
  ["seq2seq with attention", "seq2seq_attention.dl"],
  ["U-Net (concat, upsample, batchnorm)", "unet.dl"],
];

describe("the generated training step allocates nothing", () => {
  for (const [name, file] of cases) {
    it(name, async () => {
      const a = analyze(readFileSync(`${root}examples/${file}`, "utf8"));
      const code = await formatTypeScript(generateModule(a.selected!, { file, precision: "f32", train: a.train, version: "test" }));
      const methods = hotMethods(code);
      expect([...methods.keys()].sort()).toEqual([...HOT_METHODS].sort());
      for (const [method, text] of methods) {
        for (const line of text.split("\n")) {
          if (/^\s*(\/\/|\*|\/\*)/.test(line) || /\bthrow\b/.test(line)) continue;
          for (const [pattern, what] of ALLOCATIONS) expect(pattern.test(line), `${method}: ${what} in «${line.trim()}»`).toBe(false);
        }
      }
    });
  }
});
