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

  // --metric bleu: an embedding 5 5 → softmax network whose embedding is 3·I, so each position's
  // argmax is its input token: the candidates are the inputs, the references the targets.
  //   sample 1: candidate 1 2 3 4, reference 1 2 4 3 — unigrams 4/4, bigrams (1,2) of (1,2) (2,3) (3,4): 1/3,
  //             trigrams 0/2;
  //   sample 2: candidate 0 0 1 2, reference 0 1 2 3 — unigrams 3/4 (the second 0 is clipped),
  //             bigrams (0,1) (1,2) of (0,0) (0,1) (1,2): 2/3, trigrams (0,1,2): 1/2.
  // Corpus BLEU sums the counts first: p1 = 7/8, p2 = 3/6, p3 = 1/4; c = r = 8, so BP = 1.
  //   BLEU-2 = (7/8 · 1/2)^(1/2) = √7 / 4 ≈ 0.6614;  BLEU-3 = (7/8 · 1/2 · 1/4)^(1/3) = (7/64)^(1/3) ≈ 0.4782;
  //   BLEU-4 (the default) = 0: no 4-gram matches (no smoothing).
  // Accuracy per position: 3 of 8. Loss per sample sums its positions' −log p: a right position has
  // p = e³ / (e³ + 4), a wrong one 1 / (e³ + 4); 3 right and 5 wrong over 2 samples.
  it("--metric bleu [--bleu-n N]: corpus BLEU of per-position argmax tokens against the targets, computed by hand", async () => {
    writeFileSync(at("tok.dl"), "network tok {\n  input 4\n  embedding 5 5\n  softmax\n}\ntrain {\n  loss cross_entropy\n}\n");
    writeFileSync(at("tok.json"), JSON.stringify({ "embedding1.embeddings": [0, 1, 2, 3, 4].map((i) => [0, 1, 2, 3, 4].map((j) => (i === j ? 3 : 0))) }));
    writeFileSync(at("tok-data.json"), JSON.stringify({ x: [[1, 2, 3, 4], [0, 0, 1, 2]], y: [[1, 2, 4, 3], [0, 1, 2, 3]] }));
    const e3 = Math.exp(3);
    const loss = (3 * Math.log(1 + 4 / e3) + 5 * Math.log(e3 + 4)) / 2;
    const evalTok = (args: string[]) => dlc(["eval", at("tok.dl"), "--weights", at("tok.json"), "--data", at("tok-data.json"), "--metric", "bleu", ...args]);
    for (const [n, bleu] of [[2, Math.sqrt(7) / 4], [3, Math.cbrt(7 / 64)]] as const) {
      for (const engine of [["--interpret"], []]) {
        const r = await evalTok(["--bleu-n", String(n), ...engine, "--json"]);
        expect(r.code, r.stderr).toBe(0);
        const got = JSON.parse(r.stdout) as { loss: number; accuracy: number; bleu: number; bleuN: number; samples: number };
        expect(got.bleuN).toBe(n);
        expect(Math.abs(got.bleu - bleu)).toBeLessThan(1e-12);
        expect(got.accuracy).toBe(3 / 8);
        expect(Math.abs(got.loss - loss)).toBeLessThan(engine.length ? 1e-12 : 1e-5);
      }
    }
    const text = await evalTok(["--bleu-n", "2"]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^BLEU-2 +0\.6614$/m);
    const fourGrams = await evalTok(["--json"]);
    expect(JSON.parse(fourGrams.stdout)).toMatchObject({ bleu: 0, bleuN: 4 });
  });

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
