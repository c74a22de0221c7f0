import type { Span } from "../diag/span.js";
import { closest } from "../util/suggest.js";
import { describeValue, type ArgValue, type EvaluatedArg } from "../ir/values.js";
import type { AnyLayerDef, OptionSpec, OptionValue, ParsedArgs, Positional, Reporter } from "./types.js";
import { shortName } from "../util/short-text.js";

/**
 * Sorts a statement's arguments into positionals, options, an activation word and `frozen`,
 * following the kind's option schema. Errors land on the argument's own span.
 */
export function readArgs(def: AnyLayerDef, args: readonly EvaluatedArg[], span: Span, activations: ReadonlySet<string>, r: Reporter): ParsedArgs {
  const positional: Positional[] = [];
  const options = new Map<string, OptionValue>();
  let activation: ParsedArgs["activation"];
  let frozen = false;
  const schema = def.options ?? {};

  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg.key !== undefined) {
      const spec = schema[arg.key];
      if (!spec) {
        unknownOption(def, arg.key, arg.keySpan ?? arg.span, activations, r);
        continue;
      }
      const value = spec.type === "flag" ? flagValue(arg.value, arg.span, arg.key, r) : checkOption(def, arg.key, spec, arg.value, arg.span, r);
      if (value !== undefined) setOption(options, arg.key, { value, span: arg.span }, r);
      continue;
    }
    const v = arg.value;
    if (v.type !== "word") {
      positional.push({ value: v, span: arg.span });
      continue;
    }
    const word = v.word;
    if (word === "frozen") {
      frozen = true;
      continue;
    }
    const spec = schema[word];
    if (spec) {
      if (spec.type === "flag") {
        setOption(options, word, { value: true, span: arg.span }, r);
        continue;
      }
      const next = args[i + 1];
      if (!next || next.key !== undefined) {
        r.error("bad-argument", arg.span, `'${word}' needs a value: ${optionSyntax(word, spec)}`);
        continue;
      }
      i++;
      const value = checkOption(def, word, spec, next.value, next.span, r);
      if (value !== undefined) setOption(options, word, { value, span: joinSpan(arg.span, next.span) }, r);
      continue;
    }
    if (def.takesActivation && activations.has(word)) {
      if (activation) r.error("bad-argument", arg.span, `${def.kind} takes one activation, got '${activation.kind}' and '${word}'`);
      let alpha: number | undefined;
      const next = args[i + 1];
      if (word === "leakyrelu" && next && next.key === undefined && next.value.type === "number") {
        alpha = next.value.value;
        i++;
      }
      activation = { kind: word, alpha, span: arg.span };
      continue;
    }
    if (def.takesReferences) {
      positional.push({ value: v, span: arg.span });
      continue;
    }
    unknownOption(def, word, arg.span, activations, r);
  }
  return { positional, options, activation, frozen, span };
}

function setOption(options: Map<string, OptionValue>, key: string, value: OptionValue, r: Reporter): void {
  if (options.has(key)) r.warn("duplicate-option", value.span, `'${key}' is given twice; the last value wins`);
  options.set(key, value);
}

function flagValue(v: ArgValue, span: Span, key: string, r: Reporter): true | undefined {
  if (v.type === "word" && (v.word === "true" || v.word === "yes")) return true;
  r.error("bad-value", span, `'${key}' is a flag: write it alone, without a value`);
  return undefined;
}

function checkOption(def: AnyLayerDef, key: string, spec: OptionSpec, v: ArgValue, span: Span, r: Reporter): ArgValue | undefined {
  const wanted = optionSyntax(key, spec);
  switch (spec.type) {
    case "flag":
      return undefined;
    case "bool":
      if (v.type === "word" && (v.word === "true" || v.word === "false")) return v;
      r.error("bad-value", span, `${def.kind} expects ${wanted}, got '${describeValue(v)}'`);
      return undefined;
    case "int":
      if (v.type === "word" && spec.words?.includes(v.word)) return v;
      if (v.type === "number" && v.isInteger && v.value >= (spec.min ?? -Infinity)) return v;
      r.error("bad-value", span, `${def.kind} expects ${wanted}, got '${describeValue(v)}'`);
      return undefined;
    case "number":
      if (v.type === "number" && v.value >= (spec.min ?? -Infinity) && (spec.exclusiveMax ? v.value < (spec.max ?? Infinity) : v.value <= (spec.max ?? Infinity))) return v;
      r.error("bad-value", span, `${def.kind} expects ${wanted}, got '${describeValue(v)}'`);
      return undefined;
  }
}

export function optionSyntax(key: string, spec: OptionSpec): string {
  switch (spec.type) {
    case "flag":
      return key;
    case "bool":
      return `${key} true|false`;
    case "int": {
      const lower = spec.min !== undefined ? `an integer ≥ ${spec.min}` : "an integer";
      return `${key} <${[lower, ...(spec.words ?? [])].join(" | ")}>`;
    }
    case "number":
      return `${key} <number${spec.min !== undefined ? ` ≥ ${spec.min}` : ""}${spec.max !== undefined ? ` ${spec.exclusiveMax ? "<" : "≤"} ${spec.max}` : ""}>`;
  }
}

function unknownOption(def: AnyLayerDef, word: string, span: Span, activations: ReadonlySet<string>, r: Reporter): void {
  const candidates = [...Object.keys(def.options ?? {}), ...(def.takesActivation ? activations : []), "frozen"];
  const guess = closest(word, candidates);
  const hint = guess ? `; did you mean '${guess}'?` : candidates.length > 1 ? `; it takes ${candidates.filter((c) => c !== "frozen").join(", ") || "no options"}` : "";
  r.error("unknown-option", span, `${def.kind} has no option '${shortName(word)}'${hint}`);
}

function joinSpan(a: Span, b: Span): Span {
  return { ...a, endLine: b.endLine, endColumn: b.endColumn, endOffset: b.endOffset };
}

// ---- helpers for `resolve` -------------------------------------------------------------

export function intOption(p: ParsedArgs, key: string): number | undefined {
  const o = p.options.get(key);
  return o && o.value !== true && o.value.type === "number" ? o.value.value : undefined;
}

export function wordOption(p: ParsedArgs, key: string): string | undefined {
  const o = p.options.get(key);
  return o && o.value !== true && o.value.type === "word" ? o.value.word : undefined;
}

export function boolOption(p: ParsedArgs, key: string, fallback: boolean): boolean {
  const o = p.options.get(key);
  if (!o) return fallback;
  if (o.value === true) return true;
  return o.value.type === "word" ? o.value.word === "true" : fallback;
}

export function hasFlag(p: ParsedArgs, key: string): boolean {
  return p.options.has(key);
}

/** Reports positionals past the `max` a kind takes. */
export function noExtraPositionals(kind: string, p: ParsedArgs, max: number, syntax: string, r: Reporter): void {
  for (const extra of p.positional.slice(max)) {
    r.error("bad-argument", extra.span, `unexpected argument '${describeValue(extra.value)}': ${kind} is written ${syntax}`);
  }
}

/** A required positive integer at `index`. */
export function positiveInt(kind: string, p: ParsedArgs, index: number, what: string, syntax: string, r: Reporter): number | undefined {
  const a = p.positional[index];
  if (!a) {
    r.error("bad-argument", p.span, `${kind} needs ${what}: ${syntax}`);
    return undefined;
  }
  if (a.value.type !== "number" || !a.value.isInteger || a.value.value < 1) {
    r.error("bad-value", a.span, `${kind} expects ${what} (a positive integer), got '${describeValue(a.value)}'`);
    return undefined;
  }
  return a.value.value;
}
