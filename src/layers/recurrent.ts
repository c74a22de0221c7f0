import { hasFlag, intOption, noExtraPositionals, positiveInt } from "./args.js";
import { defineLayer, type LayerDef, type ParamSpec } from "./types.js";
import { recurrentKernel } from "./recurrent/kernel.js";
import { recurrentEmit } from "./recurrent/emit.js";
import { recurrentOnnx } from "./recurrent/onnx.js";
import { recurrentPytorch } from "./recurrent/pytorch.js";

export type Cell = "rnn" | "lstm" | "gru";

export interface RecurrentArgs {
  readonly cell: Cell;
  readonly units: number;
  readonly sequences: boolean;
  readonly bidirectional: boolean;
  readonly layers: number;
  /** Truncated BPTT window from the layer's own `bptt K` option, if any. */
  readonly bptt?: number;
}

/** `layers L` above this is refused (too-large). */
export const MAX_STACKED_LAYERS = 1000;

/** Gates per cell: the G of §4's formulas. */
export const GATES: Record<Cell, number> = { rnn: 1, lstm: 4, gru: 3 };

/** `l2.fw.kernel` for stacked or bidirectional layers, plain `kernel` otherwise (§8). */
export function partPrefix(a: RecurrentArgs, layer: number, backward: boolean): string {
  if (a.layers === 1 && !a.bidirectional) return "";
  return `l${layer + 1}.${backward ? "bw" : "fw"}.`;
}

function recurrent(cell: Cell): LayerDef<RecurrentArgs> {
  const syntax = `${cell} H [sequences] [bidirectional] [layers L]`;
  const g = GATES[cell];
  return defineLayer<RecurrentArgs>({
    kind: cell,
    syntax,
    description: `${cell.toUpperCase()} over [T,F]; the last step [H], or every step [T,H] with sequences`,
    options: { sequences: { type: "flag" }, bidirectional: { type: "flag" }, layers: { type: "int", min: 1 }, bptt: { type: "int", min: 1 } },
    resolve(p, r) {
      const units = positiveInt(cell, p, 0, "a hidden size H", syntax, r);
      noExtraPositionals(cell, p, 1, syntax, r);
      if (units === undefined) return undefined;
      const layers = intOption(p, "layers") ?? 1;
      if (layers > MAX_STACKED_LAYERS) {
        // Each stacked layer gets its own weights: a billion of them is an error, not an out-of-memory.
        r.error("too-large", p.options.get("layers")?.span ?? p.span, `${cell} stacks at most ${MAX_STACKED_LAYERS} layers, got ${layers}`);
        return undefined;
      }
      return { cell, units, sequences: hasFlag(p, "sequences"), bidirectional: hasFlag(p, "bidirectional"), layers, bptt: intOption(p, "bptt") };
    },
    shape([x], a, ctx) {
      if (!ctx.expectRank(0, [2], "[T,F]")) return undefined;
      const h = a.bidirectional ? 2 * a.units : a.units;
      return a.sequences ? [x![0]!, h] : [h];
    },
    params([x], a) {
      const specs: ParamSpec[] = [];
      const h = a.units;
      for (let layer = 0; layer < a.layers; layer++) {
        const f = layer === 0 ? x![1]! : a.bidirectional ? 2 * h : h;
        for (const backward of a.bidirectional ? [false, true] : [false]) {
          const prefix = partPrefix(a, layer, backward);
          specs.push({ name: `${prefix}kernel`, shape: [f, g * h], init: "glorot" });
          specs.push({ name: `${prefix}recurrent_kernel`, shape: [h, g * h], init: "orthogonal" });
          specs.push({ name: `${prefix}bias`, shape: cell === "gru" ? [2, g * h] : [g * h], init: "zeros" });
        }
      }
      return specs;
    },
    pytorchExtraParams(_x, a) {
      // PyTorch keeps a second bias vector (b_hh) for rnn and lstm; Keras' GRU already has two.
      return cell === "gru" ? 0 : g * a.units * a.layers * (a.bidirectional ? 2 : 1);
    },
    macs([x], _out, a) {
      const t = x![0]!;
      const h = a.units;
      let total = 0;
      for (let layer = 0; layer < a.layers; layer++) {
        const f = layer === 0 ? x![1]! : a.bidirectional ? 2 * h : h;
        total += (a.bidirectional ? 2 : 1) * t * g * (h * f + h * h);
      }
      return total;
    },
    kernel: recurrentKernel(cell, partPrefix),
    emit: recurrentEmit(partPrefix),
    onnx: recurrentOnnx(partPrefix),
    pytorch: recurrentPytorch(partPrefix),
  });
}

export const rnn = recurrent("rnn");
export const lstm = recurrent("lstm");
export const gru = recurrent("gru");
