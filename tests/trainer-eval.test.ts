// dlc eval: loss, accuracy (top-k) and the confusion matrix, checked against the outputs dlc run
// prints for the same weights (computed here by hand); and its mistakes.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { dlc as dlcIn } from "./helpers/dlc-cli.js";

const dir = mkdtempSync(join(tmpdir(), "dlc-eval-"));
const at = (name: string): string => join(dir, name);
const dlc = (args: string[]) => dlcIn(args, { env: { NO_COLOR: "1", XDG_CACHE_HOME: at("cache") } });

writeFileSync(at("net.dl"), "network tiny {\n  input 3\n  dense 5 relu\n  dense 4 softmax\n}\ntrain {\n  loss cross_entropy\n  optimizer sgd lr 0.2\n  batch 4\n}\n");
const xs = Array.from({ length: 16 }, (_, i) => [Math.sin(i), Math.cos(1.7 * i), (i % 3) - 1]);
const ys = xs.map((_, i) => i % 4);
writeFileSync(at("data.json"), JSON.stringify({ x: xs, y: ys }));
writeFileSync(at("x.json"), JSON.stringify({ x: xs }));

describe("dlc eval", () => {
  for (const engine of [["--interpret"], []]) {
    it(`loss, accuracy, top-2 and the confusion matrix equal dlc run's outputs scored by hand (${engine.length ? "interpreter" : "compiled"})`, async () => {
      const trained = await dlc(["train", at("net.dl"), "--interpret", "--data", at("data.json"), "--epochs", "3", "--save", at("w.json")]);
      expect(trained.code, trained.stderr).toBe(0);
      const run = await dlc(["run", at("net.dl"), ...engine, "--weights", at("w.json"), "--data", at("x.json"), "--json"]);
      const outputs = (JSON.parse(run.stdout) as { outputs: number[][] }).outputs;
      const r = await dlc(["eval", at("net.dl"), ...engine, "--weights", at("w.json"), "--data", at("data.json"), "--top", "2", "--json"]);
      expect(r.code, r.stderr).toBe(0);
      const got = JSON.parse(r.stdout) as { loss: number; accuracy: number; topAccuracy: number; confusion: number[][]; samples: number };
      const loss = outputs.reduce((s, o, i) => s - Math.log(o[ys[i]!]!), 0) / outputs.length;
      const predicted = outputs.map((o) => o.indexOf(Math.max(...o)));
      const confusion = [0, 1, 2, 3].map((t) => [0, 1, 2, 3].map((p) => predicted.filter((q, i) => ys[i] === t && q === p).length));
      const top2 = outputs.filter((o, i) => o.filter((v) => v > o[ys[i]!]!).length < 2).length / outputs.length;
      const tol = engine.length ? 1e-12 : 1e-5;
      expect(Math.abs(got.loss - loss)).toBeLessThan(tol);
      expect(got.accuracy).toBe(predicted.filter((p, i) => p === ys[i]).length / 16);
      expect(got.topAccuracy).toBe(top2);
      expect(got.confusion).toEqual(confusion);
      expect(got.samples).toBe(16);
      const text = await dlc(["eval", at("net.dl"), ...engine, "--weights", at("w.json"), "--data", at("data.json")]);
      expect(text.stdout).toMatch(/^confusion \(rows: true class, columns: predicted\)$/m);
      expect(text.stdout).toContain(`   0 ${confusion[0]!.map((c) => String(c).padStart(4)).join(" ")}`);
    });
  }

  it("mistakes: data without labels, --metric bleu on a [V] output, --bleu-n alone (exit 2, one line)", async () => {
    writeFileSync(at("w0.json"), "{}");
    for (const [args, message] of [
      [["--data", at("x.json")], /x\.json.*(y|target|label)/i],
      [["--data", at("data.json"), "--metric", "bleu"], /--metric bleu scores per-position token outputs \[T, V\]/],
      [["--data", at("data.json"), "--bleu-n", "2"], /--bleu-n sets BLEU's longest n-gram: give --metric bleu with it/],
    ] as const) {
      const r = await dlc(["eval", at("net.dl"), "--interpret", "--weights", at("w.json"), ...args]);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(message);
    }
  });
});
