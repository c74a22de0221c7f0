import type { Span } from "../diag/span.js";

/** An argument after block parameters are substituted and arithmetic is done. */
export type ArgValue =
  /** `text`: a literal's source text where it differs from `String(value)` (see the AST's number). */
  | { readonly type: "number"; readonly value: number; readonly isInteger: boolean; readonly text?: string }
  | { readonly type: "dims"; readonly dims: readonly number[] }
  | { readonly type: "word"; readonly word: string };

export interface EvaluatedArg {
  readonly key?: string;
  readonly keySpan?: Span;
  readonly value: ArgValue;
  readonly span: Span;
}

export function describeValue(v: ArgValue): string {
  switch (v.type) {
    case "number":
      // As written: `1e309` is not 'Infinity', nor 9007199254740993 its nearest double.
      return v.text ?? String(v.value);
    case "dims":
      return v.dims.join("x");
    case "word":
      return v.word;
  }
}
