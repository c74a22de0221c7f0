// dlc train's trainer: validation, checkpoints and resume, --save-best, and the bad inputs of
// each, on both engines (the compiled one from one module cache per file).
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { dlc as dlcIn } from "./helpers/dlc-cli.js";

const dir = mkdtempSync(join(tmpdir(), "dlc-trainer-"));
const cache = join(dir, "cache");
const at = (name: string): string => join(dir, name);
/** dlc with its compiled-module cache in this file's folder. */
const dlc = (args: string[]) => dlcIn(args, { env: { NO_COLOR: "1", XDG_CACHE_HOME: cache } });

const net = (optimizer: string, name = "tiny"): string => `network ${name} {\n  input 3\n  dense 5 relu\n  dropout 0.3\n  dense 3 softmax\n}\ntrain {\n  loss cross_entropy\n  optimizer ${optimizer}\n  batch 4\n}\n`;
writeFileSync(at("sgd.dl"), net("sgd lr 0.1 momentum 0.9"));
writeFileSync(at("adam.dl"), net("adam lr 0.01"));
writeFileSync(at("other.dl"), net("sgd lr 0.1 momentum 0.9", "other").replace("dense 5 relu", "dense 6 relu"));
const xs = Array.from({ length: 14 }, (_, i) => [Math.sin(i), Math.cos(1.3 * i), (i % 5) / 5 - 0.4]);
const ys = xs.map((x) => (x[0]! + x[1]! > 0.3 ? 0 : x[2]! > 0 ? 1 : 2));
writeFileSync(at("data.json"), JSON.stringify({ x: xs, y: ys }));
writeFileSync(at("val.json"), JSON.stringify({ x: xs.slice(0, 5).map((x) => x.map((v) => -v)), y: ys.slice(0, 5) }));
writeFileSync(at("wide.json"), JSON.stringify({ x: [[1, 2, 3, 4]], y: [0] }));

const train = (args: string[]) => dlc(["train", "--data", at("data.json"), ...args]);
const jsonLines = (stdout: string): Record<string, number>[] => stdout.trim().split("\n").map((l) => JSON.parse(l) as Record<string, number>);
const weightsOf = (path: string): unknown => JSON.parse(readFileSync(path, "utf8"));

describe("--checkpoint / --resume: 3 epochs equal 2 epochs resumed to 3, bit for bit", () => {
  for (const engine of [["--interpret"], []]) {
    for (const optimizer of ["sgd", "adam"]) {
      it(`${optimizer} (momentum / moments), ${engine.length ? "interpreter" : "compiled f32"}`, async () => {
        const tag = `${optimizer}${engine.length ? "-i" : "-c"}`;
        const file = at(`${optimizer}.dl`);
        const whole = await dlc(["train", file, "--data", at("data.json"), ...engine, "--epochs", "3", "--save", at(`${tag}-whole.json`), "--json"]);
        expect(whole.code, whole.stderr).toBe(0);
        const first = await dlc(["train", file, "--data", at("data.json"), ...engine, "--epochs", "2", "--checkpoint", at(`${tag}.ckpt`), "--json"]);
        expect(first.code, first.stderr).toBe(0);
        const rest = await dlc(["train", file, "--data", at("data.json"), ...engine, "--epochs", "3", "--resume", at(`${tag}.ckpt`), "--save", at(`${tag}-resumed.json`), "--json"]);
        expect(rest.code, rest.stderr).toBe(0);
        expect(jsonLines(rest.stdout).map((l) => l.epoch)).toEqual([3]);
        expect(jsonLines(rest.stdout)[0]!.loss).toBe(jsonLines(whole.stdout)[2]!.loss);
        expect(weightsOf(at(`${tag}-resumed.json`))).toEqual(weightsOf(at(`${tag}-whole.json`)));
      });
    }
  }
});

describe("validation", () => {
  it("--val-split: the last samples are held out; valLoss and valAccuracy are the saved weights' on them (checked with dlc run)", async () => {
    const r = await train([at("sgd.dl"), "--interpret", "--epochs", "2", "--val-split", "0.25", "--save", at("split.json"), "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const last = jsonLines(r.stdout).at(-1)!;
    // 14 samples: round(3.5) = 4 held out, 10 trained on.
    expect(last.samples).toBe(10);
    writeFileSync(at("held.json"), JSON.stringify({ x: xs.slice(10) }));
    const run = await dlc(["run", at("sgd.dl"), "--interpret", "--weights", at("split.json"), "--data", at("held.json"), "--json"]);
    expect(run.code, run.stderr).toBe(0);
    const outputs = (JSON.parse(run.stdout) as { outputs: number[][] }).outputs;
    const held = ys.slice(10);
    const loss = outputs.reduce((s, o, i) => s - Math.log(o[held[i]!]!), 0) / outputs.length;
    const right = outputs.filter((o, i) => o.indexOf(Math.max(...o)) === held[i]).length;
    expect(Math.abs(last.valLoss! - loss)).toBeLessThan(1e-12);
    expect(last.valAccuracy).toBe(right / outputs.length);
    expect(typeof last.accuracy).toBe("number");
    // Every JSON line names all the fields; lr without a schedule is the base rate (sgd.dl: 0.1).
    for (const line of jsonLines(r.stdout)) {
      expect(Object.keys(line).sort()).toEqual(["accuracy", "epoch", "loss", "lr", "samples", "samplesPerSecond", "seconds", "valAccuracy", "valLoss"]);
      expect(line.lr).toBe(0.1);
    }
  });

  it("--val on the compiled engine: loss and accuracy per epoch in plain lines too", async () => {
    const r = await train([at("sgd.dl"), "--epochs", "2", "--val", at("val.json")]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^epoch 2\/2 {2}loss \d\.\d{6} {2}acc \d+\.\d% {2}val_loss \d\.\d{6} {2}val_acc \d+\.\d% /m);
  });

  it("--schedule 'step 1 0.5' overrides the train block: the rate halves every epoch (lr in each JSON line); --patience stops early", async () => {
    const r = await train([at("sgd.dl"), "--interpret", "--epochs", "3", "--schedule", "step 1 0.5", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(jsonLines(r.stdout).map((l) => l.lr)).toEqual([0.1, 0.05, 0.025]);
    // At lr 2 the validation loss soon stops improving: patience 1 stops at the first epoch that does not improve it.
    const p = await train([at("sgd.dl"), "--interpret", "--epochs", "6", "--lr", "2", "--val", at("val.json"), "--patience", "1", "--json"]);
    const lines = jsonLines(p.stdout);
    const worse = lines.findIndex((l, i) => i > 0 && l.valLoss! >= Math.min(...lines.slice(0, i).map((x) => x.valLoss!)));
    expect(lines.length).toBe(worse + 1);
    expect(p.stderr).toMatch(/stopped early after epoch \d: the validation loss has not improved for 1 epochs/);
  });

  it("node net.mjs train --val (the same loop in the compiled module): the same epoch lines as dlc train's compiled engine", async () => {
    const compiled = await dlc(["compile", at("sgd.dl"), "--target", "js", "-o", at("sgd.mjs")]);
    expect(compiled.code, compiled.stderr).toBe(0);
    const args = ["--data", at("data.json"), "--epochs", "2", "--val", at("val.json"), "--json"];
    const mine = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [at("sgd.mjs"), "train", ...args]);
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
      child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      child.on("close", (code) => resolve({ code, stdout, stderr }));
    });
    expect(mine.code, mine.stderr).toBe(0);
    const theirs = await dlc(["train", at("sgd.dl"), ...args]);
    const strip = (l: Record<string, number>) => ({ ...l, seconds: 0, samplesPerSecond: 0 });
    expect(jsonLines(mine.stdout).map(strip)).toEqual(jsonLines(theirs.stdout).map(strip));
    expect(jsonLines(mine.stdout)[1]!.valAccuracy).toBeTypeOf("number");
  });

  it("--save-best keeps the weights of the epoch with the lowest validation loss", async () => {
    const r = await train([at("adam.dl"), "--interpret", "--epochs", "4", "--lr", "0.3", "--val", at("val.json"), "--save-best", at("best.json"), "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const losses = jsonLines(r.stdout).map((l) => l.valLoss!);
    const best = losses.indexOf(Math.min(...losses)) + 1;
    const again = await train([at("adam.dl"), "--interpret", "--epochs", String(best), "--lr", "0.3", "--save", at("best-again.json")]);
    expect(again.code, again.stderr).toBe(0);
    expect(weightsOf(at("best.json"))).toEqual(weightsOf(at("best-again.json")));
  });
});

describe("bad input: a clear message, exit 2, nothing overwritten", () => {
  const keep = at("keep.json");
  const refused = async (args: string[], message: RegExp): Promise<void> => {
    writeFileSync(keep, "precious");
    const r = await train([...args, "--save", keep]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(readFileSync(keep, "utf8")).toBe("precious");
  };

  it("a validation file that does not fit the network", () => refused([at("sgd.dl"), "--val", at("wide.json")], /wide\.json.*(3|4)/));

  it("checkpoints of another network, another optimizer, a corrupt one; --resume past the last epoch", async () => {
    const ck = at("base.ckpt");
    const first = await train([at("sgd.dl"), "--interpret", "--epochs", "2", "--checkpoint", ck]);
    expect(first.code, first.stderr).toBe(0);
    await refused([at("other.dl"), "--interpret", "--epochs", "3", "--resume", ck], /a checkpoint of network 'tiny', not of 'other'/);
    await refused([at("adam.dl"), "--interpret", "--epochs", "3", "--resume", ck], /optimizer sgd; this run trains with adam/);
    await refused([at("sgd.dl"), "--epochs", "3", "--resume", ck], /a checkpoint of the interpreter engine; this run uses the compiled f32/);
    await refused([at("sgd.dl"), "--interpret", "--epochs", "2", "--resume", ck], /is at epoch 2, the last of this run's 2: nothing is left to train/);
    const bytes = readFileSync(ck);
    writeFileSync(at("cut.ckpt"), bytes.subarray(0, bytes.length - 10));
    await refused([at("sgd.dl"), "--interpret", "--epochs", "3", "--resume", at("cut.ckpt")], /cut\.ckpt/);
    writeFileSync(at("weights-only.safetensors"), bytes);
    await refused([at("sgd.dl"), "--interpret", "--epochs", "3", "--resume", at("data.json")], /data\.json/);
  });
});
