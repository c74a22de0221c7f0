// End to end through `node bin/dlc` (built by `npm test`'s pretest `tsc`): exit codes, stdout/stderr,
// the JSON forms of LANGUAGE.md §7, the human summary table and colour.
// Every expected number is from LANGUAGE.md or worked out by hand in the comment beside it.
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dlc, ROOT, type Run } from "./helpers/dlc-cli.js";

const LENET = "examples/lenet5.dl";
const ANSI = /\x1b\[/;
/** A line of a JavaScript stack trace: "    at foo (file.js:1:2)". */
const STACK_LINE = /^\s+at\s/m;

function json(run: Run): any {
  expect(run.stdout.trim().split("\n"), "--json prints exactly one line").toHaveLength(1);
  return JSON.parse(run.stdout);
}

let dir = "";
const fixture = (name: string): string => join(dir, name);

const FILES: Record<string, string> = {
  "clean.dl": "network clean {\n  input 784\n  dense 10 softmax\n}\n",
  // (28 - 5) = 23 is odd: stride 2 drops a row and a column, a warning only.
  "warn.dl": "network warned {\n  input 28x28x1\n  conv 6 5x5 stride 2\n}\n",
  "oneliner.dl": "layer dense 2 relu; conv 3x3 stride 1 pad 0; lstm 8\n",
  // §7's example: line 1 'dense 2 relu', line 3 '  conv 3x3 stride 1 pad 0'.
  "net.dl": "dense 2 relu\n# conv wants an image\n  conv 3x3 stride 1 pad 0\n",
  // Two good networks and a broken third (its conv on line 14): `check` looks at all of them, `summary` at one.
  "two.dl": [
    "network small {\n  input 8\n  dense 4\n}\n",
    "network big {\n  input 8\n  dense 16 relu\n  dense 3 softmax\n}\n",
    "network broken {\n  input 8\n  conv 3 3x3\n}\n",
  ].join("\n"),
  "bn.dl": "network normed {\n  input 10\n  dense 4\n  batchnorm\n  dense 2\n}\n",
  "frozen.dl": "network partly {\n  input 10\n  dense 4 frozen\n  dense 2\n}\n",
  "blocks.dl": "block mlp(width) {\n  dense width relu\n  dropout 0.5\n}\n\nnetwork stacked {\n  input 6\n  mlp 5\n  mlp(3)\n  dense 2\n}\n",
  "names.dl": "network names {\n  input 12x12x3\n  conv 4 3x3\n  features: conv 8 3x3\n  conv 8 3x3\n  flatten\n  dense 5\n}\n",
};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "dlc-cli-"));
  for (const [name, text] of Object.entries(FILES)) writeFileSync(fixture(name), text);
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.concurrent("exit codes", () => {
  it("a clean file: 0, 'ok' on stdout, nothing on stderr", async () => {
    const r = await dlc(["check", fixture("clean.dl")]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("ok");
    expect(r.stderr).toBe("");
  });

  it("warnings only: 0, the warning on stderr", async () => {
    const r = await dlc(["check", fixture("warn.dl")]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/warn\.dl:3:3: warning: /);
    expect(r.stdout).toContain("1 warning");
  });

  it("errors: 1, the diagnostics on stderr", async () => {
    const r = await dlc(["check", fixture("oneliner.dl")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("error: conv expects an [H,W,C] input, got [2] from 'dense 2 relu' (1:1)");
    expect(r.stderr).not.toMatch(STACK_LINE);
  });

  it("a missing file: 2, one line, no stack trace", async () => {
    const r = await dlc(["check", fixture("no-such-file.dl")]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain("no-such-file.dl");
    expect(r.stderr).not.toMatch(STACK_LINE);
  });

  it("a directory instead of a file: 2, no stack trace", async () => {
    const r = await dlc(["summary", dir]);
    expect(r.code).toBe(2);
    expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(r.stderr).not.toMatch(STACK_LINE);
  });

  it("an unknown command: 2", async () => {
    const r = await dlc(["frobnicate", LENET]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("frobnicate");
    expect(r.stderr).not.toMatch(STACK_LINE);
  });

  it("no command at all: 2 (usage on stderr)", async () => {
    const r = await dlc([]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("Usage");
  });

  it("--help: 0", async () => {
    const r = await dlc(["--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("summary");
  });

  it("an unknown option: 2", async () => {
    const r = await dlc(["check", LENET, "--frobnicate"]);
    expect(r.code).toBe(2);
    expect(r.stderr).not.toMatch(STACK_LINE);
  });

  for (const bad of ["abc", "28x28x0", "28xx1", "-3"]) {
    it(`a bad --input '${bad}': 2, one line, no stack trace`, async () => {
      const r = await dlc(["check", LENET, "--input", bad]);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe("");
      expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
      expect(r.stderr).toContain("--input");
      expect(r.stderr).not.toMatch(STACK_LINE);
    });
  }

  it("a bad --batch: 2", async () => {
    const r = await dlc(["summary", LENET, "--batch", "0"]);
    expect(r.code).toBe(2);
    expect(r.stderr).not.toMatch(STACK_LINE);
  });

  it("a bad --convention: 2", async () => {
    const r = await dlc(["summary", LENET, "--convention", "caffe"]);
    expect(r.code).toBe(2);
    expect(r.stderr).not.toMatch(STACK_LINE);
  });
});

describe.concurrent("source files dlc will not read", () => {
  const oneLine = (r: Run): void => {
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(r.stderr).not.toMatch(STACK_LINE);
  };

  it("/dev/zero: refused at the size limit instead of read forever", async () => {
    const r = await dlc(["check", "/dev/zero"]);
    oneLine(r);
    expect(r.stderr).toContain("'/dev/zero' is larger than 16 MiB");
  });

  it("a regular file one byte over 16 MiB: refused before reading", async () => {
    const big = join(dir, "big.dl");
    writeFileSync(big, "");
    truncateSync(big, 16 * 1024 * 1024 + 1);
    const r = await dlc(["check", big]);
    oneLine(r);
    expect(r.stderr).toContain("is larger than 16 MiB; dlc reads .dl files of up to 16 MiB (16777216 bytes)");
  });

  it("a pipe (/dev/stdin) is read like a file", async () => {
    const r = await dlc(["check", "/dev/stdin"], { stdin: "network piped {\n  input 4\n  dense 2\n}\n" });
    expect([r.code, r.stdout.trim()]).toEqual([0, "/dev/stdin: ok"]);
  });

  it("4 KB of random bytes: one line saying it is not a text file, not hundreds of errors", async () => {
    const bytes = Buffer.alloc(4096);
    let seed = 2024;
    for (let i = 0; i < bytes.length; i++) bytes[i] = (seed = (seed * 16807) % 2147483647) & 0xff;
    const file = join(dir, "random.bin");
    writeFileSync(file, bytes);
    const r = await dlc(["check", file]);
    oneLine(r);
    expect(r.stderr).toMatch(/random\.bin' is not a text file \(byte \d+ is NUL\)/);
  });

  it("a file that is not UTF-8 (Latin-1) is not a text file either; a UTF-8 byte-order mark is fine", async () => {
    const latin1 = join(dir, "latin1.dl");
    writeFileSync(latin1, Buffer.from("network n {\n  input 4 # caf\xe9\n}\n", "latin1"));
    const r = await dlc(["check", latin1]);
    oneLine(r);
    expect(r.stderr).toContain("latin1.dl' is not a text file (it is not valid UTF-8)");
    const bom = join(dir, "bom.dl");
    writeFileSync(bom, "\ufeffnetwork n {\n  input 4\n  dense 2 x\n}\n");
    // The mark stays in the text as before, so columns count it on line 1 only.
    expect((await dlc(["check", bom])).stderr).toContain("bom.dl:3:11: error: dense has no option 'x'");
  });

  it("a file name with a terminal escape is printed without it, in diagnostics, results and errors", async () => {
    const name = join(dir, "a\x1b[31mb.dl");
    writeFileSync(name, "network n {\n  input 4\n  dense 2 x\n}\n");
    const errors = await dlc(["check", name]);
    expect(errors.code).toBe(1);
    expect(errors.stderr).toContain("a\ufffd[31mb.dl:3:11: error:");
    expect(errors.stdout).toContain("a\ufffd[31mb.dl: 1 error");
    const missing = await dlc(["check", join(dir, "no\x1b]0;title\x07.dl")]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("no\ufffd]0;title\ufffd.dl': no such file");
    const unknownOption = await dlc(["check", name, "--x\x1b[2J"]);
    expect(unknownOption.code).toBe(2);
    for (const r of [errors, missing, unknownOption]) expect(r.stdout + r.stderr).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f]/);
  });
});

describe.concurrent("check --json (§7)", () => {
  const FIELDS = ["severity", "code", "message", "file", "line", "column", "endLine", "endColumn"];

  it("is exactly {ok, diagnostics} with §7's fields", async () => {
    const r = await dlc(["check", fixture("oneliner.dl"), "--json"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("");
    const out = json(r);
    expect(Object.keys(out)).toEqual(["ok", "diagnostics"]);
    expect(out.ok).toBe(false);
    for (const d of out.diagnostics) {
      // `notes` (block call chains, hints) is our only addition, and only when there are notes.
      expect(Object.keys(d).filter((k) => k !== "notes")).toEqual(FIELDS);
      expect(d.file).toBe(fixture("oneliner.dl"));
    }
    const rank = out.diagnostics.find((d: { code: string }) => d.code === "shape-rank");
    // 'conv 3x3 stride 1 pad 0' is columns 21 to 43 of the one-liner; endColumn is exclusive.
    expect(rank).toEqual({
      severity: "error",
      code: "shape-rank",
      message: "conv expects an [H,W,C] input, got [2] from 'dense 2 relu' (1:1)",
      file: fixture("oneliner.dl"),
      line: 1,
      column: 21,
      endLine: 1,
      endColumn: 44,
    });
  });

  it("a clean file gives ok true and no diagnostics", async () => {
    const r = await dlc(["check", fixture("clean.dl"), "--json"]);
    expect(r.code).toBe(0);
    expect(json(r)).toEqual({ ok: true, diagnostics: [] });
  });

  it("warnings keep ok true", async () => {
    const r = await dlc(["check", fixture("warn.dl"), "--json"]);
    expect(r.code).toBe(0);
    const out = json(r);
    expect(out.ok).toBe(true);
    expect(out.diagnostics.map((d: { severity: string; code: string }) => [d.severity, d.code])).toEqual([["warning", "dropped-pixels"]]);
  });

  it("§7's example, human form: net.dl:3:3 with the source line and carets", async () => {
    const r = await dlc(["check", "net.dl"], { cwd: dir });
    expect(r.code).toBe(1);
    const expected = [
      "net.dl:3:3: error: conv expects an [H,W,C] input, got [2] from 'dense 2 relu' (1:1)",
      "  3 |   conv 3x3 stride 1 pad 0",
      "    |   ^^^^^^^^^^^^^^^^^^^^^^^",
    ].join("\n");
    expect(r.stderr).toContain(expected + "\n");
  });

  it("§7's example, JSON form: line 3, column 3, endLine 3, endColumn 26", async () => {
    const out = json(await dlc(["check", "net.dl", "--json"], { cwd: dir }));
    const rank = out.diagnostics.find((d: { code: string }) => d.code === "shape-rank");
    expect(rank).toEqual({
      severity: "error",
      code: "shape-rank",
      message: "conv expects an [H,W,C] input, got [2] from 'dense 2 relu' (1:1)",
      file: "net.dl",
      line: 3,
      column: 3,
      endLine: 3,
      endColumn: 26,
    });
  });
});

describe.concurrent("summary --json (§7)", () => {
  const TOP_KEYS = ["network", "input", "layers", "totalParams", "trainableParams", "nonTrainableParams", "stateSize", "macs"];
  const LAYER_KEYS = ["name", "kind", "line", "outputShape", "params", "trainable", "macs"];

  it("lenet5: exactly §7's keys and §7's numbers", async () => {
    const r = await dlc(["summary", LENET, "--json"]);
    expect(r.code).toBe(0);
    const s = json(r);
    expect(Object.keys(s).sort()).toEqual([...TOP_KEYS].sort());
    for (const layer of s.layers) expect(Object.keys(layer).sort()).toEqual([...LAYER_KEYS].sort());
    expect(s.network).toBe("lenet5");
    expect(s.input).toEqual([28, 28, 1]);
    expect(s.layers[0]).toEqual({ name: "conv1", kind: "conv", line: 4, outputShape: [28, 28, 6], params: 156, trainable: true, macs: 117600 });
    expect([s.totalParams, s.trainableParams, s.nonTrainableParams, s.stateSize, s.macs]).toEqual([61706, 61706, 0, 0, 416520]);
  });

  it("--input 32x32x1 overrides the declared input", async () => {
    const s = json(await dlc(["summary", LENET, "--json", "--input", "32x32x1"]));
    expect(s.input).toEqual([32, 32, 1]);
    const byName = Object.fromEntries(s.layers.map((l: { name: string }) => [l.name, l]));
    // conv 6 5x5 pad 2 keeps 32x32; MACs 32*32*6*5*5*1 = 153600; params unchanged (5*5*1*6 + 6).
    expect(byName.conv1).toMatchObject({ outputShape: [32, 32, 6], params: 156, macs: 153600 });
    // 32 → avgpool 16 → conv 5x5 12 → avgpool 6: flatten gives 6*6*16 = 576.
    expect(byName.flatten1.outputShape).toEqual([576]);
    // dense 120 on 576: 576*120 + 120 = 69240 params, 69120 MACs.
    expect(byName.dense1).toMatchObject({ outputShape: [120], params: 69240, macs: 69120 });
    // 156 + 2416 (conv2: 5*5*6*16 + 16) + 69240 + 10164 (120*84 + 84) + 850 (84*10 + 10)
    expect(s.totalParams).toBe(82826);
  });

  it("--input supplies the shape of a file without input", async () => {
    const r = await dlc(["summary", fixture("oneliner.dl"), "--json", "--input", "5x5x1"]);
    // Still an error: dense gives [2] whatever the input, and conv needs [H,W,C].
    expect(r.code).toBe(1);
    const out = json(r);
    expect(out.ok).toBe(false);
    expect(out.diagnostics.map((d: { code: string }) => d.code)).toEqual(["shape-rank"]);
  });

  it("a file with several networks: the first by default, --network picks another", async () => {
    const first = json(await dlc(["summary", fixture("two.dl"), "--json"]));
    // small: dense 4 on 8 = 8*4 + 4 = 36.
    expect([first.network, first.totalParams]).toEqual(["small", 36]);
    const big = json(await dlc(["summary", fixture("two.dl"), "--json", "--network", "big"]));
    // big: dense 16 on 8 = 144, dense 3 on 16 = 51; its layers are numbered from 1 again.
    expect([big.network, big.totalParams]).toEqual(["big", 195]);
    expect(big.layers.map((l: { name: string; line: number }) => [l.name, l.line])).toEqual([
      ["dense1", 8],
      ["dense2", 9],
    ]);
  });

  it("check looks at every network; --network narrows it to one", async () => {
    const all = await dlc(["check", fixture("two.dl"), "--json"]);
    expect(all.code).toBe(1);
    expect(json(all).diagnostics.map((d: { code: string; line: number }) => [d.code, d.line])).toEqual([["shape-rank", 14]]);
    const one = await dlc(["check", fixture("two.dl"), "--json", "--network", "big"]);
    expect(one.code).toBe(0);
    expect(json(one)).toEqual({ ok: true, diagnostics: [] });
  });

  it("--network with a name the file lacks: a usage error (2) in every command, naming the networks it has", async () => {
    const commands = [["check"], ["summary"], ["compile", "-o", join(dir, "never.mjs")], ["run", "--weights", "w.json", "--data", "d.json"], ["train", "--data", "d.json"]];
    for (const [command, ...rest] of commands) {
      const r = await dlc([command!, fixture("two.dl"), "--network", "huge", ...rest]);
      expect([command, r.code]).toEqual([command, 2]);
      expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
      expect(r.stderr).toContain("no network named 'huge'");
      expect(r.stderr).toMatch(/small, big, broken/);
      expect(r.stderr).not.toMatch(STACK_LINE);
    }
  });

  it("batchnorm under the dlc, keras and pytorch conventions", async () => {
    // dense 4 on 10: 44; batchnorm on 4: gamma+beta 8 learnable, moving mean+variance 8; dense 2 on 4: 10.
    const own = json(await dlc(["summary", fixture("bn.dl"), "--json"]));
    expect([own.totalParams, own.trainableParams, own.nonTrainableParams, own.stateSize]).toEqual([62, 62, 0, 8]);
    // Keras' model.summary(): BatchNormalization has 4*C = 16 params, 2*C = 8 of them non-trainable.
    const keras = json(await dlc(["summary", fixture("bn.dl"), "--json", "--convention", "keras"]));
    expect(keras.layers[1]).toMatchObject({ name: "batchnorm1", params: 16 });
    expect([keras.totalParams, keras.trainableParams, keras.nonTrainableParams, keras.stateSize]).toEqual([70, 62, 8, 0]);
    // PyTorch: BatchNorm1d(4).parameters() is weight + bias = 8; running stats are buffers.
    const torch = json(await dlc(["summary", fixture("bn.dl"), "--json", "--convention", "pytorch"]));
    expect(torch.layers[1]).toMatchObject({ name: "batchnorm1", params: 8 });
    expect(torch.totalParams).toBe(62);
  });

  it("a frozen layer's params count as non-trainable", async () => {
    const s = json(await dlc(["summary", fixture("frozen.dl"), "--json"]));
    // dense 4 frozen on 10: 44 non-trainable; dense 2 on 4: 10 trainable.
    expect(s.layers.map((l: { name: string; trainable: boolean; params: number }) => [l.name, l.trainable, l.params])).toEqual([
      ["dense1", false, 44],
      ["dense2", true, 10],
    ]);
    expect([s.totalParams, s.trainableParams, s.nonTrainableParams]).toEqual([54, 10, 44]);
  });

  it("unnamed layers are numbered per kind, counting only unnamed layers", async () => {
    const s = json(await dlc(["summary", fixture("names.dl"), "--json"]));
    expect(s.layers.map((l: { name: string }) => l.name)).toEqual(["conv1", "features", "conv2", "flatten1", "dense1"]);
    // 12x12x3 → conv 4 3x3 → 10x10x4 → conv 8 3x3 → 8x8x8 → conv 8 3x3 → 6x6x8 → flatten 288 → dense 5.
    expect(s.layers.map((l: { outputShape: number[] }) => l.outputShape)).toEqual([[10, 10, 4], [8, 8, 8], [6, 6, 8], [288], [5]]);
    // params: 3*3*3*4+4 = 112, 3*3*4*8+8 = 296, 3*3*8*8+8 = 584, 0, 288*5+5 = 1445.
    expect(s.layers.map((l: { params: number }) => l.params)).toEqual([112, 296, 584, 0, 1445]);
  });

  it("layers expanded from a block carry the line of the statement inside the block", async () => {
    const s = json(await dlc(["summary", fixture("blocks.dl"), "--json"]));
    expect(s.layers.map((l: { name: string; line: number }) => [l.name, l.line])).toEqual([
      ["dense1", 2],
      ["dropout1", 3],
      ["dense2", 2],
      ["dropout2", 3],
      ["dense3", 10],
    ]);
  });
});

describe.concurrent("summary table", () => {
  it("lenet5: layer names, totals and memory", async () => {
    const r = await dlc(["summary", LENET]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    for (const name of ["conv1", "avgpool1", "conv2", "avgpool2", "flatten1", "dense1", "dense2", "dense3"]) {
      expect(r.stdout).toMatch(new RegExp(`^${name}\\s`, "m"));
    }
    expect(r.stdout).toContain("lenet5");
    expect(r.stdout).toMatch(/Total params:\s+61,706/);
    expect(r.stdout).toMatch(/Trainable params:\s+61,706/);
    expect(r.stdout).toMatch(/Non-trainable params:\s+0/);
    expect(r.stdout).toContain("416,520");
    expect(r.stdout).toContain("Memory");
  });

  it("--batch scales the activation memory", async () => {
    // Activations of one sample of blocks.dl: 5 + 5 + 3 + 3 + 2 = 18 values, 72 bytes in float32.
    const one = await dlc(["summary", fixture("blocks.dl")]);
    const four = await dlc(["summary", fixture("blocks.dl"), "--batch", "4"]);
    expect(one.stdout).toMatch(/activations 72 B/);
    expect(four.stdout).toMatch(/batch 4/);
    expect(four.stdout).toMatch(/activations 288 B/);
  });

  it("block calls are groups with subtotals", async () => {
    const r = await dlc(["summary", fixture("blocks.dl")]);
    expect(r.code).toBe(0);
    const lines = r.stdout.split("\n");
    const at = (re: RegExp): number => lines.findIndex((l) => re.test(l));
    const group1 = at(/^mlp1\s.*\bline 8\b/);
    const group2 = at(/^mlp2\s.*\bline 9\b/);
    // mlp 5 on [6]: dense 6*5 + 5 = 35 params, 30 MACs; mlp(3) on [5]: 5*3 + 3 = 18 params, 15 MACs.
    const sub1 = at(/^\s+subtotal mlp1\s+35\s+30$/);
    const sub2 = at(/^\s+subtotal mlp2\s+18\s+15$/);
    expect([group1, sub1, group2, sub2].every((i) => i >= 0), r.stdout).toBe(true);
    expect(group1 < sub1 && sub1 < group2 && group2 < sub2).toBe(true);
    // The block's layers sit indented between the group line and its subtotal.
    expect(lines.slice(group1 + 1, sub1).map((l) => l.trim().split(/\s+/)[0])).toEqual(["dense1", "dropout1"]);
    expect(lines.slice(group1 + 1, sub1).every((l) => l.startsWith("  "))).toBe(true);
    expect(lines[sub2 + 1]).toMatch(/^dense3\s/);
    expect(r.stdout).toMatch(/Total params:\s+61\b/);
  });

  it("a frozen layer is marked and counted as non-trainable", async () => {
    const r = await dlc(["summary", fixture("frozen.dl")]);
    expect(r.stdout).toMatch(/^dense1\s.*frozen/m);
    expect(r.stdout).toMatch(/Trainable params:\s+10\b/);
    expect(r.stdout).toMatch(/Non-trainable params:\s+44\b/);
  });

  it("warnings go to stderr, the table to stdout", async () => {
    const r = await dlc(["summary", fixture("warn.dl")]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("warning:");
    expect(r.stdout).not.toContain("warning:");
    expect(r.stdout).toMatch(/^conv1\s/m);
  });

  it("a file with errors prints diagnostics, no table, and exits 1", async () => {
    const r = await dlc(["summary", fixture("oneliner.dl")]);
    expect(r.code).toBe(1);
    expect(r.stdout).not.toContain("Total params");
    expect(r.stderr).toContain("conv expects an [H,W,C] input");
  });
});

describe.concurrent("colour", () => {
  it("none on pipes without NO_COLOR or FORCE_COLOR", async () => {
    const table = await dlc(["summary", LENET], { env: {} });
    const check = await dlc(["check", fixture("oneliner.dl")], { env: {} });
    expect(table.stdout).not.toMatch(ANSI);
    expect(check.stderr).toContain("error:");
    expect(check.stderr).not.toMatch(ANSI);
  });

  it("FORCE_COLOR=1 colours the table and the diagnostics", async () => {
    const table = await dlc(["summary", LENET], { env: { FORCE_COLOR: "1" } });
    const check = await dlc(["check", fixture("oneliner.dl")], { env: { FORCE_COLOR: "1" } });
    expect(table.stdout).toMatch(ANSI);
    expect(check.stderr).toMatch(ANSI);
  });

  it("NO_COLOR wins over FORCE_COLOR", async () => {
    const env = { NO_COLOR: "1", FORCE_COLOR: "1" };
    const table = await dlc(["summary", LENET], { env });
    const check = await dlc(["check", fixture("oneliner.dl")], { env });
    expect(table.stdout).not.toMatch(ANSI);
    expect(check.stderr).not.toMatch(ANSI);
  });

  it("--json is never coloured", async () => {
    const env = { FORCE_COLOR: "1" };
    const check = await dlc(["check", fixture("oneliner.dl"), "--json"], { env });
    const summary = await dlc(["summary", LENET, "--json"], { env });
    expect(check.stdout).not.toMatch(ANSI);
    expect(summary.stdout).not.toMatch(ANSI);
    expect(() => JSON.parse(summary.stdout)).not.toThrow();
  });
});

describe("fixtures", () => {
  it("lenet5.dl is LANGUAGE.md §1's listing (so §7's numbers apply to it)", () => {
    const text = readFileSync(join(ROOT, LENET), "utf8");
    expect(text).toContain("network lenet5 {");
    expect(text.split("\n")[3]).toMatch(/^\s*conv 6 5x5 pad 2 tanh\b/);
  });
});
