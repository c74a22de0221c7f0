import { terminalText } from "./errors.js";
import type { NodeProcessLike } from "./host.js";
import type { BatchReport, EpochReport } from "./public-types.js";

/** Progress as `dlc train` shows it: a live bar on a terminal, plain lines otherwise, JSON lines with --json. */
export class Progress {
  private lastDraw = 0;

  constructor(
    private readonly mode: "bar" | "lines" | "json",
    private readonly epochs: number,
    private readonly proc: NodeProcessLike,
  ) {}

  batch(info: BatchReport): void {
    if (this.mode !== "bar") return;
    const time = Date.now();
    if (time - this.lastDraw < 100 && info.batch !== info.batches) return;
    this.lastDraw = time;
    const width = 24;
    const done = Math.round((info.batch / info.batches) * width);
    const bar = "=".repeat(Math.max(0, done - 1)) + (done > 0 ? ">" : "") + " ".repeat(width - done);
    const rate = info.seconds > 0 ? info.samples / info.seconds : 0;
    this.proc.stderr.write(`\repoch ${info.epoch}/${this.epochs} [${bar}] ${info.batch}/${info.batches} loss ${info.loss.toFixed(4)} ${rate.toFixed(0)} samples/s\x1b[K`);
  }

  epoch(r: EpochReport): void {
    const round = (x: number): number => Math.round(x * 1000) / 1000;
    if (this.mode === "json") {
      const optional = { accuracy: r.accuracy, valLoss: r.valLoss, valAccuracy: r.valAccuracy, lr: r.lr };
      this.proc.stdout.write(JSON.stringify({ epoch: r.epoch, loss: r.loss, ...optional, samples: r.samples, seconds: round(r.seconds), samplesPerSecond: round(r.samplesPerSecond) }) + "\n");
      return;
    }
    const pct = (x: number): string => `${(100 * x).toFixed(2)}%`;
    const parts = [`epoch ${r.epoch}/${this.epochs}`, `loss ${r.loss.toFixed(6)}`];
    if (r.accuracy !== undefined) parts.push(`accuracy ${pct(r.accuracy)}`);
    if (r.valLoss !== undefined) parts.push(`val_loss ${r.valLoss.toFixed(6)}`);
    if (r.valAccuracy !== undefined) parts.push(`val_accuracy ${pct(r.valAccuracy)}`);
    parts.push(`${r.samplesPerSecond.toFixed(0)} samples/s`, `${r.seconds.toFixed(2)} s`);
    const line = parts.join("  ");
    if (this.mode === "bar") this.proc.stderr.write(`\r${line}\x1b[K\n`);
    else this.proc.stdout.write(line + "\n");
  }

  /** A message for the user that must not tangle with the bar. */
  note(message: string): void {
    if (this.mode === "bar") this.proc.stderr.write("\r\x1b[K");
    this.proc.stderr.write(terminalText(message) + "\n");
  }
}
