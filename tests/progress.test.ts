/**
 * The one progress printer (src/codegen/runtime/progress.ts) that `dlc train` and a module's
 * `train` command share: its three modes, the epoch line's optional fields and their JSON names,
 * and the terminal bar, written to a fake process's stdout and stderr.
 */
import { describe, expect, it } from "vitest";
import type { NodeProcessLike } from "../src/codegen/runtime/host.js";
import { Progress, progressMode } from "../src/codegen/runtime/progress.js";
import type { EpochReport } from "../src/codegen/runtime/public-types.js";

/** A process whose streams record what is written (isTTY as given). */
function fakeProcess(stdoutTTY: boolean, stderrTTY: boolean): NodeProcessLike & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    argv: [],
    pid: 1,
    versions: {},
    env: {},
    stdout: { isTTY: stdoutTTY, write: (t: string) => out.push(t), on: () => undefined },
    stderr: { isTTY: stderrTTY, write: (t: string) => err.push(t) },
    on: () => undefined,
    off: () => undefined,
    exit: () => {
      throw new Error("exit");
    },
    kill: () => undefined,
  };
}

const PLAIN: EpochReport = { epoch: 2, loss: 0.1234567, samples: 100, seconds: 0.5, samplesPerSecond: 200 };
const FULL: EpochReport = { ...PLAIN, accuracy: 0.912, valLoss: 0.25, valAccuracy: 0.875, lr: 0.00123456 };

describe("progress: one printer for dlc train and a module's train", () => {
  it("picks JSON with --json, a bar only when stdout and stderr are terminals, plain lines otherwise", () => {
    expect(progressMode(true, fakeProcess(true, true))).toBe("json");
    expect(progressMode(false, fakeProcess(true, true))).toBe("bar");
    expect(progressMode(undefined, fakeProcess(false, true))).toBe("lines");
    expect(progressMode(false, fakeProcess(true, false))).toBe("lines");
  });

  it("plain lines: the epoch line as before without the optional fields, and with each of them when present", () => {
    const proc = fakeProcess(false, false);
    const p = new Progress("lines", 3, proc);
    p.batch({ epoch: 2, batch: 1, batches: 4, samples: 25, loss: 0.2, seconds: 0.1 });
    p.epoch(PLAIN);
    p.epoch(FULL);
    p.epoch({ ...PLAIN, valLoss: 0.5 });
    // The rate shows in plain lines only where it changes (a schedule or warmup: the fourth argument).
    new Progress("lines", 3, proc, true).epoch(FULL);
    expect(proc.out).toEqual([
      "epoch 2/3  loss 0.123457  200 samples/s  0.50 s\n",
      "epoch 2/3  loss 0.123457  acc 91.2%  val_loss 0.250000  val_acc 87.5%  200 samples/s  0.50 s\n",
      "epoch 2/3  loss 0.123457  val_loss 0.500000  200 samples/s  0.50 s\n",
      "epoch 2/3  loss 0.123457  acc 91.2%  val_loss 0.250000  val_acc 87.5%  lr 0.001235  200 samples/s  0.50 s\n",
    ]);
    expect(proc.err).toEqual([]);
  });

  it("--json: one object per epoch on stdout under the issue's names, nothing else there (messages on stderr)", () => {
    const proc = fakeProcess(true, true);
    const p = new Progress("json", 3, proc);
    p.batch({ epoch: 2, batch: 1, batches: 4, samples: 25, loss: 0.2, seconds: 0.1 });
    p.epoch({ ...PLAIN, seconds: 0.12345 });
    p.note("saved weights to w.json");
    p.epoch(FULL);
    expect(proc.out.map((l) => JSON.parse(l) as unknown)).toEqual([
      { epoch: 2, loss: 0.1234567, samples: 100, seconds: 0.123, samplesPerSecond: 200 },
      { epoch: 2, loss: 0.1234567, accuracy: 0.912, valLoss: 0.25, valAccuracy: 0.875, lr: 0.00123456, samples: 100, seconds: 0.5, samplesPerSecond: 200 },
    ]);
    expect(proc.out.every((l) => l.endsWith("}\n") && l.indexOf("\n") === l.length - 1)).toBe(true);
    expect(proc.err).toEqual(["saved weights to w.json\n"]);
  });

  it("on a terminal: a bar per epoch on stderr (batches, running loss, samples/s, ETA), cleared before the epoch's line and before messages", () => {
    const proc = fakeProcess(true, true);
    const p = new Progress("bar", 10, proc);
    // 1 of 4 batches (25 of 100 samples) in 2 s: 12.5 samples/s, 3 batches left at 2 s each.
    p.batch({ epoch: 2, batch: 1, batches: 4, samples: 25, loss: 0.25, seconds: 2 });
    expect(proc.err).toEqual([`\repoch 2/10 [=====>${" ".repeat(18)}] 1/4  loss 0.2500  13 samples/s  ETA 0:06\x1b[K`]);
    // The last batch always draws (the first is throttled otherwise); a long epoch's ETA in h:mm:ss.
    p.batch({ epoch: 2, batch: 4, batches: 4, samples: 100, loss: 0.125, seconds: 8 });
    expect(proc.err[1]).toBe(`\repoch 2/10 [${"=".repeat(23)}>] 4/4  loss 0.1250  13 samples/s  ETA 0:00\x1b[K`);
    p.epoch(PLAIN);
    expect(proc.err[2]).toBe("\r\x1b[K");
    expect(proc.out).toEqual(["epoch 2/3  loss 0.123457  200 samples/s  0.50 s\n".replace("2/3", "2/10")]);
    p.note("interrupted in epoch 3");
    expect(proc.err.slice(3)).toEqual(["interrupted in epoch 3\n"]);
  });

  it("the bar's ETA in h:mm:ss from an hour, and ? before any time is known", () => {
    const proc = fakeProcess(true, true);
    new Progress("bar", 1, proc).batch({ epoch: 1, batch: 1, batches: 1000, samples: 10, loss: 1, seconds: 5 });
    expect(proc.err[0]).toContain("ETA 1:23:15");
    const idle = fakeProcess(true, true);
    new Progress("bar", 1, idle).batch({ epoch: 1, batch: 0, batches: 10, samples: 0, loss: 0, seconds: 0 });
    expect(idle.err[0]).toContain("0 samples/s  ETA ?");
  });

  it("messages have control characters made visible", () => {
    const proc = fakeProcess(false, false);
    new Progress("lines", 1, proc).note("saved weights to a\u001b[2Jb");
    expect(proc.err).toEqual(["saved weights to a\ufffd[2Jb\n"]);
  });
});
