// `node net.mjs train --checkpoint / --resume / --save-best`: the compiled module's command line
// writes and reads dlc train's checkpoint format (one implementation, runtime/checkpoint.ts).
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { dlc as dlcIn, type Run } from "./helpers/dlc-cli.js";

const dir = mkdtempSync(join(tmpdir(), "dlc-trainer-module-"));
const at = (name: string): string => join(dir, name);
const dlc = (args: string[]) => dlcIn(args, { env: { NO_COLOR: "1", XDG_CACHE_HOME: at("cache") } });

/** `node net.mjs ARGS`. */
function module(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [at("net.mjs"), ...args], { env: { ...process.env, NO_COLOR: "1" } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

// Momentum and dropout: a resumed run must restore the velocity and the dropout generator as well.
writeFileSync(at("net.dl"), "network tiny {\n  input 3\n  dense 5 relu\n  dropout 0.3\n  dense 3 softmax\n}\ntrain {\n  loss cross_entropy\n  optimizer sgd lr 0.1 momentum 0.9\n  batch 4\n}\n");
const xs = Array.from({ length: 14 }, (_, i) => [Math.sin(i), Math.cos(1.3 * i), (i % 5) / 5 - 0.4]);
const ys = xs.map((x) => (x[0]! + x[1]! > 0.3 ? 0 : x[2]! > 0 ? 1 : 2));
writeFileSync(at("data.json"), JSON.stringify({ x: xs, y: ys }));
writeFileSync(at("val.json"), JSON.stringify({ x: xs.slice(0, 5).map((x) => x.map((v) => -v)), y: ys.slice(0, 5) }));
const data = ["--data", at("data.json")];
const bytes = (name: string): Buffer => readFileSync(at(name));

describe("node net.mjs train: checkpoints, resume and --save-best as dlc train has them", () => {
  beforeAll(async () => {
    const compiled = await dlc(["compile", at("net.dl"), "--target", "js", "-o", at("net.mjs")]);
    expect(compiled.code, compiled.stderr).toBe(0);
    const whole = await module(["train", ...data, "--epochs", "3", "--save", at("whole.json")]);
    expect(whole.code, whole.stderr).toBe(0);
  });

  it("3 epochs equal 2 epochs with --checkpoint, then --resume to 3, bit for bit (sgd momentum, dropout)", async () => {
    const first = await module(["train", ...data, "--epochs", "2", "--checkpoint", at("m.ckpt")]);
    expect(first.code, first.stderr).toBe(0);
    const rest = await module(["train", ...data, "--epochs", "3", "--resume", at("m.ckpt"), "--save", at("m-resumed.json"), "--json"]);
    expect(rest.code, rest.stderr).toBe(0);
    expect(rest.stdout.trim().split("\n").map((l) => (JSON.parse(l) as { epoch: number }).epoch)).toEqual([3]);
    expect(bytes("m-resumed.json").equals(bytes("whole.json"))).toBe(true);
  });

  it("a checkpoint of dlc train's compiled f32 engine resumes in the module (and the module's in dlc train); the interpreter's is refused", async () => {
    const first = await dlc(["train", at("net.dl"), ...data, "--epochs", "2", "--checkpoint", at("d.ckpt")]);
    expect(first.code, first.stderr).toBe(0);
    const rest = await module(["train", ...data, "--epochs", "3", "--resume", at("d.ckpt"), "--save", at("d-resumed.json")]);
    expect(rest.code, rest.stderr).toBe(0);
    expect(bytes("d-resumed.json").equals(bytes("whole.json"))).toBe(true);
    const back = await dlc(["train", at("net.dl"), ...data, "--epochs", "3", "--resume", at("m.ckpt"), "--save", at("back.json")]);
    expect(back.code, back.stderr).toBe(0);
    expect(bytes("back.json").equals(bytes("whole.json"))).toBe(true);
    const interpreted = await dlc(["train", at("net.dl"), "--interpret", ...data, "--epochs", "2", "--checkpoint", at("i.ckpt")]);
    expect(interpreted.code, interpreted.stderr).toBe(0);
    const refused = await module(["train", ...data, "--epochs", "3", "--resume", at("i.ckpt")]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/i\.ckpt: a checkpoint of the interpreter engine; this run uses the compiled f32/);
  });

  it("a corrupt checkpoint is refused (exit 2) and nothing is overwritten: not the checkpoint, not --save", async () => {
    writeFileSync(at("corrupt.ckpt"), bytes("m.ckpt").subarray(0, 100));
    writeFileSync(at("kept.json"), "{}");
    const r = await module(["train", ...data, "--epochs", "3", "--resume", at("corrupt.ckpt"), "--checkpoint", at("corrupt.ckpt"), "--save", at("kept.json")]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^net\.mjs: .*corrupt\.ckpt: truncated safetensors file/);
    expect(r.stdout).toBe("");
    expect(bytes("corrupt.ckpt").equals(bytes("m.ckpt").subarray(0, 100))).toBe(true);
    expect(readFileSync(at("kept.json"), "utf8")).toBe("{}");
  });

  it("--save-best keeps the weights of the epoch with the lowest validation loss (equal to a run stopped there)", async () => {
    const r = await module(["train", ...data, "--epochs", "4", "--lr", "0.5", "--val", at("val.json"), "--save-best", at("best.json"), "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const losses = r.stdout.trim().split("\n").map((l) => (JSON.parse(l) as { valLoss: number }).valLoss);
    const best = losses.indexOf(Math.min(...losses)) + 1;
    const again = await module(["train", ...data, "--epochs", String(best), "--lr", "0.5", "--save", at("best-again.json")]);
    expect(again.code, again.stderr).toBe(0);
    expect(bytes("best.json").equals(bytes("best-again.json"))).toBe(true);
    const noVal = await module(["train", ...data, "--save-best", at("x.json")]);
    expect(noVal.code).toBe(2);
    expect(noVal.stderr).toMatch(/--save-best keeps the epoch with the lowest validation loss: it needs --val/);
  });
});
