// Params, MACs and output shapes of every layer kind and its options, against formulas written
// here from LANGUAGE.md §4 and §7 and the textbook definitions (not from src/layers): the table
// below has rows for every kind of the registry, and every option a kind declares is used by one
// of its rows, so a new kind or option without a row fails the last two tests.
import { describe, expect, it } from "vitest";
import { analyze, summarize } from "../src/index.js";
import { registry } from "../src/layers/registry.js";

interface Row {
  /** The layer kind under test; the statement under test is named `t`. */
  readonly kind: string;
  readonly text: string;
  readonly shape: readonly number[];
  readonly params: number;
  readonly macs: number;
  /** Non-learnable buffers (batchnorm's running statistics). */
  readonly state?: number;
  /** PyTorch's count, where it differs (its second recurrent bias). */
  readonly pytorchParams?: number;
}

const rows: Row[] = [];
const row = (r: Row): void => void rows.push(r);
const product = (xs: readonly number[]): number => xs.reduce((a, b) => a * b, 1);

// ---- windows: H' = floor((H + 2P − K)/S) + 1; same: ceil(H/S); ceil mode as PyTorch ----------

function windowSize(size: number, k: number, s: number, pad: number | "same", ceil = false): number {
  if (pad === "same") return Math.ceil(size / s);
  if (!ceil) return Math.floor((size + 2 * pad - k) / s) + 1;
  let out = Math.ceil((size + 2 * pad - k) / s) + 1;
  // PyTorch drops a last window that would start in the right padding.
  if ((out - 1) * s >= size + pad) out -= 1;
  return out;
}

const padWord = (pad: number | "same" | "valid"): string => (pad === 0 ? "" : ` pad ${pad}`);
const padValue = (pad: number | "same" | "valid"): number | "same" => (pad === "valid" ? 0 : pad);

// conv F KhxKw: params Kh·Kw·C·F (+ F), MACs H'·W'·F·Kh·Kw·C.
for (const [h, w, c] of [[7, 9, 3], [8, 8, 1]] as const) {
  for (const [kh, kw] of [[3, 3], [2, 4], [1, 1]] as const) {
    for (const stride of [1, 2, 3]) {
      for (const pad of [0, 1, "same", "valid"] as const) {
        for (const bias of [true, false]) {
          const f = 5;
          const oh = windowSize(h, kh, stride, padValue(pad));
          const ow = windowSize(w, kw, stride, padValue(pad));
          const kernel = kh === kw && stride === 1 ? `${kh}` : `${kh}x${kw}`;
          row({
            kind: "conv",
            text: `input ${h}x${w}x${c}\nt: conv ${f} ${kernel}${stride === 1 ? "" : ` stride ${stride}`}${pad === 0 ? "" : ` pad ${pad}`}${bias ? "" : " bias false"}`,
            shape: [oh, ow, f],
            params: kh * kw * c * f + (bias ? f : 0),
            macs: oh * ow * f * kh * kw * c,
          });
        }
      }
    }
  }
}
// `conv KxK` is one filter; an activation after it stays part of the row.
row({ kind: "conv", text: "input 6x6x2\nt: conv 3x3 relu", shape: [4, 4, 1], params: 3 * 3 * 2 + 1, macs: 4 * 4 * 1 * 3 * 3 * 2 });
// AlexNet's first layer (the seed notes: 227x227x3 → 55x55x96).
row({ kind: "conv", text: "input 227x227x3\nt: conv 96 11x11 stride 4", shape: [55, 55, 96], params: 11 * 11 * 3 * 96 + 96, macs: 55 * 55 * 96 * 11 * 11 * 3 });

// Pools: no params, no MACs, the window's output size.
for (const mode of ["max", "avg", "min"]) {
  for (const k of [2, 3]) {
    for (const stride of [undefined, 1, 2]) {
      for (const pad of [0, 1, "same", "valid"] as const) {
        for (const ceil of [false, true]) {
          if (pad === "same" && ceil) continue;
          if (typeof pad === "number" && pad * 2 > k) continue;
          const s = stride ?? k;
          const [h, w, c] = [7, 10, 3];
          row({
            kind: `${mode}pool`,
            text: `input ${h}x${w}x${c}\nt: ${mode}pool ${k}${stride === undefined ? "" : ` stride ${stride}`}${padWord(pad)}${ceil ? " ceil" : ""}`,
            shape: [windowSize(h, k, s, padValue(pad), ceil), windowSize(w, k, s, padValue(pad), ceil), c],
            params: 0,
            macs: 0,
          });
        }
      }
    }
  }
}
row({ kind: "maxpool", text: "input 9x8x2\nt: maxpool 3x2 stride 2", shape: [4, 4, 2], params: 0, macs: 0 });

// dense N: params F·N (+ N); MACs F·N per position (times T on [T,F], H·W on [H,W,F]).
for (const input of [[7], [5, 7], [3, 4, 7]]) {
  for (const bias of [true, false]) {
    const f = input[input.length - 1]!;
    const n = 6;
    row({
      kind: "dense",
      text: `input ${input.join("x")}\nt: dense ${n} tanh${bias ? "" : " bias false"}`,
      shape: [...input.slice(0, -1), n],
      params: f * n + (bias ? n : 0),
      macs: (product(input) / f) * f * n,
    });
  }
}
// A frozen layer still counts its params (as non-trainable) and MACs.
row({ kind: "dense", text: "input 4\nt: dense 3 frozen", shape: [3], params: 4 * 3 + 3, macs: 12 });

// Recurrent: per direction and stacked layer, G·(H·F + H·H + H) params (gru: G·(H·F + H·H + 2H)),
// T·G·(H·F + H·H) MACs; layer 2 onward sees F = H (2H when bidirectional). PyTorch has a second
// bias vector for rnn and lstm: G·H more per direction and layer.
const GATES = { rnn: 1, lstm: 4, gru: 3 } as const;
for (const cell of ["rnn", "lstm", "gru"] as const) {
  for (const layers of [1, 3]) {
    for (const bidirectional of [false, true]) {
      for (const sequences of [false, true]) {
        const [t, f0, h] = [6, 5, 4];
        const g = GATES[cell];
        const directions = bidirectional ? 2 : 1;
        let params = 0;
        let macs = 0;
        let pytorch = 0;
        for (let l = 1; l <= layers; l++) {
          const f = l === 1 ? f0 : directions * h;
          const perDirection = cell === "gru" ? g * (h * f + h * h + 2 * h) : g * (h * f + h * h + h);
          params += directions * perDirection;
          pytorch += directions * g * (h * f + h * h + 2 * h);
          macs += directions * t * g * (h * f + h * h);
        }
        const width = directions * h;
        row({
          kind: cell,
          text: `input ${t}x${f0}\nt: ${cell} ${h}${sequences ? " sequences" : ""}${bidirectional ? " bidirectional" : ""}${layers > 1 ? ` layers ${layers}` : ""}`,
          shape: sequences ? [t, width] : [width],
          params,
          macs,
          pytorchParams: pytorch,
        });
      }
    }
  }
}
// Truncated BPTT changes training, not the count.
row({ kind: "rnn", text: "input 6x5\nt: rnn 4 bptt 2", shape: [4], params: 4 * 5 + 4 * 4 + 4, macs: 6 * (4 * 5 + 4 * 4) });
row({ kind: "lstm", text: "input 6x5\nt: lstm 4 bptt 2", shape: [4], params: 4 * (4 * 5 + 4 * 4 + 4), macs: 6 * 4 * (4 * 5 + 4 * 4) });
row({ kind: "gru", text: "input 6x5\nt: gru 4 bptt 3", shape: [4], params: 3 * (4 * 5 + 4 * 4 + 2 * 4), macs: 6 * 3 * (4 * 5 + 4 * 4) });

// Attention of a query [Tq,Hq] (or [Hq]: Tq = 1) over a memory [Tk,Hk]: softmax(scores)·memory.
// The context (weighted sum of memory rows) is Tq·Tk·Hk MACs for every score; the scores are
//   dot       q·k                      Tq·Tk·Hk                       (Hq = Hk)
//   bilinear  (q·W)·k, W [Hq,Hk]       Tq·Hq·Hk + Tq·Tk·Hk            params Hq·Hk
//   mlp       v·tanh(Wq·q + Wk·k)      Tq·Hq·U + Tk·Hk·U + Tq·Tk·U    params Hq·U + Hk·U + U
for (const tq of [undefined, 5]) {
  const tk = 7;
  const query = (hq: number): string => (tq === undefined ? `${hq}` : `${tq}x${hq}`);
  const q = tq ?? 1;
  const out = (hk: number): number[] => (tq === undefined ? [hk] : [tq, hk]);
  const context = (hk: number): number => q * tk * hk;
  const h = 8;
  for (const word of ["", " dot"]) {
    row({ kind: "attention", text: `q: input ${query(h)}\nm: input ${tk}x${h}\nfrom q\nt: attention m${word}`, shape: out(h), params: 0, macs: q * tk * h + context(h) });
  }
  // The query named explicitly, the memory second.
  row({ kind: "attention", text: `q: input ${query(h)}\nm: input ${tk}x${h}\nt: attention q m dot`, shape: out(h), params: 0, macs: q * tk * h + context(h) });
  const [hq, hk] = [6, 9];
  row({ kind: "attention", text: `q: input ${query(hq)}\nm: input ${tk}x${hk}\nfrom q\nt: attention m bilinear`, shape: out(hk), params: hq * hk, macs: q * hq * hk + q * tk * hk + context(hk) });
  for (const units of [undefined, 3]) {
    const u = units ?? hq;
    row({
      kind: "attention",
      text: `q: input ${query(hq)}\nm: input ${tk}x${hk}\nfrom q\nt: attention m mlp${units === undefined ? "" : ` units ${units}`}`,
      shape: out(hk),
      params: hq * u + hk * u + u,
      macs: q * hq * u + tk * hk * u + q * tk * u + context(hk),
    });
  }
}

// embedding V D: V·D params, a lookup (no MACs).
row({ kind: "embedding", text: "input 11\nt: embedding 50 6", shape: [11, 6], params: 50 * 6, macs: 0 });

// Norms: batchnorm 2C params and 2C state; layernorm 2F params. No MACs counted.
for (const input of [[9], [4, 9], [3, 5, 9]]) {
  row({ kind: "batchnorm", text: `input ${input.join("x")}\nt: batchnorm`, shape: input, params: 2 * 9, macs: 0, state: 2 * 9 });
  row({ kind: "layernorm", text: `input ${input.join("x")}\nt: layernorm`, shape: input, params: 2 * 9, macs: 0 });
}

// Activations, dropout, reshapes: no params, no MACs.
for (const act of ["relu", "sigmoid", "tanh", "softmax", "linear", "leakyrelu", "leakyrelu 0.2", "leakyrelu alpha 0.3"]) {
  row({ kind: act.split(" ")[0]!, text: `input 4x6\nt: ${act}`, shape: [4, 6], params: 0, macs: 0 });
}
row({ kind: "dropout", text: "input 4x6\nt: dropout 0.25", shape: [4, 6], params: 0, macs: 0 });
row({ kind: "flatten", text: "input 3x4x5\nt: flatten", shape: [60], params: 0, macs: 0 });
row({ kind: "globalavgpool", text: "input 3x4x5\nt: globalavgpool", shape: [5], params: 0, macs: 0 });
for (const k of [1, 2, 3]) row({ kind: "upsample", text: `input 3x4x5\nt: upsample ${k}`, shape: [3 * k, 4 * k, 5], params: 0, macs: 0 });

// add and concat of named values (the helper dense layers are rows of their own, not under test).
row({ kind: "add", text: "a: input 5x6\nx: dense 6\nfrom a\nt: add x", shape: [5, 6], params: 0, macs: 0 });
row({ kind: "add", text: "a: input 5x6\nb: input 5x6\nc: input 5x6\nt: add a b c", shape: [5, 6], params: 0, macs: 0 });
row({ kind: "concat", text: "a: input 5x6\nx: dense 3\nfrom a\nt: concat x", shape: [5, 9], params: 0, macs: 0 });
row({ kind: "concat", text: "a: input 2x3x4\nb: input 2x3x1\nt: concat a b", shape: [2, 3, 5], params: 0, macs: 0 });

// input declares a shape: not a row of the summary, the network's input.
row({ kind: "input", text: "t: input 3x4x5\n", shape: [3, 4, 5], params: 0, macs: 0 });

function analyzed(r: Row) {
  const a = analyze(r.text);
  const errors = a.diagnostics.filter((d) => d.severity === "error").map((d) => d.message);
  expect(errors, r.text).toEqual([]);
  return a.selected!;
}

describe("params, MACs and shapes of each kind and option, against §4/§7's formulas", () => {
  it.each(rows.map((r) => [r.text.replace(/\n/g, "; "), r] as const))("%s", (_label, r) => {
    const checked = analyzed(r);
    const summary = summarize(checked);
    if (r.kind === "input") {
      expect(summary.input).toEqual(r.shape);
      expect([summary.rows.length, summary.totalParams, summary.macs]).toEqual([0, 0, 0]);
      return;
    }
    const t = summary.rows.find((x) => x.name === "t");
    expect(t, "the layer named t").toBeDefined();
    expect(t!.kind).toBe(r.kind);
    expect({ shape: t!.outputShape, params: t!.params, macs: t!.macs, state: t!.state }).toEqual({ shape: r.shape, params: r.params, macs: r.macs, state: r.state ?? 0 });
    // The totals are the rows' sums, and a frozen layer's params are the non-trainable ones.
    expect(summary.macs).toBe(summary.rows.reduce((n, x) => n + x.macs!, 0));
    expect(summary.totalParams).toBe(summary.rows.reduce((n, x) => n + x.params!, 0));
    expect(summary.stateSize).toBe(r.state ?? 0);
    expect(summary.nonTrainableParams).toBe(/\bfrozen\b/.test(r.text) ? r.params : 0);
    if (r.pytorchParams !== undefined) expect(summarize(checked, "pytorch").rows.find((x) => x.name === "t")!.params).toBe(r.pytorchParams);
    // Keras counts the running statistics as (non-trainable) params.
    expect(summarize(checked, "keras").rows.find((x) => x.name === "t")!.params).toBe(r.params + (r.state ?? 0));
  });

  it("LeNet-5 of §1 totals §7's worked numbers (61,706 params, 416,520 MACs)", () => {
    const text = "network lenet5 {\n  input 28x28x1\n  conv 6 5x5 pad 2 tanh\n  avgpool 2 stride 2\n  conv 16 5x5 tanh\n  avgpool 2 stride 2\n  flatten\n  dense 120 tanh\n  dense 84 tanh\n  dense 10 softmax\n}\n";
    const s = summarize(analyze(text).selected!);
    expect([s.totalParams, s.macs]).toEqual([61706, 416520]);
    expect(s.rows[0]).toMatchObject({ name: "conv1", outputShape: [28, 28, 6], params: 156, macs: 117600 });
  });
});

describe("the table covers the registry", () => {
  it("every layer kind has a row, and every row names a kind", () => {
    const covered = new Set(rows.map((r) => r.kind));
    expect([...registry.keys()].filter((k) => !covered.has(k)), "kinds without a row in tests/macs-table.test.ts").toEqual([]);
    expect([...covered].filter((k) => !registry.has(k))).toEqual([]);
  });

  it("every option (and option word) of every kind is used by one of its rows", () => {
    const missing: string[] = [];
    for (const [kind, def] of registry) {
      const words = new Set(rows.filter((r) => r.kind === kind).flatMap((r) => r.text.split(/\s+/)));
      for (const [option, spec] of Object.entries(def.options ?? {})) {
        if (!words.has(option)) missing.push(`${kind} ${option}`);
        if (spec.type === "int") for (const w of spec.words ?? []) if (!words.has(w)) missing.push(`${kind} ${option} ${w}`);
      }
      if (def.takesActivation && ![...words].some((w) => registry.get(w)?.isActivation)) missing.push(`${kind} with an activation`);
    }
    expect(missing, "add rows using these").toEqual([]);
  });
});
