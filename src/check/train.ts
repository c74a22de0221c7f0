import { diagnostic } from "../diag/codes.js";
import type { Diagnostics } from "../diag/diagnostic.js";
import type { Span } from "../diag/span.js";
import type { LossKind, TrainConfig } from "../ir/types.js";
import type * as A from "../syntax/ast.js";
import { closest } from "../util/suggest.js";

const LOSSES: readonly LossKind[] = ["squared", "cross_entropy", "binary_cross_entropy"];
const SETTINGS = ["loss", "optimizer", "batch", "epochs", "bptt", "seed"];
const OPTIMIZER_OPTIONS: Record<"sgd" | "adam", readonly string[]> = { sgd: ["lr", "momentum"], adam: ["lr", "beta1", "beta2", "eps"] };

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
        if (kind !== "sgd" && kind !== "adam") {
          const guess = typeof kind === "string" ? closest(kind, ["sgd", "adam"]) : undefined;
          bad(s.args[0]?.span ?? s.span, `optimizer must be sgd or adam, got ${got(0, 1)}${guess ? `; did you mean '${guess}'?` : ""}`);
          break;
        }
        const opt: { kind: "sgd" | "adam"; [k: string]: number | string } = { kind };
        for (let i = 1; i < words.length; i += 2) {
          const key = words[i];
          const value = words[i + 1];
          const span = s.args[i]!.span;
          if (typeof key !== "string" || !OPTIMIZER_OPTIONS[kind].includes(key)) {
            const guess = typeof key === "string" ? closest(key, OPTIMIZER_OPTIONS[kind]) : undefined;
            bad(span, `${kind} takes ${OPTIMIZER_OPTIONS[kind].join(", ")}, got ${got(i, i + 1)}${guess ? `; did you mean '${guess}'?` : ""}`);
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

function literal(a: A.Argument): string | number | undefined {
  const v = a.value;
  if (v.type === "name") return v.name;
  if (v.type === "number") return v.value;
  if (v.type === "negate" && v.operand.type === "number") return -v.operand.value;
  return undefined;
}
