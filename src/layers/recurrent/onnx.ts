import type { OnnxContext, OnnxExport } from "../../export/onnx/types.js";
import type { RecurrentArgs } from "../recurrent.js";
import { GATES } from "../recurrent.js";
import type { PartPrefix } from "./kernel.js";

const OP = { rnn: "RNN", lstm: "LSTM", gru: "GRU" } as const;

/**
 * ONNX's gate blocks in terms of dlc's (Keras') blocks: lstm i, f, c, o → ONNX i, o, f, c;
 * gru z, r, h and rnn's one block are in the same order in both.
 */
const ONNX_GATE_ORDER = { rnn: [0], lstm: [0, 3, 1, 2], gru: [0, 1, 2] } as const;

/** The rows of a [G·H, …] block in ONNX's gate order: dlc's row of each ONNX row. */
function onnxGateRows(a: RecurrentArgs): number[] {
  const h = a.units;
  return ONNX_GATE_ORDER[a.cell].flatMap((b) => Array.from({ length: h }, (_, j) => b * h + j));
}

/** [F, G·H] (dlc, Keras) → [G·H, F] with ONNX's gate order: a transpose and a row gather, in the graph. */
function onnxMatrix(ctx: OnnxContext, name: string, a: RecurrentArgs, rows: number): string {
  const t = ctx.op("Transpose", [ctx.param(name)], { perm: { ints: [1, 0] } });
  const index = onnxGateRows(a);
  const ordered = index.every((r, i) => r === i) ? t : ctx.op("Gather", [t, ctx.constant([index.length], index, "int64")], { axis: { int: 0 } });
  return ctx.op("Reshape", [ordered, ctx.constant([3], [1, GATES[a.cell] * a.units, rows], "int64")]);
}

/**
 * ONNX's B = [Wb, Rb] of [2·G·H]: gru's [2, G·H] bias is that already (input bias, then recurrent
 * bias); rnn and lstm have one input bias, reordered, and a zero recurrent bias.
 */
function onnxBias(ctx: OnnxContext, name: string, a: RecurrentArgs): string {
  const gh = GATES[a.cell] * a.units;
  const bias = ctx.param(name);
  if (a.cell === "gru") return ctx.op("Reshape", [bias, ctx.constant([2], [1, 2 * gh], "int64")]);
  const input = ctx.op("Gather", [bias, ctx.constant([gh], onnxGateRows(a), "int64")], { axis: { int: 0 } });
  const both = ctx.op("Concat", [input, ctx.constant([gh], new Array<number>(gh).fill(0), "float")], { axis: { int: 0 } });
  return ctx.op("Reshape", [both, ctx.constant([2], [1, 2 * gh], "int64")]);
}

/**
 * rnn, lstm and gru as ONNX's RNN/LSTM/GRU, one node per stacked layer (both directions in one
 * node), on [T, N, F] between transposes. From a zero state, as dlc's layers start. gru is
 * Keras' reset-after form: linear_before_reset 1. Without `sequences`, the output is Y_h: the
 * forward direction's last step and the backward direction's final state (at t = 1), as dlc.
 */
export function recurrentOnnx(partPrefix: PartPrefix): OnnxExport<RecurrentArgs> {
  return (ctx, a) => {
    const [steps, features] = ctx.inputShapes[0]! as [number, number];
    const dirs = a.bidirectional ? 2 : 1;
    const h = a.units;
    let x = ctx.inputs[0]!;
    let out = x;
    for (let layer = 0; layer < a.layers; layer++) {
      const f = layer === 0 ? features : dirs * h;
      const parts = (which: (prefix: string) => string): string => {
        const each = (a.bidirectional ? [false, true] : [false]).map((backward) => which(partPrefix(a, layer, backward)));
        return each.length === 1 ? each[0]! : ctx.op("Concat", each, { axis: { int: 0 } });
      };
      const w = parts((p) => onnxMatrix(ctx, `${p}kernel`, a, f));
      const r = parts((p) => onnxMatrix(ctx, `${p}recurrent_kernel`, a, h));
      const b = parts((p) => onnxBias(ctx, `${p}bias`, a));
      const timeMajor = ctx.op("Transpose", [x], { perm: { ints: [1, 0, 2] } });
      const attributes = {
        hidden_size: { int: h },
        direction: { string: a.bidirectional ? "bidirectional" : "forward" },
        ...(a.cell === "gru" ? { linear_before_reset: { int: 1 } } : {}),
      };
      const [y, yh] = ctx.opWithOutputs(OP[a.cell], [timeMajor, w, r, b], 2, attributes) as [string, string];
      const last = layer === a.layers - 1;
      if (last && !a.sequences) {
        // Y_h [D, N, H] → [N, D·H]: forward ‖ backward.
        out = ctx.op("Reshape", [ctx.op("Transpose", [yh], { perm: { ints: [1, 0, 2] } }), ctx.constant([2], [0, dirs * h], "int64")]);
      } else {
        // Y [T, D, N, H] → [N, T, D·H]: forward ‖ backward at each step.
        out = ctx.op("Reshape", [ctx.op("Transpose", [y], { perm: { ints: [2, 0, 1, 3] } }), ctx.constant([3], [0, steps, dirs * h], "int64")]);
      }
      x = out;
    }
    return out;
  };
}
