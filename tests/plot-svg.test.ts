/**
 * The --plot SVG (src/codegen/runtime/plot-svg.ts): well-formed, self-contained XML (parsed by a
 * strict parser, helpers/xml.ts); every plotted point maps back, through the axes' own tick
 * marks and labels, to the epoch and value it came from within a pixel; a hostile title is
 * escaped; one epoch, missing validation, NaN values and constant series still draw sensibly.
 */
import { describe, expect, it } from "vitest";
import { plotSvg } from "../src/codegen/runtime/plot-svg.js";
import type { EpochReport } from "../src/codegen/runtime/public-types.js";
import { findAll, parseXml, textOf, type XmlElement } from "./helpers/xml.js";

function report(epoch: number, fields: Partial<EpochReport>): EpochReport {
  return { epoch, loss: Number.NaN, samples: 100, seconds: 1, samplesPerSecond: 100, ...fields };
}

const HISTORY: EpochReport[] = [
  report(1, { loss: 2.3, accuracy: 0.11, valLoss: 2.1, valAccuracy: 0.2 }),
  report(2, { loss: 0.9, accuracy: 0.7, valLoss: 0.95, valAccuracy: 0.68 }),
  report(3, { loss: 0.41, accuracy: 0.88, valLoss: 0.5, valAccuracy: 0.86 }),
  report(4, { loss: 0.25, accuracy: 0.93, valLoss: 0.4, valAccuracy: 0.9 }),
  report(5, { loss: 0.17, accuracy: 0.957, valLoss: 0.38, valAccuracy: 0.915 }),
];

const byClass = (root: XmlElement, cls: string): XmlElement[] => findAll(root, (e) => e.attributes["class"] === cls);
const panelOf = (root: XmlElement, name: string): XmlElement | undefined => findAll(root, (e) => e.attributes["data-panel"] === name)[0];
const seriesOf = (root: XmlElement, name: string): XmlElement | undefined => findAll(root, (e) => e.attributes["data-series"] === name)[0];

/** A tick label's value: a number, or a percentage as a fraction. */
function tickValue(label: string): number {
  return label.endsWith("%") ? Number(label.slice(0, -1)) / 100 : Number(label);
}

/** The pixel → value map an axis's ticks define (from its first and last tick), and the value of one pixel. */
function axisFromTicks(ticks: readonly XmlElement[], coordinate: "x1" | "y1"): { value(px: number): number; perPixel: number } {
  const points = ticks.map((t) => ({ px: Number(findAll(t, (e) => e.name === "line")[0]!.attributes[coordinate]), v: tickValue(textOf(t)) }));
  expect(points.length).toBeGreaterThanOrEqual(2);
  for (const p of points) expect(Number.isFinite(p.px) && Number.isFinite(p.v)).toBe(true);
  const a = points[0]!;
  const b = points[points.length - 1]!;
  const slope = (b.v - a.v) / (b.px - a.px);
  return { value: (px) => a.v + (px - a.px) * slope, perPixel: Math.abs(slope) };
}

/** The series' points as drawn: (cx, cy) of its markers. */
function markers(series: XmlElement): { x: number; y: number }[] {
  return findAll(series, (e) => e.name === "circle").map((c) => ({ x: Number(c.attributes["cx"]), y: Number(c.attributes["cy"]) }));
}

/** Checks that a panel's series markers map back to the inputs' epochs and values within a pixel. */
function expectPointsMapBack(root: XmlElement, panel: string, series: Readonly<Record<string, readonly (readonly [number, number])[]>>): void {
  const p = panelOf(root, panel)!;
  expect(p).toBeDefined();
  const y = axisFromTicks(byClass(p, "y-tick"), "y1");
  const ticksX = byClass(p, "x-tick");
  const x = ticksX.length >= 2 ? axisFromTicks(ticksX, "x1") : undefined;
  for (const [name, expected] of Object.entries(series)) {
    const drawn = markers(seriesOf(p, name)!);
    expect(drawn.length, name).toBe(expected.length);
    drawn.forEach((d, i) => {
      const [epoch, value] = expected[i]!;
      if (x) expect(Math.abs(x.value(d.x) - epoch), `${name} epoch ${epoch}`).toBeLessThanOrEqual(x.perPixel);
      expect(Math.abs(y.value(d.y) - value), `${name} at epoch ${epoch}`).toBeLessThanOrEqual(y.perPixel);
    });
  }
}

const pairs = (key: keyof EpochReport, history = HISTORY): [number, number][] => history.filter((r) => r[key] !== undefined && Number.isFinite(r[key])).map((r) => [r.epoch, r[key] as number]);

describe("--plot: the training curves as SVG", () => {
  it("is well-formed, self-contained SVG with a title, a legend and two panels", () => {
    const svg = plotSvg(HISTORY, "lenet5");
    const root = parseXml(svg);
    expect(root.name).toBe("svg");
    expect(root.attributes["xmlns"]).toBe("http://www.w3.org/2000/svg");
    expect(svg).not.toMatch(/href|<script|<style|@import|url\(|<image|<foreignObject/i);
    expect(textOf(byClass(root, "title")[0]!)).toBe("lenet5");
    expect(findAll(byClass(root, "legend")[0]!, (e) => e.name === "text").map(textOf)).toEqual(["train", "validation"]);
    expect(findAll(root, (e) => e.attributes["data-panel"] !== undefined).map((e) => e.attributes["data-panel"])).toEqual(["loss", "accuracy"]);
  });

  it("plots every value where the axes' ticks say it is (within a pixel), lines through the markers", () => {
    const root = parseXml(plotSvg(HISTORY, "net"));
    expectPointsMapBack(root, "loss", { "train loss": pairs("loss"), "validation loss": pairs("valLoss") });
    expectPointsMapBack(root, "accuracy", { "train accuracy": pairs("accuracy"), "validation accuracy": pairs("valAccuracy") });
    const train = seriesOf(panelOf(root, "loss")!, "train loss")!;
    const line = findAll(train, (e) => e.name === "polyline")[0]!.attributes["points"]!.split(" ").map((p) => p.split(",").map(Number));
    expect(line).toEqual(markers(train).map((m) => [m.x, m.y]));
    // Accuracy ticks are percentages within 0 … 100%.
    const accuracyTicks = byClass(panelOf(root, "accuracy")!, "y-tick").map((t) => textOf(t));
    expect(accuracyTicks.every((t) => t.endsWith("%") && tickValue(t) >= 0 && tickValue(t) <= 1)).toBe(true);
  });

  it("escapes a hostile title (markup, quotes, ampersands, control characters)", () => {
    const title = `</title><script>alert("x")</script> & 'y' \u0001 <!-- ]]>`;
    const svg = plotSvg(HISTORY, title);
    const root = parseXml(svg);
    expect(findAll(root, (e) => e.name === "script")).toEqual([]);
    expect(textOf(byClass(root, "title")[0]!)).toBe(title.replace("\u0001", "\ufffd"));
    expect(textOf(findAll(root, (e) => e.name === "title")[0]!)).toContain(`<script>alert("x")</script>`);
  });

  it("draws one epoch as points inside the panel, on a tick of its epoch", () => {
    const one = [report(1, { loss: 0.7, valLoss: 0.8, accuracy: 0.5, valAccuracy: 0.45 })];
    const root = parseXml(plotSvg(one, "one"));
    for (const [panel, series] of [["loss", ["train loss", "validation loss"]], ["accuracy", ["train accuracy", "validation accuracy"]]] as const) {
      const p = panelOf(root, panel)!;
      const frame = findAll(p, (e) => e.name === "rect")[0]!.attributes;
      const xTicks = byClass(p, "x-tick");
      expect(xTicks.map(textOf)).toEqual(["1"]);
      const tickX = Number(findAll(xTicks[0]!, (e) => e.name === "line")[0]!.attributes["x1"]);
      for (const name of series) {
        const s = seriesOf(p, name)!;
        expect(findAll(s, (e) => e.name === "polyline")).toEqual([]);
        const [m] = markers(s);
        expect(m!.x).toBe(tickX);
        expect(m!.y).toBeGreaterThan(Number(frame["y"]));
        expect(m!.y).toBeLessThan(Number(frame["y"]) + Number(frame["height"]));
      }
    }
    expectPointsMapBack(root, "loss", { "train loss": [[1, 0.7]], "validation loss": [[1, 0.8]] });
  });

  it("without validation or accuracy: the train loss alone, one panel; a NaN loss leaves a gap", () => {
    const history = [report(1, { loss: 1 }), report(2, { loss: 0.5 }), report(3, { loss: Number.NaN }), report(4, { loss: 0.3 }), report(5, { loss: 0.2 })];
    const root = parseXml(plotSvg(history, "plain"));
    expect(findAll(byClass(root, "legend")[0]!, (e) => e.name === "text").map(textOf)).toEqual(["train"]);
    expect(panelOf(root, "accuracy")).toBeUndefined();
    expect(seriesOf(root, "validation loss")).toBeUndefined();
    expect(findAll(seriesOf(root, "train loss")!, (e) => e.name === "polyline")).toHaveLength(2);
    expectPointsMapBack(root, "loss", { "train loss": pairs("loss", history) });
    expect(plotSvg(history, "plain")).not.toMatch(/NaN|Infinity/);
  });

  it("accuracy without validation, validation loss with gaps, and a constant series", () => {
    const history = [report(1, { loss: 0.5, accuracy: 0.9 }), report(2, { loss: 0.5, accuracy: 0.9, valLoss: 0.6 }), report(3, { loss: 0.5, accuracy: 0.9 })];
    const svg = plotSvg(history, "flat");
    const root = parseXml(svg);
    expect(seriesOf(root, "validation accuracy")).toBeUndefined();
    expectPointsMapBack(root, "loss", { "train loss": pairs("loss", history), "validation loss": pairs("valLoss", history) });
    expectPointsMapBack(root, "accuracy", { "train accuracy": pairs("accuracy", history) });
    expect(svg).not.toMatch(/NaN|Infinity/);
  });

  it("a run with no finite loss at all still gives a well-formed picture saying so", () => {
    const root = parseXml(plotSvg([report(1, { loss: Number.NaN }), report(2, { loss: Number.POSITIVE_INFINITY })], "diverged"));
    expect(findAll(seriesOf(root, "train loss")!, (e) => e.name === "circle")).toEqual([]);
    expect(textOf(panelOf(root, "loss")!)).toContain("no finite values");
  });
});
