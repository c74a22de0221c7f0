import { terminalText } from "./errors.js";
import type { NodeProcessLike } from "./host.js";
import type { BatchReport, EpochReport } from "./public-types.js";

export type ProgressMode = "bar" | "lines" | "json";

/** The mode for a run: JSON lines with --json, a live bar when stdout and stderr are terminals, plain lines otherwise. */
export function progressMode(json: boolean | undefined, proc: NodeProcessLike): ProgressMode {
  if (json) return "json";
  return proc.stdout.isTTY && proc.stderr.isTTY ? "bar" : "lines";
}

/** The bar's width in characters. */
const BAR_WIDTH = 24;
/** The least time between two drawings of the bar (ms). */
const REDRAW_MS = 100;

/**
 * Progress as `dlc train` and a module's `train` show it (one printer for both). On a terminal a
 * bar per epoch on stderr (batches done, samples/s, running loss, the epoch's ETA), replaced by
 * the epoch's line on stdout when it ends; plain lines on stdout otherwise; with --json one
 * object per epoch on stdout and nothing else there. Messages (note) go to stderr.
 */
export class Progress {
  private lastDraw = 0;
  private drawn = false;

  constructor(
    private readonly mode: ProgressMode,
    private readonly epochs: number,
    private readonly proc: NodeProcessLike,
    /** Plain lines name the rate only where it changes (a schedule or warmup); JSON always carries it. */
    private readonly lrInLines = false,
  ) {}

  batch(info: BatchReport): void {
    if (this.mode !== "bar") return;
    const time = Date.now();
    if (time - this.lastDraw < REDRAW_MS && info.batch !== info.batches) return;
    this.lastDraw = time;
    this.drawn = true;
    this.proc.stderr.write(`\r${barLine(info, this.epochs)}\x1b[K`);
  }

  epoch(r: EpochReport): void {
    if (this.mode === "json") {
      this.proc.stdout.write(JSON.stringify(epochJson(r)) + "\n");
      return;
    }
    this.clearBar();
    this.proc.stdout.write(epochLine(this.lrInLines ? r : { ...r, lr: undefined }, this.epochs) + "\n");
  }

  /** A message for the user that must not tangle with the bar. */
  note(message: string): void {
    this.clearBar();
    this.proc.stderr.write(terminalText(message) + "\n");
  }

  private clearBar(): void {
    if (!this.drawn) return;
    this.drawn = false;
    this.proc.stderr.write("\r\x1b[K");
  }
}

/** `epoch 2/10 [=====>      ] 120/469  loss 0.2345  8123 samples/s  ETA 0:04`: the running epoch. */
export function barLine(info: BatchReport, epochs: number): string {
  const done = Math.round((info.batch / info.batches) * BAR_WIDTH);
  const bar = "=".repeat(Math.max(0, done - 1)) + (done > 0 ? ">" : "") + " ".repeat(BAR_WIDTH - done);
  const rate = info.seconds > 0 ? info.samples / info.seconds : 0;
  const eta = info.batch > 0 ? (info.seconds / info.batch) * (info.batches - info.batch) : Number.NaN;
  return `epoch ${info.epoch}/${epochs} [${bar}] ${info.batch}/${info.batches}  loss ${info.loss.toFixed(4)}  ${rate.toFixed(0)} samples/s  ETA ${clock(eta)}`;
}

/**
 * `epoch 1/3  loss 0.123456  acc 91.2%  val_loss 0.234567  val_acc 90.1%  lr 0.001  1234 samples/s  0.12 s`:
 * a finished epoch, with whichever of accuracy, validation loss and accuracy, and learning rate the report has.
 */
export function epochLine(r: EpochReport, epochs: number): string {
  const parts = [`epoch ${r.epoch}/${epochs}`, `loss ${r.loss.toFixed(6)}`];
  if (r.accuracy !== undefined) parts.push(`acc ${percent(r.accuracy)}`);
  if (r.valLoss !== undefined) parts.push(`val_loss ${r.valLoss.toFixed(6)}`);
  if (r.valAccuracy !== undefined) parts.push(`val_acc ${percent(r.valAccuracy)}`);
  if (r.lr !== undefined) parts.push(`lr ${Number(r.lr.toPrecision(4))}`);
  parts.push(`${r.samplesPerSecond.toFixed(0)} samples/s`, `${r.seconds.toFixed(2)} s`);
  return parts.join("  ");
}

/** The epoch's JSON object: epoch, loss, then whichever optional fields are present, then the counts and times (rounded to 1 ms). */
export function epochJson(r: EpochReport): Record<string, number> {
  const round = (x: number): number => Math.round(x * 1000) / 1000;
  const out: Record<string, number> = { epoch: r.epoch, loss: r.loss };
  if (r.accuracy !== undefined) out["accuracy"] = r.accuracy;
  if (r.valLoss !== undefined) out["valLoss"] = r.valLoss;
  if (r.valAccuracy !== undefined) out["valAccuracy"] = r.valAccuracy;
  if (r.lr !== undefined) out["lr"] = r.lr;
  out["samples"] = r.samples;
  out["seconds"] = round(r.seconds);
  out["samplesPerSecond"] = round(r.samplesPerSecond);
  return out;
}

/** A fraction as a percentage with one decimal: 0.912 → 91.2%. */
function percent(fraction: number): string {
  return `${(fraction * 100).toFixed(1)}%`;
}

/** Seconds as m:ss (h:mm:ss from an hour); `?` when unknown. */
function clock(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  const s = Math.round(seconds);
  const two = (n: number): string => String(n).padStart(2, "0");
  return s >= 3600 ? `${Math.floor(s / 3600)}:${two(Math.floor(s / 60) % 60)}:${two(s % 60)}` : `${Math.floor(s / 60)}:${two(s % 60)}`;
}
