import { intOption } from "./args.js";
import { defineLayer, type ParamSpec } from "./types.js";
import { attentionKernel } from "./attention-kernel.js";
import { attentionEmit } from "./attention-emit.js";
import { attentionOnnx } from "./attention-onnx.js";
import { attentionPytorch } from "./attention-pytorch.js";

export type Score = "dot" | "bilinear" | "mlp";

export interface AttentionArgs {
  readonly score: Score;
  /** Hidden size of the mlp (additive, Bahdanau) score; defaults to the query's size. */
  readonly units?: number;
}

const syntax = "attention [QUERY] MEMORY [dot|bilinear|mlp] [units U]";

/**
 * Attention of a query [Tq,Hq] (or [Hq]) over a memory [Tk,Hk]: scores, softmax over Tk,
 * and the weighted sum of memory rows, [Tq,Hk] (or [Hk]). Scores: dot q·k (Hq = Hk);
 * bilinear q·W·k with W [Hq,Hk]; mlp v·tanh(Wq·q + Wk·k) with Wq [Hq,U], Wk [Hk,U], v [U].
 */
export const attention = defineLayer<AttentionArgs>({
  kind: "attention",
  syntax,
  description: "attention of the current value (the query) over a named memory",
  takesReferences: true,
  options: { dot: { type: "flag" }, bilinear: { type: "flag" }, mlp: { type: "flag" }, units: { type: "int", min: 1 } },
  resolve(p, r) {
    const scores = (["dot", "bilinear", "mlp"] as const).filter((s) => p.options.has(s));
    if (scores.length > 1) {
      r.error("bad-argument", p.span, `attention takes one score, got ${scores.join(" and ")}`);
      return undefined;
    }
    const score = scores[0] ?? "dot";
    const units = intOption(p, "units");
    if (units !== undefined && score !== "mlp") r.error("bad-argument", p.options.get("units")!.span, `'units' only applies to the mlp score`);
    return { score, units };
  },
  shape([q, m], a, ctx) {
    if (!ctx.expectRank(0, [1, 2], "query [Tq,H] or [H]")) return undefined;
    if (!ctx.expectRank(1, [2], "memory [T,H]")) return undefined;
    const hq = q![q!.length - 1]!;
    const hk = m![1]!;
    if (a.score === "dot" && hq !== hk) {
      ctx.error("shape-mismatch", `attention with dot scores needs query and memory of one feature size, got ${ctx.describeInput(0)} and ${ctx.describeInput(1)}; use bilinear or mlp scores for different sizes`);
      return undefined;
    }
    return q!.length === 2 ? [q![0]!, hk] : [hk];
  },
  params([q, m], a) {
    const hq = q![q!.length - 1]!;
    const hk = m![1]!;
    const specs: ParamSpec[] = [];
    if (a.score === "bilinear") specs.push({ name: "kernel", shape: [hq, hk], init: "glorot" });
    if (a.score === "mlp") {
      const u = a.units ?? hq;
      specs.push({ name: "query_kernel", shape: [hq, u], init: "glorot" });
      specs.push({ name: "memory_kernel", shape: [hk, u], init: "glorot" });
      specs.push({ name: "score_vector", shape: [u], init: "glorot", fans: [u, 1] });
    }
    return specs;
  },
  macs([q, m], _out, a) {
    const tq = q!.length === 2 ? q![0]! : 1;
    const hq = q![q!.length - 1]!;
    const [tk, hk] = [m![0]!, m![1]!];
    const context = tq * tk * hk;
    switch (a.score) {
      case "dot":
        return tq * tk * hq + context;
      case "bilinear":
        return tq * hq * hk + tq * tk * hk + context;
      case "mlp": {
        const u = a.units ?? hq;
        return tq * hq * u + tk * hk * u + tq * tk * u + context;
      }
    }
  },
  kernel: attentionKernel,
  emit: attentionEmit,
  onnx: attentionOnnx,
  pytorch: attentionPytorch,
});
