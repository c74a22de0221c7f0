import type { CallSite, Diagnostic, Severity } from "./diagnostic.js";
import { formatPosition, type Span } from "./span.js";

interface Entry {
  readonly severity: Severity;
  /** What the code means, for `dlc explain` and the docs. */
  readonly summary: string;
}

/** Every diagnostic code dlc can report. Tests and golden files refer to these codes. */
export const CODES = {
  // syntax
  "lex-error": { severity: "error", summary: "a character that cannot start any token" },
  "syntax-error": { severity: "error", summary: "the statement does not follow the grammar" },
  "too-deep": { severity: "error", summary: "braces, parentheses or arithmetic nested too deeply to check" },
  // structure and names
  "unknown-layer": { severity: "error", summary: "a statement names no known layer kind or block" },
  "unknown-option": { severity: "error", summary: "a layer got an option word it does not take" },
  "bad-argument": { severity: "error", summary: "a layer argument is missing, extra, or of the wrong type" },
  "bad-value": { severity: "error", summary: "an argument value is out of range" },
  "duplicate-option": { severity: "warning", summary: "the same option is given twice; the last one wins" },
  "duplicate-name": { severity: "error", summary: "two layers or blocks share a name" },
  "unknown-name": { severity: "error", summary: "a reference to a name that was never defined" },
  "misplaced-statement": { severity: "error", summary: "a statement where it cannot stand" },
  "recursive-block": { severity: "error", summary: "a block that calls itself, directly or not" },
  "block-arity": { severity: "error", summary: "a block call with the wrong arguments" },
  "arithmetic": { severity: "error", summary: "integer arithmetic that fails (division, non-integer)" },
  "too-large": { severity: "error", summary: "the network expands to more layers or larger sizes than dlc handles" },
  "too-much-memory": { severity: "warning", summary: "training one sample at a time needs more memory than a compiled module can hold (4 GiB in float32)" },
  "no-network": { severity: "error", summary: "the file has no network, or not the one asked for" },
  // shapes
  "missing-input": { severity: "error", summary: "the network declares no input shape" },
  "shape-rank": { severity: "error", summary: "a layer got an input of the wrong rank" },
  "shape-size": { severity: "error", summary: "a layer's output size is not positive" },
  "shape-mismatch": { severity: "error", summary: "inputs that must agree in shape do not" },
  "kernel-too-large": { severity: "error", summary: "a kernel larger than its padded input" },
  "dropped-pixels": { severity: "warning", summary: "a conv or pool whose stride does not divide the padded size" },
  // train block
  "bad-train": { severity: "error", summary: "an unknown or malformed setting in train { }" },
  // export
  "onnx-export": { severity: "error", summary: "a layer dlc export cannot write to ONNX (not yet, or not exactly)" },
  "pytorch-export": { severity: "error", summary: "a layer dlc export cannot write to PyTorch (not yet, or not exactly)" },
  // lints
  "softmax-before-cross-entropy": { severity: "warning", summary: "cross_entropy after a network that does not end in softmax, or softmax not last" },
  "sigmoid-before-bce": { severity: "warning", summary: "binary_cross_entropy after a network that does not end in sigmoid" },
  "dropout-last": { severity: "warning", summary: "dropout as the last layer does nothing useful" },
  "unused-name": { severity: "warning", summary: "a named value nobody refers to" },
  "double-activation": { severity: "warning", summary: "two activations in a row" },
  "unused-block": { severity: "warning", summary: "a block that is never called" },
  "shadowed-option": { severity: "warning", summary: "a block parameter named like an option word" },
} as const satisfies Record<string, Entry>;

export type Code = keyof typeof CODES;

export function diagnostic(
  code: Code,
  span: Span,
  message: string,
  options: { notes?: string[]; chain?: readonly CallSite[]; severity?: Severity } = {},
): Diagnostic {
  const notes = [...(options.notes ?? [])];
  for (const site of [...(options.chain ?? [])].reverse()) {
    notes.push(`in block '${site.block}' called at ${formatPosition(site.span)}`);
  }
  return { severity: options.severity ?? CODES[code].severity, code, message, span, notes };
}
