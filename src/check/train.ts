import { diagnostic } from "../diag/codes.js";
import type { Diagnostics } from "../diag/diagnostic.js";
import type { Span } from "../diag/span.js";
import type { LossKind, TrainConfig } from "../ir/types.js";
import type * as A from "../syntax/ast.js";
import { closest } from "../util/suggest.js";

const LOSSES: readonly LossKind[] = ["squared", "cross_entropy", "binary_cross_entropy"];
const SETTINGS = ["loss", "optimizer", "batch", "epochs", "bptt", "seed", "schedule", "warmup", "weight_decay", "clip", "patience"];
type OptimizerKind = NonNullable<TrainConfig["optimizer"]>["kind"];
const OPTIMIZERS: readonly OptimizerKind[] = ["sgd", "adam", "adamw"];
const OPTIMIZER_OPTIONS: Record<OptimizerKind, readonly string[]> = { sgd: ["lr", "momentum"], adam: ["lr", "beta1", "beta2", "eps"], adamw: ["lr", "beta1", "beta2", "eps"] };
const SCHEDULES = ["step", "cosine"];

/**
 * Reads `train { … }` (§6). Every setting is optional; the CLI's flags override them. With the
 * file's `text`, messages quote what was written (`1e309`, not 'Infinity').
 */
export function readTrain(decls: readonly A.TrainDecl[], diags: Diagnostics, text?: string): TrainConfig | undefined {
  const decl = decls[0];
  for (const extra of decls.slice(1)) diags.add(diagnostic("bad-train", extra.span, "a file may hold one train { } block; this one is ignored"));
  if (!decl) return undefined;
  const config: { -readonly [K in keyof TrainConfig]: TrainConfig[K] } = { span: decl.span };
  for (const s of decl.body) {
    if (s.type !== "simple") {
      diags.add(diagnostic("bad-train", s.span, "train { } holds settings such as 'loss squared', not layers"));
      continue;
    }
    const bad = (span: Span, message: string): void => diags.add(diagnostic("bad-train", span, message));
    const words = s.args.map(literal);
    /** What arguments from..to received, for messages. */
    const got = (from: number, to = s.args.length): string => received(s.args.slice(from, to), words.slice(from, to), text);
    switch (s.head.name) {
      case "loss": {
        const w = words[0];
        if (typeof w !== "string" || !LOSSES.includes(w as LossKind) || words.length !== 1) {
          const guess = typeof w === "string" ? closest(w, LOSSES) : undefined;
          bad(s.args[0]?.span ?? s.span, `loss must be one of ${LOSSES.join(", ")}, got ${got(0)}${guess ? `; did you mean '${guess}'?` : ""}`);
        } else config.loss = w as LossKind;
        break;
      }
      case "optimizer": {
        const kind = words[0];
        if (typeof kind !== "string" || !OPTIMIZERS.includes(kind as OptimizerKind)) {
          const guess = typeof kind === "string" ? closest(kind, OPTIMIZERS) : undefined;
          bad(s.args[0]?.span ?? s.span, `optimizer must be sgd, adam or adamw, got ${got(0, 1)}${guess ? `; did you mean '${guess}'?` : ""}`);
          break;
        }
        const known = OPTIMIZER_OPTIONS[kind as OptimizerKind];
        const opt: { kind: OptimizerKind; [k: string]: number | string } = { kind: kind as OptimizerKind };
        for (let i = 1; i < words.length; i += 2) {
          const key = words[i];
          const value = words[i + 1];
          const span = s.args[i]!.span;
          if (key === "weight_decay") {
            bad(span, "weight_decay is a train setting of its own: write it on its own line ('weight_decay 0.01')");
            break;
          }
          if (typeof key !== "string" || !known.includes(key)) {
            const guess = typeof key === "string" ? closest(key, known) : undefined;
            bad(span, `${kind} takes ${known.join(", ")}, got ${got(i, i + 1)}${guess ? `; did you mean '${guess}'?` : ""}`);
            break;
          }
          if (typeof value !== "number" || !Number.isFinite(value) || value < 0 || (key === "momentum" && value >= 1)) {
            bad(s.args[i + 1]?.span ?? span, `${key} needs a number${key === "momentum" ? " with 0 ≤ momentum < 1" : " ≥ 0"}, got ${got(i + 1, i + 2)}`);
            break;
          }
          opt[key] = value;
        }
        config.optimizer = opt as TrainConfig["optimizer"];
        break;
      }
      case "batch":
      case "epochs":
      case "bptt":
      case "seed": {
        const n = words[0];
        if (typeof n !== "number" || !Number.isSafeInteger(n) || n < (s.head.name === "seed" ? 0 : 1) || words.length !== 1) {
          bad(s.args[0]?.span ?? s.span, `${s.head.name} needs a whole number${s.head.name === "seed" ? " ≥ 0" : " ≥ 1"}, got ${got(0)}`);
        } else config[s.head.name] = n;
        break;
      }
      case "schedule": {
        const kind = words[0];
        if (kind === "cosine" && words.length === 1) config.schedule = { kind: "cosine" };
        else if (kind === "step" && words.length === 3) {
          const [every, gamma] = [words[1], words[2]];
          if (!isWhole(every, 1)) bad(s.args[1]!.span, `schedule step needs the epochs between steps, a whole number ≥ 1, got ${got(1, 2)}`);
          else if (typeof gamma !== "number" || !Number.isFinite(gamma) || gamma <= 0) bad(s.args[2]!.span, `schedule step needs the factor gamma, a number > 0, got ${got(2, 3)}`);
          else config.schedule = { kind: "step", every, gamma };
        } else if (kind === "step") {
          bad(s.args[3]?.span ?? s.span, `schedule step takes the epochs between steps and the factor: 'schedule step 10 0.5', got ${got(0)}`);
        } else if (kind === "cosine") {
          bad(s.args[1]!.span, `schedule cosine takes nothing more, got ${got(0)}`);
        } else {
          const guess = typeof kind === "string" ? closest(kind, SCHEDULES) : undefined;
          bad(s.args[0]?.span ?? s.span, `schedule must be 'step E G' or 'cosine', got ${got(0)}${guess ? `; did you mean '${guess}'?` : ""}`);
        }
        break;
      }
      case "warmup":
      case "patience": {
        const n = words[0];
        if (!isWhole(n, 1) || words.length !== 1) bad(s.args[0]?.span ?? s.span, `${s.head.name} needs a whole number ≥ 1 (${s.head.name === "warmup" ? "batches" : "epochs"}), got ${got(0)}`);
        else config[s.head.name] = n;
        break;
      }
      case "weight_decay":
      case "clip": {
        const x = words[0];
        const clip = s.head.name === "clip";
        if (typeof x !== "number" || !Number.isFinite(x) || (clip ? x <= 0 : x < 0) || words.length !== 1) {
          bad(s.args[0]?.span ?? s.span, `${s.head.name} needs a number ${clip ? "> 0 (the largest gradient norm)" : "≥ 0"}, got ${got(0)}`);
        } else if (clip) config.clip = x;
        else config.weightDecay = x;
        break;
      }
      default: {
        const guess = closest(s.head.name, SETTINGS);
        bad(s.head.span, `unknown train setting '${s.head.name}'${guess ? `; did you mean '${guess}'?` : ""} (settings: ${SETTINGS.join(", ")})`);
      }
    }
  }
  return config;
}

/**
 * What a setting received, for messages: 'hinge', '0.5 2' or nothing — as written when the text is
 * known — saying so when a number is past float64 (1e309) or its exact integers (2^53 and up).
 */
function received(args: readonly A.Argument[], words: readonly (string | number | undefined)[], text: string | undefined): string {
  if (args.length === 0) return "nothing";
  const shown = text === undefined ? words.map((w) => w ?? "…") : args.map((a) => text.slice(a.span.offset, a.span.endOffset));
  const infinite = words.some((w) => typeof w === "number" && !Number.isFinite(w));
  const inexact = words.some((w) => typeof w === "number" && Number.isInteger(w) && !Number.isSafeInteger(w));
  return `'${shown.join(" ")}'${infinite ? " (too large for float64)" : inexact ? " (too large to hold exactly)" : ""}`;
}

function isWhole(x: string | number | undefined, least: number): x is number {
  return typeof x === "number" && Number.isSafeInteger(x) && x >= least;
}

function literal(a: A.Argument): string | number | undefined {
  const v = a.value;
  if (v.type === "name") return v.name;
  if (v.type === "number") return v.value;
  if (v.type === "negate" && v.operand.type === "number") return -v.operand.value;
  return undefined;
}
