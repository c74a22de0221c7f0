// The generated module on hostile or broken input (issue 12): non-finite data refused at load
// time, training's divergence rule, nothing saved by a run without a good batch, `run` on
// non-finite outputs, --dtype, Ctrl-C during the save, stale temporary files, reads without a
// byte cap, gzip bombs, `</script>` in generated code, and long or hostile text in messages.
// The rules are notes' training-rules (the same for dlc train); messages are checked against
// dlc's where dlc already says them, else against the rule's own words.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DivergenceWatch, EXPLOSION_FACTOR, FLOAT32_MAX } from "../src/codegen/runtime/divergence.js";
import { terminalText } from "../src/codegen/runtime/errors.js";
import { parseJson } from "../src/codegen/runtime/json.js";
import { commentText, literal, urlInComment } from "../src/codegen/safe-text.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const BIN = join(ROOT, "bin", "dlc");
const dir = mkdtempSync(join(tmpdir(), "dlc-hardening-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const tmp = (name: string): string => join(dir, name);

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function node(args: readonly string[], nodeOptions: readonly string[] = []): Run {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: "1" };
  delete env.DLC_DEBUG;
  const r = spawnSync(process.execPath, [...nodeOptions, ...args], { cwd: dir, env, encoding: "utf8" });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
const dlc = (args: readonly string[]): Run => node([BIN, ...args]);

function compile(dl: string, out: string, precision: "f32" | "f64" = "f64"): void {
  const r = dlc(["compile", dl, "-o", out, "--precision", precision]);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
}

/** A linear network (output = x·kernel + bias) and a softmax classifier, compiled in f64. */
const LINEAR = tmp("linear.dl");
const CLASSES = tmp("classes.dl");
const GOOD = '{\n  "dense1.kernel": [[0.5], [0.25], [-1]],\n  "dense1.bias": [0.125]\n}\n';

beforeAll(() => {
  writeFileSync(LINEAR, "network lin {\n  input 3\n  dense 1\n}\ntrain {\n  loss squared\n  optimizer sgd lr 0.1\n  batch 1\n}\n");
  writeFileSync(CLASSES, "network cls {\n  input 4\n  dense 3 softmax\n}\ntrain {\n  loss cross_entropy\n  optimizer sgd lr 0.1\n  batch 2\n}\n");
  compile(LINEAR, tmp("linear.mjs"));
  compile(CLASSES, tmp("classes.mjs"));
  writeFileSync(tmp("linear.json"), JSON.stringify({ x: [[1, 2, 3], [0.5, -1, 2], [2, 0, 1]], y: [[1], [0], [2]] }));
});

const linear = (args: readonly string[]): Run => node([tmp("linear.mjs"), ...args]);

/** A file that must keep these exact contents. */
function goodFile(name: string): string {
  const path = tmp(name);
  writeFileSync(path, GOOD);
  return path;
}

describe("non-finite input is refused at load time (rule 1)", () => {
  it("1e999 in JSON data: dlc's message, exit 2, --save untouched; run prints nothing", () => {
    writeFileSync(tmp("huge.json"), '{"x": [[1, 2, 1e999]], "y": [[1]]}');
    const save = goodFile("keep1.json");
    const mine = linear(["train", "--data", "huge.json", "--save", save]);
    const theirs = dlc(["train", LINEAR, "--data", "huge.json", "--save", save]);
    expect(mine.stderr).toBe("linear.mjs: huge.json:1:15: malformed JSON: a number too large for float64\n");
    expect(mine.stderr.replace("linear.mjs", "dlc")).toBe(theirs.stderr);
    expect(mine.code).toBe(2);
    expect(readFileSync(save, "utf8")).toBe(GOOD);
    const run = linear(["run", "--data", "huge.json", "--weights", save]);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe("");
  });

  it("the JSON reader refuses numbers past float64 and nesting past 512, at the line and column", () => {
    const deep = (n: number): string => `${"[".repeat(n)}1${"]".repeat(n)}`;
    const messageOf = (text: string): string => {
      try {
        parseJson(text, "f.json");
        return "accepted";
      } catch (e) {
        return (e as Error).message;
      }
    };
    const tooLarge = (column: number): string => `f.json:1:${column}: malformed JSON: a number too large for float64`;
    const tooDeep = (column: number): string => `f.json:1:${column}: malformed JSON: nested too deeply`;
    // Columns are 1-based: '{"a": ' is 6 characters, so the number starts at column 7.
    expect(messageOf('{"a": 1e999}')).toBe(tooLarge(7));
    expect(messageOf('{"a": [0, -2e308]}')).toBe(tooLarge(11));
    expect(messageOf(`{"a": 1${"0".repeat(309)}}`)).toBe(tooLarge(7));
    // The largest double is fine, and 1e-999 is 0 (underflow is not an error).
    expect(messageOf('{"a": 1.7976931348623157e308, "b": 1e-999}')).toBe("accepted");
    // 512 levels are allowed: with 513 brackets the number inside (column 514) is one too deep;
    // with 514 the 514th bracket (column 514) is; inside one more array, its 513th (column 514).
    expect(messageOf(deep(512))).toBe("accepted");
    expect(messageOf(deep(513))).toBe(tooDeep(514));
    expect(messageOf(deep(514))).toBe(tooDeep(514));
    expect(messageOf(`[${deep(600)}, "x"]`)).toBe(tooDeep(514));
  });

  it("a float IDX file holding NaN: refused naming sample and value, --save untouched", () => {
    // 2 samples of 3 float32 values, the second sample's third value NaN; labels beside it.
    const images = Buffer.alloc(4 + 8 + 24);
    images.set([0, 0, 0x0d, 2]);
    images.writeUInt32BE(2, 4);
    images.writeUInt32BE(3, 8);
    [1, 2, 3, 4, 5, NaN].forEach((v, i) => images.writeFloatBE(v, 12 + 4 * i));
    writeFileSync(tmp("nan-images-idx2-float"), images);
    const labels = Buffer.from([0, 0, 0x08, 1, 0, 0, 0, 2, 1, 0]);
    writeFileSync(tmp("nan-labels-idx1-float"), labels);
    const save = goodFile("keep2.json");
    const r = linear(["train", "--data", "nan-images-idx2-float", "--save", save]);
    expect(r.stderr).toBe("linear.mjs: nan-images-idx2-float: sample 1, value 2 is NaN; data must be finite numbers\n");
    expect(r.code).toBe(2);
    expect(readFileSync(save, "utf8")).toBe(GOOD);
  });

  it("through the API: Infinity in an {x, y} object is refused, naming where", async () => {
    const mod = await import(pathToFileURL(tmp("linear.mjs")).href);
    expect(() => mod.readData({ x: [[1, Infinity, 3]], y: [[1]] }, { file: "mem" })).toThrow("sample 0 of mem: x[0][1] is Infinity, not a finite number");
    expect(() => mod.readData({ x: [[1, 2, 3]], y: [NaN] }, { file: "mem", needTargets: true })).toThrow("mem: y[0] is NaN, not a finite number");
  });
});

describe("divergence (rule 2), saving nothing without a good batch (rule 3)", () => {
  it("the rule: NaN/∞ loss, a loss above 10⁴ × max(1, L0), a weight NaN, ∞ or beyond float32", () => {
    const weights = [
      { name: "a.kernel", shape: [2], offset: 0, size: 2 },
      { name: "a.bias", shape: [3], offset: 2, size: 3 },
    ];
    const model = (values: number[]) => ({ w: Float64Array.from(values) });
    const fine = model([1, -2, 3, 4, 5]);
    const watch = new DivergenceWatch();
    expect(watch.check(Infinity, fine, weights)).toEqual({ reason: "loss", loss: Infinity });
    // The first good batch sets L0 = 0.5: the limit is 10⁴ × max(1, 0.5) = 10⁴.
    expect(watch.check(0.5, fine, weights)).toBeUndefined();
    expect(watch.check(EXPLOSION_FACTOR, fine, weights)).toBeUndefined();
    expect(watch.check(10000.001, fine, weights)).toEqual({ reason: "exploded", loss: 10000.001, firstLoss: 0.5 });
    expect(watch.check(NaN, fine, weights)?.reason).toBe("loss");
    const big = new DivergenceWatch();
    expect(big.check(3, fine, weights)).toBeUndefined();
    expect(big.check(29999, fine, weights)).toBeUndefined();
    expect(big.check(30001, fine, weights)?.reason).toBe("exploded");
    // Weights: float32's largest value passes, anything beyond it (or NaN, ±∞) names its weight.
    expect(big.check(1, model([FLOAT32_MAX, -FLOAT32_MAX, 0, 0, 0]), weights)).toBeUndefined();
    expect(big.check(1, model([0, 0, 0, 0, -3.5e38]), weights)).toEqual({ reason: "weight", loss: 1, weight: "a.bias", value: -3.5e38 });
    expect(big.check(1, model([0, NaN, 0, 0, 0]), weights)).toMatchObject({ weight: "a.kernel" });
    expect(big.check(1, model([0, 0, 0, -Infinity, 0]), weights)).toMatchObject({ weight: "a.bias", value: -Infinity });
  });

  it("--lr 1e6 on a cross-entropy net: the loss explodes, exit 1, the last good weights saved (finite, within float32)", () => {
    const xs = Array.from({ length: 8 }, (_, i) => [Math.sin(i), Math.cos(i), i / 8, 1 - i / 8]);
    writeFileSync(tmp("classes.json"), JSON.stringify({ x: xs, y: xs.map((_, i) => i % 3) }));
    const save = tmp("classes-out.json");
    const r = node([tmp("classes.mjs"), "train", "--data", "classes.json", "--lr", "1e6", "--epochs", "20", "--save", save, "--json"]);
    expect(r.code).toBe(1);
    const m = /^classes\.mjs: the loss exploded to (\S+), more than 10000 × the first batch's (\S+) at epoch \d+, batch \d+; training stopped and undid that batch, so the weights are the last good ones \(try a smaller --lr, or scale the data\)$/m.exec(r.stderr);
    expect(m, r.stderr).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThan(1e4 * Math.max(1, Number(m![2])));
    expect(r.stderr).toContain(`saved weights to ${save}`);
    const saved = Object.values(JSON.parse(readFileSync(save, "utf8")) as Record<string, unknown>).flat(3) as number[];
    expect(saved.length).toBe(15);
    for (const v of saved) expect(Math.abs(v)).toBeLessThanOrEqual(FLOAT32_MAX);
  });

  it("a run that diverges at its first batch saves nothing and says so", () => {
    writeFileSync(tmp("inf-loss.json"), JSON.stringify({ x: [[1.7e308, 1.7e308, 0]], y: [[1]] }));
    const save = goodFile("keep3.json");
    const r = linear(["train", "--data", "inf-loss.json", "--weights", save, "--save", save]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `linear.mjs: the loss became Infinity at epoch 1, batch 1; training stopped and undid that batch, before any batch trained well, so nothing was saved: ${save} is unchanged (try a smaller --lr, or scale the data)\n`,
    );
    expect(readFileSync(save, "utf8")).toBe(GOOD);
    const fresh = tmp("never-written.json");
    expect(linear(["train", "--data", "inf-loss.json", "--save", fresh]).code).toBe(1);
    expect(existsSync(fresh)).toBe(false);
  });
});

describe("run on non-finite outputs (rule 4), --dtype (rule 5)", () => {
  it("outputs that overflow: printed (null in JSON, still valid JSON), then exit 1 with a message", () => {
    writeFileSync(tmp("huge-weights.json"), JSON.stringify({ "dense1.kernel": [[1e300], [1e300], [0]], "dense1.bias": [0] }));
    writeFileSync(tmp("two.json"), JSON.stringify({ x: [[1, 2, 3], [1e10, 1e10, 0]] }));
    const r = linear(["run", "--data", "two.json", "--weights", "huge-weights.json", "--json"]);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toEqual({ outputs: [[3e300], [null]] });
    expect(r.stderr).toBe("linear.mjs: sample 1's output is not finite (NaN or infinite, printed as null): the weights or the data are out of range for this network\n");
  });

  it("--dtype f64 saves F64 safetensors holding the exact weights of a JSON save; --dtype needs a .safetensors --save", () => {
    const args = ["train", "--data", "linear.json", "--weights", goodFile("init.json"), "--epochs", "2"];
    expect(linear([...args, "--save", "t.json"]).code).toBe(0);
    expect(linear([...args, "--save", "t.safetensors", "--dtype", "f64"]).code).toBe(0);
    const bytes = readFileSync(tmp("t.safetensors"));
    const headerLength = Number(bytes.readBigUInt64LE(0));
    const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString()) as Record<string, { dtype: string; data_offsets: [number, number] }>;
    const exact = JSON.parse(readFileSync(tmp("t.json"), "utf8")) as Record<string, unknown>;
    for (const [name, value] of Object.entries(exact)) {
      expect(header[name]!.dtype).toBe("F64");
      const [begin, end] = header[name]!.data_offsets;
      const data = new Float64Array(bytes.buffer.slice(bytes.byteOffset + 8 + headerLength + begin, bytes.byteOffset + 8 + headerLength + end));
      expect(Array.from(data)).toEqual([value].flat(2));
    }
    expect(linear([...args, "--save", "t.json", "--dtype", "f64"])).toMatchObject({ code: 2, stderr: "linear.mjs: --dtype chooses the number type of a .safetensors save; t.json is JSON, which always holds the exact float64 weights\n" });
    expect(linear([...args, "--save", "t.safetensors", "--dtype", "f16"])).toMatchObject({ code: 2, stderr: "error: option '--dtype <type>' argument 'f16' is invalid. Allowed choices are f32, f64.\n" });
  });
});

describe("Ctrl-C (rule 6) and stale temporary files (rule 7)", () => {
  /** Node options that make the module's fsync of the temporary file wait `ms` after saying "test: saving". */
  function slowSave(ms: number): string[] {
    const preload = tmp("slow-fsync.cjs");
    writeFileSync(
      preload,
      `const fs = require("node:fs");
const fsync = fs.fsyncSync;
fs.fsyncSync = (fd) => { process.stderr.write("test: saving\\n"); Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ${ms}); fsync(fd); fs.fsyncSync = fsync; require("node:module").syncBuiltinESMExports(); };
require("node:module").syncBuiltinESMExports();
`,
    );
    return ["--require", preload];
  }

  /** Starts `node ARGS`, sends SIGINT each time stderr or stdout shows `when`, resolves when it ends. */
  function interrupt(args: readonly string[], when: RegExp, presses: number): Promise<Run & { signal: NodeJS.Signals | null }> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, args, { cwd: dir, env: { ...process.env, NO_COLOR: "1" } });
      let stdout = "";
      let stderr = "";
      let sent = 0;
      const look = (): void => {
        if (sent === 0 && when.test(stdout + stderr)) {
          for (; sent < presses; sent++) child.kill("SIGINT");
        }
      };
      child.stdout.on("data", (d: Buffer) => {
        stdout += d.toString();
        look();
      });
      child.stderr.on("data", (d: Buffer) => {
        stderr += d.toString();
        look();
      });
      child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
    });
  }

  it("a Ctrl-C during training stops after the batch, saves, exits 130", async () => {
    const save = tmp("stopped.json");
    const r = await interrupt([tmp("linear.mjs"), "train", "--data", "linear.json", "--epochs", "100000000", "--save", save], /^epoch 1\//m, 1);
    expect(r.code).toBe(130);
    expect(r.stderr).toMatch(/stopping after this batch[^\n]*\ninterrupted in epoch \d+\nsaved weights to /);
    expect(Object.keys(JSON.parse(readFileSync(save, "utf8")) as object)).toEqual(["dense1.kernel", "dense1.bias"]);
  });

  it("Ctrl-C twice during the write: the write completes, no temporary file, exit 130 (not death by SIGINT)", async () => {
    mkdirSync(tmp("ctrlc"));
    const save = join(tmp("ctrlc"), "w.json");
    writeFileSync(save, GOOD);
    const r = await interrupt([...slowSave(1500), tmp("linear.mjs"), "train", "--data", "linear.json", "--save", save], /test: saving/, 2);
    expect(r.signal).toBeNull();
    expect(r.code).toBe(130);
    expect(r.stderr).toContain("interrupted while saving: finishing the write first…");
    expect(r.stderr).toContain(`saved weights to ${save}`);
    expect(readdirSync(tmp("ctrlc"))).toEqual(["w.json"]);
    expect(readFileSync(save, "utf8")).not.toBe(GOOD);
  });

  it("a save removes the temporary files of its target left by dead processes, and nothing else", () => {
    mkdirSync(tmp("stale"));
    const dead = spawnSync(process.execPath, ["-e", "0"]).pid!;
    const live = process.pid;
    const names = [`.w.json.${dead}.k2j4h1.tmp`, `.w.json.${live}.a1b2c3.tmp`, `.other.json.${dead}.zz9.tmp`, `.w.json.5.${dead}.x1.tmp`, "w.json"];
    for (const n of names) writeFileSync(join(tmp("stale"), n), "x");
    expect(linear(["train", "--data", "linear.json", "--save", join(tmp("stale"), "w.json")]).code).toBe(0);
    expect(readdirSync(tmp("stale")).sort()).toEqual(names.slice(1).sort());
  });
});

describe("reads with a cap (item 10)", () => {
  it("a FIFO or a device as --data or --weights is refused, not read", () => {
    const fifo = tmp("fifo");
    expect(spawnSync("mkfifo", [fifo]).status).toBe(0);
    expect(linear(["train", "--data", fifo])).toMatchObject({ code: 2, stderr: `linear.mjs: cannot read the data file ${fifo}: it is a FIFO (named pipe), not a regular file; dlc reads only regular files\n` });
    const weightsFifo = tmp("fifo.json");
    expect(spawnSync("mkfifo", [weightsFifo]).status).toBe(0);
    expect(linear(["run", "--data", "linear.json", "--weights", weightsFifo]).stderr).toBe(`linear.mjs: cannot read the weights file ${weightsFifo}: it is a FIFO (named pipe), not a regular file; dlc reads only regular files\n`);
    expect(linear(["train", "--data", "/dev/zero"]).stderr).toBe("linear.mjs: cannot read the data file /dev/zero: it is a character device, not a regular file; dlc reads only regular files\n");
  });

  it("a gzip'd IDX file is inflated no further than its header declares", () => {
    // A 28x28 image declared, followed by 64 MiB of zeros: a few dozen kB compressed.
    const header = Buffer.from([0, 0, 0x08, 3, 0, 0, 0, 1, 0, 0, 0, 28, 0, 0, 0, 28]);
    const bomb = gzipSync(Buffer.concat([header, Buffer.alloc(64 * 2 ** 20)]));
    expect(bomb.length).toBeLessThan(200_000);
    writeFileSync(tmp("bomb-images-idx3-ubyte.gz"), bomb);
    const r = linear(["run", "--data", "bomb-images-idx3-ubyte.gz", "--weights", goodFile("w-bomb.json")]);
    expect(r.stderr).toBe("linear.mjs: bomb-images-idx3-ubyte.gz: refused: it inflates to more than 800 bytes, the size its IDX header declares\n");
    expect(r.code).toBe(2);
  });
});

describe("generated code holds no </script>, <script or <!-- (item 12)", () => {
  const hostile = "a</script><!--<SCRIPT>`${x}`*/\u2028\u2029'\"\\";

  it("literal() and commentText() keep them out, and a literal still holds the text exactly", () => {
    for (const text of [hostile, "</ScRiPt >", "<!-- -->", "x<script"]) {
      for (const out of [literal(text), commentText(text)]) {
        expect(out).not.toMatch(/<\/script|<script|<!--/i);
        expect(out).not.toMatch(/[\n\r\u2028\u2029]/);
      }
      expect(commentText(text)).not.toContain("*/");
      expect(JSON.parse(literal(text))).toBe(text);
      expect(new Function(`return ${literal(text)};`)()).toBe(text);
      // A file name in a `//# sourceMappingURL=` comment: one line, no `<`, the name once decoded.
      expect(urlInComment(text)).not.toMatch(/[<\n\r\u2028\u2029]/);
      expect(decodeURIComponent(urlInComment(text))).toBe(text);
    }
  });

  it("a .dl path full of them: the TS and JS modules hold none, run, and keep the path exactly", async () => {
    const folder = join(dir, "a</script><!--<SCRIPT>`${x}`*");
    mkdirSync(folder, { recursive: true });
    const dl = join(folder, "n\u2028'\"\\.dl");
    writeFileSync(dl, "network hostile {\n  input 3\n  dense 1 # </script><!--\n}\ntrain {\n  loss squared\n}\n");
    const relative = dl.slice(dir.length + 1);
    for (const out of ["hostile.ts", "hostile.mjs"]) {
      const r = dlc(["compile", relative, "-o", out]);
      expect(r.code, r.stderr).toBe(0);
      const code = readFileSync(tmp(out), "utf8");
      expect(code).not.toMatch(/<\/script|<script|<!--/i);
      expect(code).toContain("hostile");
    }
    const mod = await import(pathToFileURL(tmp("hostile.mjs")).href);
    expect(mod.NETWORK.source).toBe(relative);
    const r = node([tmp("hostile.mjs"), "train", "--data", "linear.json", "--epochs", "1"]);
    expect(r.code, r.stderr).toBe(0);
    expect(node([tmp("hostile.mjs"), "--help"]).stdout).toContain(`The network of ${relative}, compiled by dlc.`);
  });

  it("an -o name full of them: the sourceMappingURL comment stays one line without <, and names the map", () => {
    writeFileSync(tmp("plain.dl"), "network plain {\n  input 3\n  dense 1\n}\n");
    mkdirSync(tmp("o<"), { recursive: true });
    const out = "o</script><!--\nalert(1)\u2028.mjs";
    const r = dlc(["compile", "plain.dl", "-o", out]);
    expect(r.code, r.stderr).toBe(0);
    const code = readFileSync(tmp(out), "utf8");
    expect(code).not.toMatch(/<\/script|<script|<!--/i);
    const last = code.trimEnd().split("\n").at(-1)!;
    expect(last.startsWith("//# sourceMappingURL=")).toBe(true);
    expect(decodeURIComponent(last.slice("//# sourceMappingURL=".length))).toBe(`script><!--\nalert(1)\u2028.mjs.map`);
    expect(existsSync(tmp(`${out}.map`))).toBe(true);
  });
});

describe("long and hostile text in messages (item 13)", () => {
  it("deeply nested JSON data: dlc's short message, not the claimed shape at length", () => {
    writeFileSync(tmp("deep.json"), `{"x": [${"[".repeat(100_000)}1${"]".repeat(100_000)}], "y": [[1]]}`);
    const mine = linear(["train", "--data", "deep.json"]);
    expect(mine.stderr).toBe("linear.mjs: deep.json:1:519: malformed JSON: nested too deeply\n");
    expect(mine.stderr.replace("linear.mjs", "dlc")).toBe(dlc(["train", LINEAR, "--data", "deep.json"]).stderr);
  });

  it("a huge CSV field or JSON key is quoted cut to 200 characters", () => {
    writeFileSync(tmp("long.csv"), `1,2,3,1\n1,${"z".repeat(100_000)},3,1\n`);
    const csv = linear(["train", "--data", "long.csv"]);
    expect(csv.code).toBe(2);
    expect(csv.stderr).toBe(`linear.mjs: long.csv:2:3: field 2 is '${"z".repeat(200)}…', not a number\n`);
    writeFileSync(tmp("long-key.json"), JSON.stringify({ x: { [`k${"q".repeat(100_000)}`]: [] } }));
    const json = linear(["train", "--data", "long-key.json"]);
    expect(json.code).toBe(2);
    expect(json.stderr.length).toBeLessThan(600);
  });

  it("control characters in a file name are not sent to the terminal; long lines are cut", () => {
    const r = linear(["train", "--data", "no\x1b[31mred\x07.json"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("linear.mjs: cannot read the data file no\ufffd[31mred\ufffd.json: no such file or directory\n");
    const line = terminalText(`a${"b".repeat(5000)}c\nshort`);
    expect(line.split("\n")[1]).toBe("short");
    expect(line.split("\n")[0]!.length).toBeLessThan(1100);
    expect(line).toMatch(/^ab+ … \(4002 characters cut\) … b+c\n/);
  });
});
