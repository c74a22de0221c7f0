import type { Span } from "../diag/span.js";

export interface Name {
  readonly name: string;
  readonly span: Span;
}

export type Expr =
  /** `text`: the literal as written, kept where `String(value)` would not give it back (`1e309`, `9007199254740993`). */
  | { readonly type: "number"; readonly value: number; readonly isInteger: boolean; readonly span: Span; readonly text?: string }
  | { readonly type: "name"; readonly name: string; readonly span: Span }
  | { readonly type: "binary"; readonly op: "+" | "-" | "*" | "/"; readonly left: Expr; readonly right: Expr; readonly span: Span }
  | { readonly type: "negate"; readonly operand: Expr; readonly span: Span };

/** A value an argument can take: an expression or a dimension literal such as `5x5`. */
export type Value = Expr | { readonly type: "dims"; readonly dims: readonly number[]; readonly span: Span };

export interface Argument {
  /** `key = value` when named. */
  readonly key?: Name;
  readonly value: Value;
  readonly span: Span;
}

interface StatementBase {
  /** `name:` before the statement. */
  readonly label?: Name;
  /** The whole statement, from `layer` or its label to its last token. */
  readonly span: Span;
}

/** `head args…` — a layer, a block call, `input`, `from`, `add`, a train setting… */
export interface SimpleStatement extends StatementBase {
  readonly type: "simple";
  readonly head: Name;
  readonly args: readonly Argument[];
  /** Whether the arguments came as `head(a, b)`. */
  readonly callForm: boolean;
  /** Source text from the head word on, as messages quote it. */
  readonly text: string;
  readonly textSpan: Span;
}

export interface RepeatStatement extends StatementBase {
  readonly type: "repeat";
  readonly count: Expr;
  readonly body: readonly Statement[];
}

export interface ResidualStatement extends StatementBase {
  readonly type: "residual";
  readonly body: readonly Statement[];
  readonly shortcut?: { readonly body: readonly Statement[]; readonly span: Span };
}

export interface ParallelStatement extends StatementBase {
  readonly type: "parallel";
  readonly branches: readonly { readonly body: readonly Statement[]; readonly span: Span }[];
}

export type Statement = SimpleStatement | RepeatStatement | ResidualStatement | ParallelStatement;

export interface NetworkDecl {
  readonly name?: Name;
  readonly body: readonly Statement[];
  readonly span: Span;
}

export interface BlockParam {
  readonly name: Name;
  readonly defaultValue?: Value;
}

export interface BlockDecl {
  readonly name: Name;
  readonly params: readonly BlockParam[];
  readonly body: readonly Statement[];
  readonly span: Span;
}

export interface TrainDecl {
  readonly body: readonly Statement[];
  readonly span: Span;
}

export interface FileAst {
  readonly networks: readonly NetworkDecl[];
  readonly blocks: readonly BlockDecl[];
  readonly trains: readonly TrainDecl[];
}
