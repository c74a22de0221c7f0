import type { EpochReport } from "./public-types.js";

/**
 * `--plot FILE.svg`: a training run's curves as a self-contained SVG (no fonts, scripts or links
 * to fetch): a loss panel (train and validation per epoch) and, when the run has accuracies, an
 * accuracy panel below it, sharing the epoch axis; ticks, labels and one legend. Values that are
 * missing, NaN or infinite leave a gap in their line. Every text is XML-escaped (the title comes
 * from a .dl file).
 */

const WIDTH = 640;
const LEFT = 72;
const RIGHT = 20;
const TOP = 70;
const PANEL_HEIGHT = 200;
/** From one panel's bottom to the next one's top: the x labels and the next panel's name. */
const PANEL_GAP = 64;
const BOTTOM = 48;
const TRAIN_COLOR = "#1f77b4";
const VALIDATION_COLOR = "#d62728";

/** One curve: its name in the legend, its colour and dash, and a value per epoch (undefined: none). */
interface Series {
  readonly name: string;
  readonly color: string;
  readonly dashed: boolean;
  readonly values: readonly (number | undefined)[];
}

/** A linear map from a value range onto pixels. */
interface Axis {
  readonly lo: number;
  readonly hi: number;
  readonly from: number;
  readonly to: number;
  readonly ticks: readonly number[];
  readonly label: (v: number) => string;
}

export function plotSvg(history: readonly EpochReport[], title: string): string {
  const epochs = history.map((r) => r.epoch);
  const lossSeries: Series[] = [{ name: "train loss", color: TRAIN_COLOR, dashed: false, values: history.map((r) => r.loss) }];
  if (history.some((r) => r.valLoss !== undefined)) lossSeries.push({ name: "validation loss", color: VALIDATION_COLOR, dashed: true, values: history.map((r) => r.valLoss) });
  const accuracySeries: Series[] = [];
  if (history.some((r) => r.accuracy !== undefined)) accuracySeries.push({ name: "train accuracy", color: TRAIN_COLOR, dashed: false, values: history.map((r) => r.accuracy) });
  if (history.some((r) => r.valAccuracy !== undefined)) accuracySeries.push({ name: "validation accuracy", color: VALIDATION_COLOR, dashed: true, values: history.map((r) => r.valAccuracy) });
  const panels = accuracySeries.length > 0 ? 2 : 1;
  const height = TOP + panels * PANEL_HEIGHT + (panels - 1) * PANEL_GAP + BOTTOM;
  const x = epochAxis(epochs);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" font-size="12">`,
    `<title>${escapeXml(title)}: training curves</title>`,
    `<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    `<text class="title" x="${WIDTH / 2}" y="24" text-anchor="middle" font-size="16" font-weight="bold">${escapeXml(shorten(title))}</text>`,
    legend(lossSeries.length > 1 || accuracySeries.length > 1),
  ];
  out.push(panel("loss", lossSeries, x, TOP, valueAxis(lossSeries, TOP, false), epochs));
  if (panels === 2) {
    const top = TOP + PANEL_HEIGHT + PANEL_GAP;
    out.push(panel("accuracy", accuracySeries, x, top, valueAxis(accuracySeries, top, true), epochs));
  }
  out.push("</svg>");
  return out.join("\n") + "\n";
}

/** A panel: its frame, grid and ticks, name, the x axis's label, and its series. */
function panel(name: string, series: readonly Series[], x: Axis, top: number, y: Axis, epochs: readonly number[]): string {
  const bottom = top + PANEL_HEIGHT;
  const out = [`<g class="panel" data-panel="${name}">`, `<text x="${LEFT}" y="${top - 8}" font-weight="bold">${name}</text>`];
  for (const v of y.ticks) {
    const py = fixed(scale(y, v));
    out.push(`<g class="y-tick"><line x1="${LEFT}" x2="${WIDTH - RIGHT}" y1="${py}" y2="${py}" stroke="#e5e5e5"/><line x1="${LEFT - 4}" x2="${LEFT}" y1="${py}" y2="${py}" stroke="#333333"/><text x="${LEFT - 8}" y="${py}" dy="0.35em" text-anchor="end">${escapeXml(y.label(v))}</text></g>`);
  }
  for (const v of x.ticks) {
    const px = fixed(scale(x, v));
    out.push(`<g class="x-tick"><line x1="${px}" x2="${px}" y1="${bottom}" y2="${bottom + 4}" stroke="#333333"/><text x="${px}" y="${bottom + 18}" text-anchor="middle">${escapeXml(x.label(v))}</text></g>`);
  }
  out.push(`<rect x="${LEFT}" y="${top}" width="${WIDTH - LEFT - RIGHT}" height="${PANEL_HEIGHT}" fill="none" stroke="#333333"/>`);
  out.push(`<text x="${(LEFT + WIDTH - RIGHT) / 2}" y="${bottom + 36}" text-anchor="middle">epoch</text>`);
  for (const s of series) {
    const points = epochs.map((e, i) => [e, s.values[i]] as const).filter((p): p is readonly [number, number] => p[1] !== undefined && Number.isFinite(p[1]));
    const dash = s.dashed ? ` stroke-dasharray="6 4"` : "";
    out.push(`<g class="series" data-series="${escapeXml(s.name)}" stroke="${s.color}" fill="${s.color}">`);
    // One line per run of consecutive epochs with values: a missing value leaves a gap.
    for (const run of runsOf(epochs, s.values)) {
      if (run.length > 1) out.push(`<polyline fill="none" stroke-width="2"${dash} points="${run.map(([e, v]) => `${fixed(scale(x, e))},${fixed(scale(y, v))}`).join(" ")}"/>`);
    }
    for (const [e, v] of points) out.push(`<circle cx="${fixed(scale(x, e))}" cy="${fixed(scale(y, v))}" r="3"/>`);
    out.push("</g>");
  }
  if (!series.some((s) => s.values.some((v) => v !== undefined && Number.isFinite(v)))) {
    out.push(`<text x="${(LEFT + WIDTH - RIGHT) / 2}" y="${top + PANEL_HEIGHT / 2}" text-anchor="middle" fill="#777777">no finite values</text>`);
  }
  out.push("</g>");
  return out.join("\n");
}

/** Runs of consecutive reports whose value is finite, as [epoch, value] points. */
function runsOf(epochs: readonly number[], values: readonly (number | undefined)[]): (readonly [number, number])[][] {
  const runs: (readonly [number, number])[][] = [];
  let run: (readonly [number, number])[] = [];
  epochs.forEach((e, i) => {
    const v = values[i];
    if (v !== undefined && Number.isFinite(v)) run.push([e, v]);
    else {
      if (run.length > 0) runs.push(run);
      run = [];
    }
  });
  if (run.length > 0) runs.push(run);
  return runs;
}

/** The legend under the title: train (solid) and, when there is any, validation (dashed), as in both panels. */
function legend(validation: boolean): string {
  const entries = [["train", TRAIN_COLOR, ""], ...(validation ? [["validation", VALIDATION_COLOR, ` stroke-dasharray="6 4"`]] : [])];
  const out = [`<g class="legend">`];
  entries.forEach(([name, color, dash], i) => {
    const at = LEFT + i * 130;
    out.push(`<line x1="${at}" x2="${at + 24}" y1="44" y2="44" stroke="${color}" stroke-width="2"${dash}/><circle cx="${at + 12}" cy="44" r="3" fill="${color}"/><text x="${at + 30}" y="44" dy="0.35em">${name}</text>`);
  });
  out.push("</g>");
  return out.join("");
}

/** The epoch axis: the run's epochs (one epoch: centred), whole-number ticks. */
function epochAxis(epochs: readonly number[]): Axis {
  const finite = epochs.filter((e) => Number.isFinite(e));
  let lo = finite.length > 0 ? Math.min(...finite) : 1;
  let hi = finite.length > 0 ? Math.max(...finite) : 1;
  if (hi === lo) {
    lo -= 0.5;
    hi += 0.5;
  }
  const step = Math.max(1, niceStep((hi - lo) / 8));
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + 1e-9; t += step) ticks.push(t);
  return { lo, hi, from: LEFT, to: WIDTH - RIGHT, ticks, label: (v) => String(v) };
}

/**
 * A panel's value axis over its series' finite values and a 5% margin, widened to whole tick
 * steps (1, 2 or 5 × 10^k); a constant series gets room around it. Accuracies stay within 0 … 100% and are
 * labelled in percent.
 */
function valueAxis(series: readonly Series[], top: number, accuracy: boolean): Axis {
  const values = series.flatMap((s) => s.values).filter((v): v is number => v !== undefined && Number.isFinite(v));
  let lo = values.length > 0 ? Math.min(...values) : 0;
  let hi = values.length > 0 ? Math.max(...values) : 1;
  if (hi === lo) {
    const room = Math.abs(lo) * 0.1 || (accuracy ? 0.05 : 1);
    lo -= room;
    hi += room;
  }
  // A margin, so that the extremes' markers sit inside the frame rather than on it.
  const margin = (hi - lo) * 0.05;
  lo -= margin;
  hi += margin;
  const step = niceStep((hi - lo) / 5);
  lo = Math.floor(lo / step + 1e-9) * step;
  hi = Math.ceil(hi / step - 1e-9) * step;
  if (accuracy) {
    lo = Math.max(0, lo);
    hi = Math.min(1, hi);
  }
  const decimals = Math.max(0, Math.ceil(-Math.log10(step) - 1e-9));
  const ticks: number[] = [];
  for (let k = Math.ceil(lo / step - 1e-9); k * step <= hi + step * 1e-9; k++) ticks.push(Number((k * step).toFixed(Math.min(20, decimals + 2))));
  const label = accuracy ? (v: number) => `${(v * 100).toFixed(Math.max(0, decimals - 2))}%` : (v: number) => (decimals > 6 ? v.toExponential(2) : v.toFixed(decimals));
  return { lo, hi, from: top + PANEL_HEIGHT, to: top, ticks, label };
}

/** The smallest 1, 2 or 5 × 10^k at least `raw`. */
function niceStep(raw: number): number {
  if (!(raw > 0) || !Number.isFinite(raw)) return 1;
  const power = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (m * power >= raw * (1 - 1e-9)) return m * power;
  return 10 * power;
}

function scale(a: Axis, v: number): number {
  return a.from + ((v - a.lo) / (a.hi - a.lo)) * (a.to - a.from);
}

/** A coordinate with two decimals (well under a pixel). */
function fixed(v: number): string {
  return String(Math.round(v * 100) / 100);
}

/** A long title cut in the middle, so that it fits the picture. */
function shorten(title: string): string {
  return title.length <= 80 ? title : `${title.slice(0, 39)}…${title.slice(-40)}`;
}

/**
 * Text for XML content and attribute values: the five special characters as entities, and
 * characters XML 1.0 does not allow (control characters, lone surrogates) as U+FFFD.
 */
export function escapeXml(text: string): string {
  return text
    .replace(/[\ud800-\udbff][\udc00-\udfff]|[\u0000-\u0008\u000b\u000c\u000e-\u001f\ud800-\udfff\ufffe\uffff]/g, (c) => (c.length === 2 ? c : "\ufffd"))
    .replace(/[&<>"']/g, (c) => `&${{ "&": "amp", "<": "lt", ">": "gt", '"': "quot", "'": "apos" }[c]!};`);
}
