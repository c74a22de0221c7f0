import type { CstNode, IToken } from "chevrotain";
import { diagnostic } from "../diag/codes.js";
import type { Diagnostics } from "../diag/diagnostic.js";
import { spanOfToken, spanOfTokens, type Span } from "../diag/span.js";
import type * as A from "./ast.js";

type Child = CstNode | IToken;

function isToken(c: Child): c is IToken {
  return (c as IToken).image !== undefined;
}

function real(t: IToken): boolean {
  return !t.isInsertedInRecovery && Number.isFinite(t.startOffset);
}

type Bounds = readonly [first: IToken, last: IToken];

/** Where a node's bounds are remembered: a private key, invisible to chevrotain and to `for…in`. */
const BOUNDS = Symbol("dlc.bounds");
type WithBounds = CstNode & { [BOUNDS]?: Bounds | null };

/** A statement converted on its own, before the list it stands in is. */
interface Converted {
  readonly span: Span;
  readonly statement?: A.Statement;
  /** The body of a `shortcut { … }`, which belongs to the statement before it. */
  readonly shortcut?: A.Statement[];
}

/** Where a settled statement's conversion is kept on its stand-in node. */
const SETTLED = Symbol("dlc.settled");
type Settled = WithBounds & { [SETTLED]?: Converted | undefined };

/**
 * First and last real tokens under a node (recovery may have inserted phantom ones).
 * The conversion asks for the span of a statement, then of its head, arguments and
 * factors; without a memo each ask walked the subtree again, which was two thirds of the
 * front end's time on a 10,000-layer file (bench/RESULTS.md). Each node's answer is kept
 * on the node itself (CSTs are built per parse and dropped after conversion), so every
 * node is visited once; a Map keyed by the ~5 nodes per layer measured 3× slower.
 */
class TokenBounds {
  of(node: Child): Bounds | undefined {
    if (isToken(node)) return real(node) ? [node, node] : undefined;
    return this.ofNode(node);
  }

  private ofNode(node: WithBounds): Bounds | undefined {
    const known = node[BOUNDS];
    if (known !== undefined) return known ?? undefined;
    let first: IToken | undefined;
    let last: IToken | undefined;
    for (const key in node.children) {
      for (const child of node.children[key] as Child[]) {
        let lo: IToken;
        let hi: IToken;
        if (isToken(child)) {
          if (!real(child)) continue;
          lo = hi = child;
        } else {
          const b = this.ofNode(child);
          if (!b) continue;
          [lo, hi] = b;
        }
        if (!first || lo.startOffset < first.startOffset) first = lo;
        if (!last || hi.startOffset > last.startOffset) last = hi;
      }
    }
    const found: Bounds | undefined = first && last ? [first, last] : undefined;
    node[BOUNDS] = found ?? null;
    return found;
  }

  span(node: Child): Span | undefined {
    const b = this.of(node);
    return b ? spanOfTokens(b[0], b[1]) : undefined;
  }

  /** The nodes in source order (recovery can leave a list out of order). */
  byOffset(list: CstNode[]): CstNode[] {
    return list
      .map((n) => ({ n, at: this.of(n)?.[0].startOffset ?? Number.POSITIVE_INFINITY }))
      .sort((a, b) => a.at - b.at)
      .map((x) => x.n);
  }
}

function nodes(node: CstNode, key: string): CstNode[] {
  return ((node.children[key] ?? []) as Child[]).filter((c): c is CstNode => !isToken(c));
}

function tokens(node: CstNode, key: string): IToken[] {
  return ((node.children[key] ?? []) as Child[]).filter((c): c is IToken => isToken(c) && real(c));
}

function nameOf(t: IToken): A.Name {
  return { name: t.image, span: spanOfToken(t) };
}

/** A number as written; its text is kept only where the value would not print back as it (rare, so no cost per literal). */
function numberLiteral(image: string, isInteger: boolean, span: Span): A.Expr {
  const value = Number(image);
  return String(value) === image ? { type: "number", value, isInteger, span } : { type: "number", value, isInteger, span, text: image };
}

/** `b` where it covers what `a` does (spans are never changed once made), else `a`. */
function sameRegion(a: Span, b: Span): Span {
  return a.offset === b.offset && a.endOffset === b.endOffset && a.line === b.line && a.column === b.column && a.endLine === b.endLine && a.endColumn === b.endColumn ? b : a;
}

/** CST → AST. Defensive: any part that recovery left incomplete is dropped, never thrown on. */
export class CstToAst {
  private readonly bounds = new TokenBounds();

  constructor(
    private readonly text: string,
    private readonly diags: Diagnostics,
  ) {}

  file(node: CstNode): A.FileAst {
    const networks: A.NetworkDecl[] = [];
    const blocks: A.BlockDecl[] = [];
    const trains: A.TrainDecl[] = [];
    for (const n of nodes(node, "networkDecl")) {
      const net = this.network(n);
      if (net) networks.push(net);
    }
    for (const n of nodes(node, "blockDecl")) {
      const b = this.block(n);
      if (b) blocks.push(b);
    }
    for (const n of nodes(node, "trainDecl")) {
      const body = nodes(n, "body")[0];
      const span = this.bounds.span(n);
      if (span) trains.push({ body: body ? this.body(body) : [], span });
    }
    const loose = this.statements(nodes(node, "statement"));
    if (loose.length > 0) {
      const span = loose.reduce<Span>((acc, s) => ({ ...acc, endLine: s.span.endLine, endColumn: s.span.endColumn, endOffset: s.span.endOffset }), loose[0]!.span);
      networks.unshift({ body: loose, span });
    }
    networks.sort((a, b) => a.span.offset - b.span.offset);
    return { networks, blocks, trains };
  }

  private network(node: CstNode): A.NetworkDecl | undefined {
    const span = this.bounds.span(node);
    if (!span) return undefined;
    const id = tokens(node, "Identifier")[0];
    const body = nodes(node, "body")[0];
    return { name: id ? nameOf(id) : undefined, body: body ? this.body(body) : [], span };
  }

  private block(node: CstNode): A.BlockDecl | undefined {
    const span = this.bounds.span(node);
    const id = tokens(node, "Identifier")[0];
    if (!span || !id) return undefined;
    const params: A.BlockParam[] = [];
    for (const p of nodes(node, "param")) {
      const pid = tokens(p, "Identifier")[0];
      if (!pid) continue;
      const v = nodes(p, "value")[0];
      const defaultValue = v ? this.value(v) : undefined;
      params.push({ name: nameOf(pid), defaultValue });
    }
    const body = nodes(node, "body")[0];
    return { name: nameOf(id), params, body: body ? this.body(body) : [], span };
  }

  private body(node: CstNode): A.Statement[] {
    return this.statements(nodes(node, "statement"));
  }

  /**
   * Converts one statement as soon as the parser has it (see DlParser.settleStatement) and
   * returns the stand-in that takes its place in the CST: its bounds and its conversion,
   * without its subtree, which can then be collected.
   */
  settle(node: CstNode): CstNode {
    const bounds = this.bounds.of(node);
    const standIn: Settled = { name: node.name, children: {}, [BOUNDS]: bounds ?? null, [SETTLED]: this.convert(node) };
    return standIn;
  }

  /** Where a node's real tokens lie, if it has any. */
  spanOf(node: CstNode): Span | undefined {
    return this.bounds.span(node);
  }

  private statements(list: CstNode[]): A.Statement[] {
    const out: A.Statement[] = [];
    for (const node of this.bounds.byOffset(list)) {
      const converted = (node as Settled)[SETTLED] ?? this.convert(node);
      if (!converted) continue;
      const { span } = converted;
      if (converted.shortcut) {
        const previous = out[out.length - 1];
        if (previous && previous.type === "residual" && !previous.shortcut) {
          out[out.length - 1] = { ...previous, shortcut: { body: converted.shortcut, span }, span: { ...previous.span, endLine: span.endLine, endColumn: span.endColumn, endOffset: span.endOffset } };
        } else {
          this.diags.add(diagnostic("misplaced-statement", span, "'shortcut' must directly follow a 'residual { … }' statement"));
        }
        continue;
      }
      if (converted.statement) out.push(converted.statement);
    }
    return out;
  }

  /** One statement node on its own; a `shortcut` is joined to the `residual` before it by `statements`. */
  private convert(node: CstNode): Converted | undefined {
    const span = this.bounds.span(node);
    if (!span) return undefined;
    const shortcut = nodes(node, "shortcutStmt")[0];
    if (shortcut) {
      const bodyNode = nodes(shortcut, "body")[0];
      return { span, shortcut: bodyNode ? this.body(bodyNode) : [] };
    }
    const labelToken = tokens(node, "label")[0];
    const label = labelToken ? nameOf(labelToken) : undefined;
    return { span, statement: this.statement(node, span, label) };
  }

  private statement(node: CstNode, span: Span, label: A.Name | undefined): A.Statement | undefined {
    const repeat = nodes(node, "repeatStmt")[0];
    if (repeat) {
      const countNode = nodes(repeat, "expr")[0];
      const count = countNode ? this.expr(countNode) : undefined;
      const bodyNode = nodes(repeat, "body")[0];
      if (!count) return undefined;
      return { type: "repeat", label, span, count, body: bodyNode ? this.body(bodyNode) : [] };
    }
    const residual = nodes(node, "residualStmt")[0];
    if (residual) {
      const bodyNode = nodes(residual, "body")[0];
      return { type: "residual", label, span, body: bodyNode ? this.body(bodyNode) : [] };
    }
    const parallel = nodes(node, "parallelStmt")[0];
    if (parallel) {
      const branches = this.bounds.byOffset(nodes(parallel, "branch")).flatMap((b) => {
        const bspan = this.bounds.span(b);
        const bodyNode = nodes(b, "body")[0];
        return bspan ? [{ body: bodyNode ? this.body(bodyNode) : [], span: bspan }] : [];
      });
      return { type: "parallel", label, span, branches };
    }
    const simple = nodes(node, "simpleStmt")[0];
    if (simple) return this.simple(simple, span, label);
    return undefined;
  }

  private simple(node: CstNode, span: Span, label: A.Name | undefined): A.SimpleStatement | undefined {
    const head = tokens(node, "head")[0];
    if (!head) return undefined;
    // Without a label, the statement's span is the same region: one object serves both (a
    // million-line file has a million of each).
    const textSpan = sameRegion(this.bounds.span(node) ?? spanOfToken(head), span);
    const callArgs = nodes(node, "callArg");
    const args = [...this.bounds.byOffset(callArgs), ...this.bounds.byOffset(nodes(node, "argument"))].flatMap((a) => {
      const arg = this.argument(a);
      return arg ? [arg] : [];
    });
    const callForm = tokens(node, "LParen").length > 0;
    return { type: "simple", label, span, head: nameOf(head), args, callForm, text: this.text.slice(textSpan.offset, textSpan.endOffset), textSpan };
  }

  private argument(node: CstNode): A.Argument | undefined {
    const span = this.bounds.span(node);
    const valueNode = nodes(node, "value")[0];
    if (!span || !valueNode) return undefined;
    const value = this.value(valueNode);
    if (!value) return undefined;
    const key = tokens(node, "key")[0];
    return { key: key ? nameOf(key) : undefined, value, span: sameRegion(span, value.span) };
  }

  private value(node: CstNode): A.Value | undefined {
    const dim = tokens(node, "Dim")[0];
    if (dim) {
      const parts = dim.image.split("x");
      // 99999999999999999999x4 would become [1e20, 4] and 9999…(400 digits)x4 [Infinity, 4]: refused as written.
      if (parts.some((p) => !Number.isSafeInteger(Number(p)))) {
        const shown = dim.image.length > 40 ? `${dim.image.slice(0, 40)}…` : dim.image;
        this.diags.add(diagnostic("too-large", spanOfToken(dim), `'${shown}' has a size too large to hold exactly (sizes are whole numbers below 2^53)`));
        return undefined;
      }
      return { type: "dims", dims: parts.map(Number), span: spanOfToken(dim) };
    }
    const e = nodes(node, "expr")[0];
    return e ? this.expr(e) : undefined;
  }

  private expr(node: CstNode): A.Expr | undefined {
    return this.chain(node, "term", ["Plus", "Minus"], (n) => this.term(n));
  }

  private term(node: CstNode): A.Expr | undefined {
    return this.chain(node, "factor", ["Star", "Slash"], (n) => this.factor(n));
  }

  /** Left-associative `a op b op c`, pairing operands and operators by source position. */
  private chain(node: CstNode, operandKey: string, opKeys: string[], operand: (n: CstNode) => A.Expr | undefined): A.Expr | undefined {
    const operands = this.bounds.byOffset(nodes(node, operandKey)).map(operand);
    const ops = opKeys.flatMap((k) => tokens(node, k)).sort((a, b) => a.startOffset - b.startOffset);
    let acc = operands[0];
    if (!acc) return undefined;
    for (let i = 0; i < ops.length; i++) {
      const right = operands[i + 1];
      if (!right) return undefined;
      const op = ops[i]!.image as "+" | "-" | "*" | "/";
      acc = { type: "binary", op, left: acc, right, span: { ...acc.span, endLine: right.span.endLine, endColumn: right.span.endColumn, endOffset: right.span.endOffset } };
    }
    return acc;
  }

  private factor(node: CstNode): A.Expr | undefined {
    const span = this.bounds.span(node);
    if (!span) return undefined;
    const int = tokens(node, "Integer")[0];
    if (int) return numberLiteral(int.image, true, span);
    const dec = tokens(node, "Decimal")[0];
    if (dec) return numberLiteral(dec.image, false, span);
    const id = tokens(node, "Identifier")[0];
    if (id) return { type: "name", name: id.image, span };
    const inner = nodes(node, "expr")[0];
    if (inner) {
      const e = this.expr(inner);
      return e ? { ...e, span } : undefined;
    }
    const operandNode = nodes(node, "factor")[0];
    if (operandNode) {
      const operand = this.factor(operandNode);
      return operand ? { type: "negate", operand, span } : undefined;
    }
    return undefined;
  }
}
