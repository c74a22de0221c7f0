// Stability: random valid stacks of layers analyze with no errors, and their counts equal
// LANGUAGE.md §4's formulas (params) and §7's (MACs), worked out here from the layer sizes
// alone — shapes by the floor formula H' = floor((H + 2P - K)/S) + 1, `pad same` as
// ceil(H/S), pools' `ceil` as PyTorch documents ceil_mode — never read back from dlc.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { analyze, summarize } from "../src/index.js";
import { spanProblems } from "./helpers/robustness.js";

const scale = Math.max(1, Number(process.env.ROBUSTNESS_SCALE ?? "1") || 1);

interface Expected {
  /** The statements, in order. */
  lines: string[];
  shape: number[];
  params: number;
  state: number;
  macs: number;
  rows: number;
}

// --- [F] stacks: dense / relu / dropout / batchnorm (and layernorm, leakyrelu) ---------------

type VectorOp =
  | { op: "dense"; units: number; bias: boolean; act?: string; frozen: boolean }
  | { op: "relu" | "batchnorm" | "layernorm" }
  | { op: "dropout"; rate: string }
  | { op: "leakyrelu"; alpha?: string };

const vectorOp: fc.Arbitrary<VectorOp> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant("dense" as const), units: fc.integer({ min: 1, max: 96 }), bias: fc.boolean(), act: fc.option(fc.constantFrom("relu", "tanh", "sigmoid", "softmax", "linear"), { nil: undefined }), frozen: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constantFrom("relu" as const, "batchnorm" as const, "layernorm" as const) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("dropout" as const), rate: fc.constantFrom("0", "0.1", "0.5", "0.99", ".25") }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("leakyrelu" as const), alpha: fc.option(fc.constantFrom("0.2", "0", "1"), { nil: undefined }) }) },
);

function expectVector(features: number, ops: readonly VectorOp[]): Expected {
  const e: Expected = { lines: [], shape: [features], params: 0, state: 0, macs: 0, rows: 0 };
  let f = features;
  for (const o of ops) {
    e.rows++;
    switch (o.op) {
      case "dense":
        e.lines.push(`dense ${o.units}${o.act ? ` ${o.act}` : ""}${o.bias ? "" : " bias false"}${o.frozen ? " frozen" : ""}`);
        e.params += f * o.units + (o.bias ? o.units : 0); // §4: F*N + N
        e.macs += f * o.units; // §7: F*N
        f = o.units;
        break;
      case "batchnorm":
        e.lines.push("batchnorm");
        e.params += 2 * f; // gamma, beta
        e.state += 2 * f; // running mean and variance
        break;
      case "layernorm":
        e.lines.push("layernorm");
        e.params += 2 * f;
        break;
      case "dropout":
        e.lines.push(`dropout ${o.rate}`);
        break;
      case "leakyrelu":
        e.lines.push(`leakyrelu${o.alpha ? ` ${o.alpha}` : ""}`);
        break;
      default:
        e.lines.push(o.op);
    }
  }
  e.shape = [f];
  return e;
}

// --- [H,W,C] stacks: conv / pools, sized to fit ---------------------------------------------

type ImageOp =
  | { op: "conv"; filters: number; kh: number; kw: number; stride: number; pad: number | "same" | "valid"; form: "dims" | "single" | "kernel-only"; act?: string }
  | { op: "maxpool" | "avgpool" | "minpool"; k: number; stride?: number; pad: number; ceil: boolean }
  | { op: "batchnorm" | "relu" | "upsample" | "globalavgpool" | "flatten" }
  | { op: "dropout" };

const imageOp: fc.Arbitrary<ImageOp> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      op: fc.constant("conv" as const),
      filters: fc.integer({ min: 1, max: 24 }),
      kh: fc.integer({ min: 1, max: 5 }),
      kw: fc.integer({ min: 1, max: 5 }),
      stride: fc.integer({ min: 1, max: 3 }),
      pad: fc.oneof(fc.integer({ min: 0, max: 2 }), fc.constantFrom("same" as const, "valid" as const)),
      form: fc.constantFrom("dims" as const, "single" as const, "kernel-only" as const),
      act: fc.option(fc.constantFrom("relu", "tanh"), { nil: undefined }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constantFrom("maxpool" as const, "avgpool" as const, "minpool" as const),
      k: fc.integer({ min: 1, max: 4 }),
      stride: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }),
      pad: fc.integer({ min: 0, max: 2 }),
      ceil: fc.boolean(),
    }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constantFrom("batchnorm" as const, "relu" as const, "dropout" as const) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constantFrom("upsample" as const, "globalavgpool" as const, "flatten" as const) }) },
);

/** Output size along one axis, or undefined where the window does not fit. */
function windowSize(size: number, k: number, stride: number, pad: number | "same", ceil: boolean): number | undefined {
  if (pad === "same") return Math.ceil(size / stride); // TensorFlow's "same"
  if (k > size + 2 * pad) return undefined;
  if (!ceil) return Math.floor((size + 2 * pad - k) / stride) + 1;
  // PyTorch ceil_mode: ceil instead of floor, but the last window must start inside the
  // input or the left padding.
  let out = Math.ceil((size + 2 * pad - k) / stride) + 1;
  if ((out - 1) * stride >= size + pad) out--;
  return out;
}

function expectImage(h0: number, w0: number, c0: number, ops: readonly ImageOp[]): Expected {
  const e: Expected = { lines: [], shape: [h0, w0, c0], params: 0, state: 0, macs: 0, rows: 0 };
  let [h, w, c] = [h0, w0, c0];
  let flat: number | undefined; // once flattened (or pooled globally), only [F] ops apply
  for (const o of ops) {
    if (flat !== undefined) {
      // After flatten / globalavgpool: a dense head, then stop.
      e.lines.push("dense 10 softmax");
      e.params += flat * 10 + 10;
      e.macs += flat * 10;
      e.rows++;
      e.shape = [10];
      return e;
    }
    switch (o.op) {
      case "conv": {
        const [kh, kw] = o.form === "dims" ? [o.kh, o.kw] : [o.kh, o.kh];
        const pad = o.pad === "valid" ? 0 : o.pad;
        const oh = windowSize(h, kh, o.stride, pad, false);
        const ow = windowSize(w, kw, o.stride, pad, false);
        if (oh === undefined || ow === undefined || oh < 1 || ow < 1) continue; // does not fit: skip it
        const filters = o.form === "kernel-only" ? 1 : o.filters;
        const kernel = o.form === "single" ? `${kh}` : `${kh}x${kw}`;
        e.lines.push(`conv ${o.form === "kernel-only" ? "" : `${filters} `}${kernel} stride ${o.stride} pad ${o.pad}${o.act ? ` ${o.act}` : ""}`);
        e.params += kh * kw * c * filters + filters; // §4: K*K*C*F + F
        e.macs += oh * ow * filters * kh * kw * c; // §7: H'*W'*F*K*K*C
        [h, w, c] = [oh, ow, filters];
        break;
      }
      case "maxpool":
      case "avgpool":
      case "minpool": {
        const stride = o.stride ?? o.k; // stride defaults to K
        const pad = Math.min(o.pad, Math.floor(o.k / 2)); // at most half the window, as PyTorch requires
        const oh = windowSize(h, o.k, stride, pad, o.ceil);
        const ow = windowSize(w, o.k, stride, pad, o.ceil);
        if (oh === undefined || ow === undefined || oh < 1 || ow < 1) continue;
        e.lines.push(`${o.op} ${o.k}${o.stride !== undefined ? ` stride ${o.stride}` : ""}${pad > 0 ? ` pad ${pad}` : ""}${o.ceil ? " ceil" : ""}`);
        [h, w] = [oh, ow];
        break;
      }
      case "batchnorm":
        e.lines.push("batchnorm");
        e.params += 2 * c;
        e.state += 2 * c;
        break;
      case "upsample":
        if (h * 2 > 200 || w * 2 > 200) continue;
        e.lines.push("upsample 2");
        [h, w] = [h * 2, w * 2];
        break;
      case "globalavgpool":
        e.lines.push("globalavgpool");
        flat = c;
        break;
      case "flatten":
        e.lines.push("flatten");
        flat = h * w * c;
        break;
      case "dropout":
        e.lines.push("dropout 0.5");
        break;
      default:
        e.lines.push(o.op);
    }
    e.rows++;
  }
  e.shape = flat !== undefined ? [flat] : [h, w, c];
  return e;
}

/** One of several ways to write the same network. */
const layout = fc.record({
  wrap: fc.constantFrom("anonymous", "network", "block", "repeat"),
  separator: fc.constantFrom("\n", "; ", "\n\n  ", " ;\n"),
  viaFlag: fc.boolean(),
  comments: fc.boolean(),
});

function write(inputShape: readonly number[], e: Expected, l: fc.RecordValue<{ wrap: string; separator: string; viaFlag: boolean; comments: boolean }>): { text: string; options: { inputShape?: number[] } } {
  const body = e.lines.map((s) => (l.comments ? `${s} # ${s}` : s));
  const sep = l.comments ? "\n" : l.separator;
  const input = l.viaFlag ? [] : [`input ${inputShape.join("x")}`];
  const options = l.viaFlag ? { inputShape: [...inputShape] } : {};
  switch (l.wrap) {
    case "network":
      return { text: `network stack {\n${[...input, ...body].join(sep)}\n}\n`, options };
    case "block":
      return { text: `block layers {\n${body.join(sep)}\n}\nnetwork stack {\n${[...input, "layers"].join("\n")}\n}\n`, options };
    case "repeat":
      return { text: `${[...input, `repeat 1 {\n${body.join(sep)}\n}`].join("\n")}\n`, options };
    default:
      return { text: [...input, ...body].join(sep), options };
  }
}

function check(inputShape: readonly number[], expected: Expected, l: Parameters<typeof write>[2]): void {
  // A file needs a statement (with --input, `input` is not written): an identity if none is left.
  const e = expected.lines.length > 0 ? expected : { ...expected, lines: ["linear"], rows: 1 };
  const { text, options } = write(inputShape, e, l);
  const a = analyze(text, options);
  const errors = a.diagnostics.filter((d) => d.severity === "error").map((d) => `${d.span.line}:${d.span.column} ${d.code}: ${d.message}`);
  expect(errors, text).toEqual([]);
  expect(spanProblems(text, a.diagnostics)).toEqual([]);
  const s = summarize(a.selected!);
  expect(s.rows.length, text).toBe(e.rows);
  expect(s.totalParams, text).toBe(e.params);
  expect(s.stateSize, text).toBe(e.state);
  expect(s.macs, text).toBe(e.macs);
  expect(s.input).toEqual(inputShape);
  const last = s.rows.length > 0 ? s.rows[s.rows.length - 1]!.outputShape : s.input;
  expect(last, text).toEqual(e.shape);
}

describe("random valid stacks count as §4 says", () => {
  it("[F] stacks of dense, relu, dropout, batchnorm, layernorm and leakyrelu", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 300 }), fc.array(vectorOp, { maxLength: 12 }), layout, (features, ops, l) => {
        check([features], expectVector(features, ops), l);
      }),
      { numRuns: 300 * scale },
    );
  });

  it("[H,W,C] stacks of conv and pools sized to fit, with an optional flatten/globalavgpool + dense head", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 64 }), fc.integer({ min: 1, max: 64 }), fc.integer({ min: 1, max: 8 }), fc.array(imageOp, { maxLength: 10 }), layout, (h, w, c, ops, l) => {
        check([h, w, c], expectImage(h, w, c, ops), l);
      }),
      { numRuns: 300 * scale },
    );
  });

  it("the expectations themselves match hand-worked cases (LeNet-5's first conv, a ceil-mode pool)", () => {
    // 28x28x1, conv 6 5x5 pad 2: 28x28x6, 5*5*1*6 + 6 = 156 params, 28*28*6*25 = 117,600 MACs (LANGUAGE.md §7).
    const lenet = expectImage(28, 28, 1, [{ op: "conv", filters: 6, kh: 5, kw: 5, stride: 1, pad: 2, form: "dims" }]);
    expect([lenet.params, lenet.macs, lenet.shape]).toEqual([156, 117_600, [28, 28, 6]]);
    // PyTorch: MaxPool2d(2, 2, ceil_mode=True) on 5x5 gives 3x3; on 4x4 gives 2x2.
    expect(windowSize(5, 2, 2, 0, true)).toBe(3);
    expect(windowSize(4, 2, 2, 0, true)).toBe(2);
    // PyTorch: MaxPool2d(3, 2, padding=1, ceil_mode=True) on 6 gives 4 (floor mode: 3).
    expect(windowSize(6, 3, 2, 1, true)).toBe(4);
    // MaxPool2d(2, 2, padding=1, ceil_mode=True) on 5 gives 3, not 4: a fourth window would start in the right padding.
    expect(windowSize(5, 2, 2, 1, true)).toBe(3);
  });
});
