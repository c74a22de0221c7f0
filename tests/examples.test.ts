// The shipped examples: every one analyzes cleanly, and the famous ones have exactly the
// parameter counts their reference implementations publish (torchvision's `num_params`,
// which is `sum(p.numel() for p in model.parameters())` — buffers such as batchnorm
// running statistics excluded). The hand-written networks are checked against LANGUAGE.md
// §4's formulas, written out here from the layer sizes, never against dlc's own output.
import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { analyze, summarize, type Convention } from "../src/index.js";

const examplesDir = new URL("../examples/", import.meta.url);
const exampleFiles = readdirSync(examplesDir)
  .filter((f) => f.endsWith(".dl"))
  .sort();

function source(file: string): string {
  return readFileSync(new URL(file, examplesDir), "utf8");
}

function summaryOf(file: string, convention: Convention = "dlc") {
  const analysis = analyze(source(file));
  expect(analysis.hasErrors, `${file} has errors`).toBe(false);
  expect(analysis.selected, `${file} selects no network`).toBeDefined();
  return summarize(analysis.selected!, convention);
}

function row(file: string, name: string) {
  const found = summaryOf(file).rows.find((r) => r.name === name);
  expect(found, `${file} has no layer named '${name}'`).toBeDefined();
  return found!;
}

// §4's formulas, written out.
const denseParams = (f: number, n: number, bias = true): number => f * n + (bias ? n : 0);
const convParams = (k: number, c: number, f: number, bias = true): number => k * k * c * f + (bias ? f : 0);
const embeddingParams = (v: number, d: number): number => v * d;
const lstmParams = (h: number, f: number): number => 4 * (h * f + h * h + h);
const gruParams = (h: number, f: number): number => 3 * (h * f + h * h + 2 * h);

describe("every example", () => {
  it("finds the examples directory populated", () => {
    for (const name of ["lenet5", "alexnet", "vgg16", "resnet18", "resnet50", "googlenet", "seed", "char_lstm", "gru_tagger", "seq2seq_attention", "unet"]) {
      expect(exampleFiles).toContain(`${name}.dl`);
    }
  });

  it.each(exampleFiles)("%s analyzes with zero errors", (file) => {
    const analysis = analyze(source(file));
    const errors = analysis.diagnostics.filter((d) => d.severity === "error");
    expect(errors.map((d) => `${d.span.line}:${d.span.column} ${d.code}: ${d.message}`)).toEqual([]);
    expect(analysis.hasErrors).toBe(false);
    expect(analysis.selected).toBeDefined();
  });

  it.each(exampleFiles)("%s warns only about dropped pixels, and only where the reference geometry floors", (file) => {
    const analysis = analyze(source(file));
    const warnings = analysis.diagnostics.filter((d) => d.severity === "warning");
    for (const w of warnings) expect(w.code).toBe("dropped-pixels");
    // Stride-2 layers over even sizes floor in torchvision too (AlexNet's 11x11/4 stem, the
    // ResNet and GoogLeNet 7x7/2 stems, ResNet's stem pool and downsampling convs). Everything
    // else divides evenly or uses ceil_mode.
    const floors = ["alexnet.dl", "resnet18.dl", "resnet50.dl", "googlenet.dl"];
    if (floors.includes(file)) expect(warnings.length).toBeGreaterThan(0);
    else expect(warnings).toEqual([]);
  });
});

describe("published parameter counts", () => {
  it.each([
    ["lenet5.dl", 61_706], // LANGUAGE.md §7's summary of LeNet-5
    ["alexnet.dl", 61_100_840], // torchvision AlexNet_Weights.IMAGENET1K_V1
    ["vgg16.dl", 138_357_544], // torchvision VGG16_Weights.IMAGENET1K_V1
    ["resnet18.dl", 11_689_512], // torchvision ResNet18_Weights.IMAGENET1K_V1
    ["resnet50.dl", 25_557_032], // torchvision ResNet50_Weights.IMAGENET1K_V1
    ["googlenet.dl", 6_624_904], // torchvision GoogLeNet_Weights.IMAGENET1K_V1 (no aux heads)
  ] as const)("%s has %i parameters", (file, published) => {
    const s = summaryOf(file);
    expect(s.totalParams).toBe(published);
    expect(s.trainableParams).toBe(published);
    expect(s.nonTrainableParams).toBe(0);
  });

  it("torchvision's counts are PyTorch's: the pytorch convention agrees on the CNNs", () => {
    expect(summaryOf("resnet18.dl", "pytorch").totalParams).toBe(11_689_512);
    expect(summaryOf("resnet50.dl", "pytorch").totalParams).toBe(25_557_032);
    expect(summaryOf("googlenet.dl", "pytorch").totalParams).toBe(6_624_904);
    expect(summaryOf("vgg16.dl", "pytorch").totalParams).toBe(138_357_544);
  });

  it("the CNNs end in 1000 ImageNet classes", () => {
    for (const file of ["alexnet.dl", "vgg16.dl", "resnet18.dl", "resnet50.dl", "googlenet.dl"]) {
      const s = summaryOf(file);
      expect(s.input).toEqual([224, 224, 3]);
      expect(s.rows.at(-1)!.outputShape).toEqual([1000]);
    }
  });
});

describe("LeNet-5", () => {
  it("has the MACs of §7: conv, conv, dense, dense, dense", () => {
    const expected =
      28 * 28 * 6 * 5 * 5 * 1 + // conv 6 5x5 pad 2: H'W'F·K·K·C
      10 * 10 * 16 * 5 * 5 * 6 + // conv 16 5x5 on 14x14x6
      400 * 120 +
      120 * 84 +
      84 * 10;
    expect(expected).toBe(416_520);
    expect(summaryOf("lenet5.dl").macs).toBe(expected);
  });

  it("lists its first layer exactly as §7 prints it", () => {
    const first = summaryOf("lenet5.dl").rows[0]!;
    expect({ name: first.name, kind: first.kind, line: first.line, outputShape: first.outputShape, params: first.params, trainable: first.trainable, macs: first.macs }).toEqual({
      name: "conv1",
      kind: "conv",
      line: 4,
      outputShape: [28, 28, 6],
      params: 156,
      trainable: true,
      macs: 117_600,
    });
  });
});

describe("AlexNet geometry", () => {
  it("warns once, on the 11x11 stride-4 stem, and reaches torchvision's 6x6x256", () => {
    const text = source("alexnet.dl");
    const analysis = analyze(text);
    const stemLine = text.split("\n").findIndex((l) => l.includes("conv 64 11x11 stride 4 pad 2")) + 1;
    expect(analysis.diagnostics.map((d) => [d.code, d.span.line])).toEqual([["dropped-pixels", stemLine]]);
    const s = summarize(analysis.selected!);
    expect(s.rows.find((r) => r.kind === "conv")!.outputShape).toEqual([55, 55, 64]);
    expect(s.rows.find((r) => r.kind === "flatten")!.outputShape).toEqual([256 * 6 * 6]);
  });
});

describe("GoogLeNet stages at 224x224 match torchvision's", () => {
  it.each([
    ["pool1", [56, 56, 64]], // maxpool1 (ceil_mode): 112 → 56
    ["pool2", [28, 28, 192]], // maxpool2: 56 → 28
    ["pool3", [14, 14, 480]], // maxpool3: 28 → 14
    ["pool4", [7, 7, 832]], // maxpool4 (2x2): 14 → 7
  ] as const)("%s gives %j", (name, shape) => {
    expect(row("googlenet.dl", name).outputShape).toEqual(shape);
  });

  it("the stem conv gives 112x112x64", () => {
    expect(summaryOf("googlenet.dl").rows[0]!.outputShape).toEqual([112, 112, 64]);
  });

  it.each([
    ["inception3a", [28, 28, 256]],
    ["inception3b", [28, 28, 480]],
    ["inception4a", [14, 14, 512]],
    ["inception4b", [14, 14, 512]],
    ["inception4c", [14, 14, 512]],
    ["inception4d", [14, 14, 528]],
    ["inception4e", [14, 14, 832]],
    ["inception5a", [7, 7, 832]],
    ["inception5b", [7, 7, 1024]],
  ] as const)("%s outputs %j", (name, shape) => {
    const rows = summaryOf("googlenet.dl").rows.filter((r) => r.group?.name === name);
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.at(-1)!.outputShape).toEqual(shape);
  });

  it("is 7x7x1024 before the global average pool and [1000] at the end", () => {
    const rows = summaryOf("googlenet.dl").rows;
    const gap = rows.findIndex((r) => r.kind === "globalavgpool");
    expect(gap).toBeGreaterThan(0);
    expect(rows[gap - 1]!.outputShape).toEqual([7, 7, 1024]);
    expect(rows[gap]!.outputShape).toEqual([1024]);
    expect(rows.at(-1)!.outputShape).toEqual([1000]);
  });
});

describe("--convention", () => {
  // ResNet-18's batchnorms: the stem (64), layer1 4×64, layer2 4×128 + downsample 128,
  // layer3 4×256 + 256, layer4 4×512 + 512; each keeps a running mean and variance.
  const bnChannels = 64 + 4 * 64 + 5 * 128 + 5 * 256 + 5 * 512;
  const runningStats = 2 * bnChannels;

  it("dlc reports ResNet-18's running statistics as state, not parameters", () => {
    expect(runningStats).toBe(9_600);
    const s = summaryOf("resnet18.dl", "dlc");
    expect(s.totalParams).toBe(11_689_512);
    expect(s.stateSize).toBe(runningStats);
  });

  it("keras counts them as non-trainable parameters", () => {
    const s = summaryOf("resnet18.dl", "keras");
    expect(s.totalParams).toBe(11_689_512 + runningStats);
    expect(s.totalParams).toBe(11_699_112);
    expect(s.trainableParams).toBe(11_689_512);
    expect(s.nonTrainableParams).toBe(9_600);
    expect(s.stateSize).toBe(0);
  });

  it("pytorch adds the second LSTM bias (b_hh) of every layer", () => {
    const [v, d, h] = [96, 64, 256]; // char_lstm: embedding 96 64, lstm 256 … layers 2, dense 96
    const pytorchLstm = (units: number, f: number): number => 4 * (units * f + units * units + 2 * units);
    const expected = embeddingParams(v, d) + pytorchLstm(h, d) + pytorchLstm(h, h) + denseParams(h, v);
    expect(summaryOf("char_lstm.dl", "pytorch").totalParams).toBe(expected);
    expect(summaryOf("char_lstm.dl", "keras").totalParams).toBe(expected - 2 * 4 * h);
  });

  it("pytorch adds nothing to a GRU, which has both biases in every convention", () => {
    expect(summaryOf("gru_tagger.dl", "pytorch").totalParams).toBe(summaryOf("gru_tagger.dl", "dlc").totalParams);
  });
});

describe("hand-written networks, from §4's formulas", () => {
  it("seed: the homework network, 3 → 2 → 2 → 1, with its train block", () => {
    const analysis = analyze(source("seed.dl"));
    expect(analysis.hasErrors).toBe(false);
    const s = summarize(analysis.selected!);
    expect(s.totalParams).toBe(denseParams(3, 2) + denseParams(2, 2) + denseParams(2, 1));
    expect(s.totalParams).toBe(17);
    expect(s.rows.map((r) => [r.name, r.outputShape, r.activation])).toEqual([
      ["dense1", [2], "relu"],
      ["dense2", [2], "sigmoid"],
      ["dense3", [1], "sigmoid"],
    ]);
    expect(analysis.train?.loss).toBe("squared");
    expect(analysis.train?.optimizer?.kind).toBe("sgd");
    expect(analysis.train?.optimizer?.lr).toBe(0.7);
    expect(analysis.train?.batch).toBe(1);
    expect(analysis.train?.epochs).toBe(1);
  });

  it("char_lstm: embedding, 2 stacked LSTMs, per-step softmax", () => {
    const [t, v, d, h] = [128, 96, 64, 256];
    const expected = embeddingParams(v, d) + lstmParams(h, d) + lstmParams(h, h) + denseParams(h, v);
    expect(expected).toBe(884_832);
    const s = summaryOf("char_lstm.dl");
    expect(s.totalParams).toBe(expected);
    expect(s.input).toEqual([t]);
    expect(s.rows.at(-1)!.outputShape).toEqual([t, v]);
    // recurrent MACs: T·G·(H·F + H·H) per stacked layer; dense on [T,H]: T·H·V.
    expect(s.macs).toBe(t * 4 * (h * d + h * h) + t * 4 * (h * h + h * h) + t * h * v);
  });

  it("gru_tagger: bidirectional 2-layer GRU, layer 2 sees 2H", () => {
    const [t, v, d, h, k] = [50, 10_000, 100, 128, 17];
    const expected = embeddingParams(v, d) + 2 * gruParams(h, d) + 2 * gruParams(h, 2 * h) + denseParams(2 * h, k);
    expect(expected).toBe(1_477_457);
    const s = summaryOf("gru_tagger.dl");
    expect(s.totalParams).toBe(expected);
    expect(s.rows.at(-1)!.outputShape).toEqual([t, k]);
  });

  it("seq2seq_attention: two named inputs, bilinear attention, [context; state]", () => {
    const [ts, tt, vs, vt, d, he, hd, a] = [20, 18, 8000, 6000, 128, 128, 256, 256];
    const expected =
      embeddingParams(vs, d) +
      2 * lstmParams(he, d) + // bidirectional encoder
      embeddingParams(vt, d) +
      lstmParams(hd, d) + // decoder
      hd * (2 * he) + // bilinear kernel [Hq, Hk]
      denseParams(2 * he + hd, a) +
      denseParams(a, vt);
    expect(expected).toBe(4_188_272);
    const s = summaryOf("seq2seq_attention.dl");
    expect(s.totalParams).toBe(expected);
    expect(s.input).toEqual([ts]);
    expect(row("seq2seq_attention.dl", "enc").outputShape).toEqual([ts, 2 * he]);
    expect(row("seq2seq_attention.dl", "dec").outputShape).toEqual([tt, hd]);
    expect(row("seq2seq_attention.dl", "context").outputShape).toEqual([tt, 2 * he]);
    expect(s.rows.at(-1)!.outputShape).toEqual([tt, vt]);
  });

  it("unet: three levels with concatenated skips and a 1x1 sigmoid head", () => {
    const double = (c: number, f: number): number => convParams(3, c, f) + convParams(3, f, f);
    const expected =
      double(1, 16) +
      double(16, 32) +
      double(32, 64) +
      double(64, 128) + // bottleneck
      convParams(3, 128, 64) +
      double(64 + 64, 64) + // up3, then [up3; enc3]
      convParams(3, 64, 32) +
      double(32 + 32, 32) +
      convParams(3, 32, 16) +
      double(16 + 16, 16) +
      convParams(1, 16, 1); // head
    expect(expected).toBe(535_505);
    const s = summaryOf("unet.dl");
    expect(s.totalParams).toBe(expected);
    expect(s.input).toEqual([64, 64, 1]);
    expect(s.rows.filter((r) => r.kind === "concat").map((r) => r.outputShape)).toEqual([
      [16, 16, 128],
      [32, 32, 64],
      [64, 64, 32],
    ]);
    expect(s.rows.at(-1)!.outputShape).toEqual([64, 64, 1]);
    expect(s.rows.at(-1)!.activation).toBe("sigmoid");
  });
});
