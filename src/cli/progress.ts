import { visible } from "../diag/render.js";
import type { EpochReport } from "../interp/train.js";

export type ProgressMode = "bar" | "lines" | "json";

/** Progress of `dlc train`: a live bar on a terminal, plain lines otherwise, JSON lines with --json. */
export class Progress {
  private lastDraw = 0;

  constructor(
    private readonly mode: ProgressMode,
    private readonly epochs: number,
  ) {}

  static modeFor(json: boolean | undefined): ProgressMode {
    if (json) return "json";
    return process.stderr.isTTY ? "bar" : "lines";
  }

  batch(info: { epoch: number; batch: number; batches: number; samples: number; loss: number; seconds: number }): void {
    if (this.mode !== "bar") return;
    const now = Date.now();
    if (now - this.lastDraw < 100 && info.batch !== info.batches) return;
    this.lastDraw = now;
    const width = 24;
    const done = Math.round((info.batch / info.batches) * width);
    const bar = "=".repeat(Math.max(0, done - 1)) + (done > 0 ? ">" : "") + " ".repeat(width - done);
    const rate = info.seconds > 0 ? info.samples / info.seconds : 0;
    process.stderr.write(`\repoch ${info.epoch}/${this.epochs} [${bar}] ${info.batch}/${info.batches} loss ${info.loss.toFixed(4)} ${rate.toFixed(0)} samples/s\x1b[K`);
  }

  epoch(r: EpochReport): void {
    if (this.mode === "json") {
      process.stdout.write(JSON.stringify({ epoch: r.epoch, loss: r.loss, samples: r.samples, seconds: round(r.seconds), samplesPerSecond: round(r.samplesPerSecond) }) + "\n");
      return;
    }
    const line = `epoch ${r.epoch}/${this.epochs}  loss ${r.loss.toFixed(6)}  ${r.samplesPerSecond.toFixed(0)} samples/s  ${r.seconds.toFixed(2)} s`;
    if (this.mode === "bar") process.stderr.write(`\r${line}\x1b[K\n`);
    else process.stdout.write(line + "\n");
  }

  /** A message for the user that must not tangle with the bar. */
  note(message: string): void {
    if (this.mode === "bar") process.stderr.write("\r\x1b[K");
    process.stderr.write(visible(message) + "\n");
  }
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
