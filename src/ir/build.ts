import { diagnostic, type Code } from "../diag/codes.js";
import { Diagnostics, type CallSite } from "../diag/diagnostic.js";
import type { Span } from "../diag/span.js";
import { readArgs } from "../layers/args.js";
import { activationKinds, layerDef, registry } from "../layers/registry.js";
import type { AnyLayerDef, Reporter } from "../layers/types.js";
import type * as A from "../syntax/ast.js";
import { shortName } from "../util/short-text.js";
import { closest, SUGGESTION_CELLS, type SuggestionBudget } from "../util/suggest.js";
import { evaluate, type Env } from "./evaluate.js";
import type { Shape } from "./shape.js";
import type { Group, IrNetwork, IrNode } from "./types.js";
import { describeValue, type ArgValue, type EvaluatedArg } from "./values.js";

/** No network expands past this many nodes: `repeat 1000000000` is an error, not an OOM. */
export const MAX_NODES = 1_000_000;
/** Block calls nest at most this deep (recursion is caught earlier, by name). */
export const MAX_CALL_DEPTH = 64;
/**
 * Statements visited while expanding, layers or not: bounds the work of bodies that make few
 * layers per iteration (`repeat 1000000 { relu  repeat 10 { }  repeat 10 { } … }`).
 */
export const MAX_VISITS = 5 * MAX_NODES;
/**
 * Bodies (repeat, residual, branch) and block calls nest at most this deep once calls are
 * expanded: 64 calls of 60-deep bodies each would otherwise overflow the stack.
 */
export const MAX_EXPANDED_DEPTH = 256;

export interface BuildOptions {
  /** `--input`: supplies or overrides the first input's shape. */
  readonly inputShape?: Shape;
}

interface Scope {
  readonly names: Map<string, number>;
  /** Display-name prefix for labels inside a block call (`b1/`). */
  readonly prefix: string;
}

interface Context {
  readonly env: Env;
  readonly chain: readonly CallSite[];
  readonly group?: Group;
  readonly scope: Scope;
  readonly blockStack: readonly string[];
  /** Bodies and block calls around this statement, once calls are expanded. */
  readonly depth: number;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export function buildNetwork(net: A.NetworkDecl, blocks: ReadonlyMap<string, A.BlockDecl>, diags: Diagnostics, options: BuildOptions = {}): IrNetwork {
  return new Builder(blocks, diags, options).network(net);
}

/** Checks block declarations once per file: duplicates, names of built-in kinds, odd parameters. */
export function collectBlocks(decls: readonly A.BlockDecl[], diags: Diagnostics): Map<string, A.BlockDecl> {
  const blocks = new Map<string, A.BlockDecl>();
  for (const b of decls) {
    if (registry.has(b.name.name) || b.name.name === "from") {
      diags.add(diagnostic("duplicate-name", b.name.span, `block '${b.name.name}' has the name of a built-in layer kind; choose another name`));
      continue;
    }
    if (blocks.has(b.name.name)) {
      diags.add(diagnostic("duplicate-name", b.name.span, `block '${b.name.name}' is defined twice (first at ${blocks.get(b.name.name)!.name.span.line}:${blocks.get(b.name.name)!.name.span.column})`));
      continue;
    }
    blocks.set(b.name.name, b);
    const seen = new Set<string>();
    let sawDefault = false;
    for (const p of b.params) {
      if (seen.has(p.name.name)) diags.add(diagnostic("duplicate-name", p.name.span, `block '${b.name.name}' has two parameters named '${p.name.name}'`));
      seen.add(p.name.name);
      if (p.defaultValue) sawDefault = true;
      else if (sawDefault) diags.add(diagnostic("block-arity", p.name.span, `parameter '${p.name.name}' has no default but follows one that has`));
      if (optionWords().has(p.name.name)) {
        diags.add(diagnostic("shadowed-option", p.name.span, `parameter '${p.name.name}' is also an option word; inside '${b.name.name}' every '${p.name.name}' means the parameter's value`));
      }
    }
  }
  return blocks;
}

let optionWordCache: Set<string> | undefined;
function optionWords(): Set<string> {
  if (!optionWordCache) {
    optionWordCache = new Set(["frozen", ...activationKinds]);
    for (const def of registry.values()) for (const k of Object.keys(def.options ?? {})) optionWordCache.add(k);
  }
  return optionWordCache;
}

class Builder {
  private readonly nodes: Mutable<IrNode>[] = [];
  private readonly inputs: number[] = [];
  private readonly groupCounters = new Map<string, number>();
  private readonly takenNames = new Set<string>();
  private groupIds = 0;
  private usesNames = false;
  private tooLarge = false;
  private visits = 0;
  /** Shared by every "did you mean" of this network, so that many typos stay cheap too. */
  private readonly suggestionBudget: SuggestionBudget = { cells: 4 * SUGGESTION_CELLS };
  /** Unknown layer kinds and names by `code name`: reported at the first use, later uses noted there. */
  private readonly unknowns = new Map<string, UnknownUse>();
  /** What one call of each block makes, as `estimate` sees it with unknown parameters. */
  private readonly blockSizes = new Map<string, Size>();

  constructor(
    private readonly blocks: ReadonlyMap<string, A.BlockDecl>,
    private readonly diags: Diagnostics,
    private readonly options: BuildOptions,
  ) {}

  network(net: A.NetworkDecl): IrNetwork {
    const scope: Scope = { names: new Map(), prefix: "" };
    const ctx: Context = { env: new Map(), chain: [], scope, blockStack: [], depth: 0 };
    let current: number | undefined;
    const declaresInput = net.body.some((s) => s.type === "simple" && s.head.name === "input");
    if (!declaresInput) {
      if (!this.options.inputShape) {
        const at = net.body[0]?.span ?? net.span;
        this.diags.add(diagnostic("missing-input", at, `${net.name ? `network '${net.name.name}'` : "the network"} has no input shape: add a statement such as 'input 28x28x1', or pass --input`));
      }
      current = this.addInputNode(net.span, this.options.inputShape, true);
    }
    current = this.statements(net.body, current, ctx);
    this.reportUnknowns();
    this.assignNames();
    return { name: net.name?.name ?? null, span: net.span, nodes: this.nodes, inputs: this.inputs, output: current, isGraph: this.usesNames };
  }

  private addInputNode(span: Span, shape: Shape | undefined, synthesized: boolean, label?: A.Name, text = "input"): number {
    const id = this.nodes.length;
    this.nodes.push({
      id,
      kind: "input",
      def: registry.get("input")!,
      args: shape ? { shape } : undefined,
      name: label?.name ?? "",
      explicitName: label !== undefined,
      frozen: false,
      inputs: [],
      span,
      text,
      chain: [],
      synthesized,
      inputShape: shape,
    });
    this.inputs.push(id);
    return id;
  }

  private statements(list: readonly A.Statement[], current: number | undefined, ctx: Context): number | undefined {
    for (const s of list) {
      if (this.tooLarge) return current;
      current = this.statement(s, current, ctx);
    }
    return current;
  }

  private statement(s: A.Statement, current: number | undefined, ctx: Context): number | undefined {
    if (++this.visits > MAX_VISITS) {
      this.tooLarge = true;
      this.report("too-large", s.span, `the network's repeats and block calls expand to more than ${MAX_VISITS.toLocaleString("en-US")} statements; dlc handles networks of up to ${MAX_NODES.toLocaleString("en-US")} layers`, ctx);
      return current;
    }
    if (ctx.depth > MAX_EXPANDED_DEPTH) {
      this.tooLarge = true;
      this.report("too-large", s.span, `blocks and bodies nest deeper than ${MAX_EXPANDED_DEPTH} levels once block calls are expanded`, ctx);
      return current;
    }
    const inner: Context = { ...ctx, depth: ctx.depth + 1 };
    switch (s.type) {
      case "simple":
        return this.simple(s, current, ctx);
      case "repeat":
        return this.repeat(s, current, ctx);
      case "residual": {
        const x = current;
        const body = this.statements(s.body, x, inner);
        const shortcut = s.shortcut ? this.statements(s.shortcut.body, x, inner) : x;
        if (body === undefined || shortcut === undefined) return body ?? shortcut;
        return this.join("add", s, [body, shortcut], "residual", ctx);
      }
      case "parallel": {
        const x = current;
        if (s.branches.length === 0) {
          this.report("bad-argument", s.span, "parallel needs at least one 'branch { … }'", ctx);
          return current;
        }
        const outs = s.branches.map((b) => this.statements(b.body, x, inner));
        const known = outs.filter((o): o is number => o !== undefined);
        if (known.length === 0) return current;
        return this.join("concat", s, known, "parallel", ctx);
      }
    }
  }

  private join(kind: "add" | "concat", s: A.Statement, inputs: number[], text: string, ctx: Context): number {
    const node = this.addNode({ kind, def: registry.get(kind)!, args: {}, label: s.label, inputs, span: s.span, text, frozen: false, synthesized: true }, ctx);
    return node;
  }

  private repeat(s: A.RepeatStatement, current: number | undefined, ctx: Context): number | undefined {
    const count = evaluate(s.count, ctx.env, this.diags, ctx.chain);
    if (!count) return current;
    if (count.type !== "number" || !count.isInteger || count.value < 0) {
      this.report("bad-value", s.count.span, `repeat expects a count that is a whole number ≥ 0, got '${describeValue(count)}'`, ctx);
      return current;
    }
    const perIteration = this.estimate(s.body, ctx.env, 0, new Set(ctx.blockStack));
    // A body that makes no layer (`repeat 1000 { repeat 1000 { } }`) does the same each time:
    // expanding it once reports its mistakes without running count iterations of nothing.
    const iterations = perIteration.layers === 0 ? Math.min(count.value, 1) : count.value;
    const expansion = { layers: count.value * perIteration.layers, visits: iterations * perIteration.visits };
    if (this.refuseExpansion(`repeat ${count.value}`, expansion, s.span, ctx)) return current;
    if (s.label) this.report("misplaced-statement", s.label.span, "a repeat cannot be named; name a layer inside it instead", ctx);
    const inner: Context = { ...ctx, depth: ctx.depth + 1 };
    for (let i = 0; i < iterations && !this.tooLarge; i++) current = this.statements(s.body, current, inner);
    return current;
  }

  private simple(s: A.SimpleStatement, current: number | undefined, ctx: Context): number | undefined {
    const head = s.head.name;
    if (head === "from") return this.from(s, current, ctx);
    if (head === "input") {
      if (ctx.blockStack.length > 0) {
        this.report("misplaced-statement", s.span, "a block cannot declare an input; declare it in the network", ctx);
        return current;
      }
      const args = this.evaluateArgs(s, ctx);
      const def = registry.get("input")!;
      const parsed = readArgs(def, args ?? [], s.span, activationKinds, this.reporter(ctx));
      const resolved = args ? (def.resolve(parsed, this.reporter(ctx)) as { shape: Shape } | undefined) : undefined;
      const first = this.inputs.length === 0;
      const shape = first && this.options.inputShape ? this.options.inputShape : resolved?.shape;
      if (s.label) this.usesNames = true;
      const id = this.addInputNode(s.span, shape, false, s.label, s.text);
      if (s.label) this.bindName(s.label, id, ctx);
      return id;
    }
    const block = this.blocks.get(head);
    if (block) return this.call(block, s, current, ctx);
    const def = layerDef(head);
    if (!def) {
      this.unknown("unknown-layer", head, s.head.span, ctx, () => {
        const guess = closest(head, [...registry.keys(), ...this.blocks.keys(), "from"], this.suggestionBudget);
        return `unknown layer kind '${shortName(head)}'${guess ? `; did you mean '${shortName(guess)}'?` : ""}`;
      });
      return current;
    }
    return this.layer(def, s, current, ctx);
  }

  private from(s: A.SimpleStatement, current: number | undefined, ctx: Context): number | undefined {
    this.usesNames = true;
    const [arg, ...rest] = s.args;
    if (!arg || arg.value.type !== "name" || rest.length > 0) {
      this.report("bad-argument", s.span, "from takes one name: from NAME", ctx);
      return current;
    }
    return this.lookup(arg.value.name, arg.span, ctx) ?? current;
  }

  private layer(def: AnyLayerDef, s: A.SimpleStatement, current: number | undefined, ctx: Context): number | undefined {
    const args = this.evaluateArgs(s, ctx);
    if (!args) return current;
    const r = this.reporter(ctx);
    const parsed = readArgs(def, args, s.span, activationKinds, r);
    let inputs: number[];
    let positional = parsed;
    if (def.takesReferences) {
      this.usesNames = true;
      const refs: number[] = [];
      for (const p of parsed.positional) {
        if (p.value.type !== "word") {
          r.error("bad-argument", p.span, `${def.kind} takes names of values, got '${describeValue(p.value)}'`);
          continue;
        }
        const id = this.lookup(p.value.word, p.span, ctx);
        if (id === undefined) return current;
        refs.push(id);
      }
      positional = { ...parsed, positional: [] };
      if (refs.length === 0 && def.kind !== "attention") {
        r.error("bad-argument", s.span, `${def.kind} needs the names of the values to combine: ${def.syntax}`);
        return current;
      }
      if (def.kind === "attention" && (refs.length === 0 || refs.length > 2)) {
        r.error("bad-argument", s.span, `attention needs the name of its memory, and optionally its query first: ${def.syntax}`);
        return current;
      }
      if (refs.length < 2) {
        if (current === undefined) {
          r.error("bad-argument", s.span, `${def.kind} with one name combines it with the value before it, and there is none`);
          return current;
        }
        refs.unshift(current);
      }
      inputs = refs;
    } else {
      if (current === undefined) {
        // Only a network whose `input` comes later gets here: nothing flows into this layer.
        this.report("misplaced-statement", s.span, `'${s.text}' comes before the network's input, so nothing flows into it; put 'input SHAPE' first`, ctx);
        return current;
      }
      inputs = [current];
    }
    const resolved = def.resolve(positional, r);
    if (resolved === undefined) return current;
    if (s.callForm && s.args.length === 0 && def.kind !== "flatten") {
      // `dense()` — harmless, resolve already reported what is missing.
    }
    return this.addNode(
      {
        kind: def.kind,
        def,
        args: resolved,
        label: s.label,
        inputs,
        span: s.span,
        text: s.text,
        frozen: parsed.frozen,
        synthesized: false,
        activation: parsed.activation ? { kind: parsed.activation.kind, alpha: parsed.activation.alpha } : undefined,
      },
      ctx,
    );
  }

  private call(block: A.BlockDecl, s: A.SimpleStatement, current: number | undefined, ctx: Context): number | undefined {
    const name = block.name.name;
    if (ctx.blockStack.includes(name)) {
      this.report("recursive-block", s.head.span, `block '${name}' calls itself (${[...ctx.blockStack, name].join(" → ")})`, ctx);
      return current;
    }
    if (ctx.blockStack.length >= MAX_CALL_DEPTH) {
      this.report("too-large", s.head.span, `block calls nest deeper than ${MAX_CALL_DEPTH}`, ctx);
      return current;
    }
    const args = this.evaluateArgs(s, ctx);
    if (!args) return current;
    const env = this.bindParams(block, s, args, ctx);
    if (!env) return current;
    const size = this.estimate(block.body, env, 0, new Set([...ctx.blockStack, name]));
    if (this.refuseExpansion(`calling '${name}'`, size, s.span, ctx)) return current;
    const index = (this.groupCounters.get(name) ?? 0) + 1;
    this.groupCounters.set(name, index);
    const groupName = s.label ? ctx.scope.prefix + s.label.name : `${ctx.scope.prefix}${name}${index}`;
    const group: Group = { id: this.groupIds++, block: name, name: groupName, span: s.span, parent: ctx.group };
    const inner: Context = {
      env,
      chain: [...ctx.chain, { block: name, span: s.span }],
      group,
      scope: { names: new Map(), prefix: `${groupName}/` },
      blockStack: [...ctx.blockStack, name],
      depth: ctx.depth + 1,
    };
    const out = this.statements(block.body, current, inner);
    if (s.label && out !== undefined) this.bindName(s.label, out, ctx);
    return out;
  }

  private bindParams(block: A.BlockDecl, s: A.SimpleStatement, args: readonly EvaluatedArg[], ctx: Context): Map<string, ArgValue> | undefined {
    const env = new Map<string, ArgValue>();
    const params = block.params;
    let ok = true;
    let position = 0;
    const signature = `${block.name.name}(${params.map((p) => p.name.name + (p.defaultValue ? " = …" : "")).join(", ")})`;
    for (const a of args) {
      if (a.key !== undefined) {
        if (!params.some((p) => p.name.name === a.key)) {
          const guess = closest(a.key, params.map((p) => p.name.name));
          this.report("block-arity", a.keySpan ?? a.span, `block '${block.name.name}' has no parameter '${a.key}'${guess ? `; did you mean '${guess}'?` : ""} — it is ${signature}`, ctx);
          ok = false;
        } else if (env.has(a.key)) {
          this.report("block-arity", a.span, `parameter '${a.key}' is given twice`, ctx);
          ok = false;
        } else env.set(a.key, a.value);
        continue;
      }
      const p = params[position++];
      if (!p) {
        const given = args.filter((x) => x.key === undefined).length;
        this.report("block-arity", a.span, `block '${block.name.name}' takes ${params.length} argument${params.length === 1 ? "" : "s"}, got ${given} — it is ${signature}`, ctx);
        ok = false;
        continue;
      }
      if (env.has(p.name.name)) {
        this.report("block-arity", a.span, `parameter '${p.name.name}' is given twice`, ctx);
        ok = false;
      }
      env.set(p.name.name, a.value);
    }
    for (const p of params) {
      if (env.has(p.name.name)) continue;
      if (!p.defaultValue) {
        this.report("block-arity", s.span, `block '${block.name.name}' needs a value for '${p.name.name}' — it is ${signature}`, ctx);
        ok = false;
        continue;
      }
      const v = evaluate(p.defaultValue, env, this.diags, ctx.chain);
      if (!v) ok = false;
      else env.set(p.name.name, v);
    }
    return ok ? env : undefined;
  }

  private evaluateArgs(s: A.SimpleStatement, ctx: Context): EvaluatedArg[] | undefined {
    const out: EvaluatedArg[] = [];
    let ok = true;
    for (const a of s.args) {
      const value = evaluate(a.value, ctx.env, this.diags, ctx.chain);
      if (!value) {
        ok = false;
        continue;
      }
      out.push({ key: a.key?.name, keySpan: a.key?.span, value, span: a.span });
    }
    return ok ? out : undefined;
  }

  private addNode(
    n: { kind: string; def: AnyLayerDef; args: unknown; label?: A.Name; inputs: number[]; span: Span; text: string; frozen: boolean; synthesized: boolean; activation?: IrNode["activation"] },
    ctx: Context,
  ): number {
    if (this.nodes.length >= MAX_NODES) {
      if (!this.tooLarge) this.report("too-large", n.span, `the network expands to more than ${MAX_NODES.toLocaleString("en-US")} layers`, ctx);
      this.tooLarge = true;
      return n.inputs[0] ?? 0;
    }
    const id = this.nodes.length;
    this.nodes.push({
      id,
      kind: n.kind,
      def: n.def,
      args: n.args,
      name: n.label ? ctx.scope.prefix + n.label.name : "",
      explicitName: n.label !== undefined,
      activation: n.activation,
      frozen: n.frozen,
      inputs: n.inputs,
      span: n.span,
      text: n.text,
      chain: ctx.chain,
      group: ctx.group,
      synthesized: n.synthesized,
    });
    if (n.label) this.bindName(n.label, id, ctx);
    return id;
  }

  private bindName(label: A.Name, id: number, ctx: Context): void {
    ctx.scope.names.set(label.name, id);
  }

  private lookup(name: string, span: Span, ctx: Context): number | undefined {
    this.usesNames = true;
    const id = ctx.scope.names.get(name);
    if (id !== undefined) return id;
    this.unknown("unknown-name", name, span, ctx, () => {
      const guess = closest(name, ctx.scope.names.keys(), this.suggestionBudget);
      return `no value is named '${shortName(name)}'${guess ? `; did you mean '${shortName(guess)}'?` : ctx.scope.names.size === 0 ? " (name a statement with 'NAME: …' first)" : ""}`;
    });
    return undefined;
  }

  /**
   * One diagnostic per unknown layer kind or name, at its first use (the message, with its
   * suggestion, made then and only then); later uses elsewhere become a note on it.
   */
  private unknown(code: "unknown-layer" | "unknown-name", name: string, span: Span, ctx: Context, message: () => string): void {
    const key = `${code} ${name}`;
    const known = this.unknowns.get(key);
    if (!known) {
      this.unknowns.set(key, { code, span, message: message(), chain: ctx.chain, offsets: new Set([span.offset]), laterUses: [] });
      return;
    }
    // The same statement met again (a repeat, a second block call) is the same use.
    if (known.offsets.has(span.offset)) return;
    known.offsets.add(span.offset);
    known.laterUses.push(span);
  }

  private reportUnknowns(): void {
    for (const u of this.unknowns.values()) {
      const notes = u.laterUses.length === 0 ? [] : [alsoUsedAt(u.laterUses)];
      this.diags.add(diagnostic(u.code, u.span, u.message, { chain: u.chain, notes }));
    }
  }

  /** Labels stay as written (made unique); the rest are kind + a running index per kind. */
  private assignNames(): void {
    // The next suffix to try per label, so that a label repeated n times costs n, not n².
    const nextSuffix = new Map<string, number>();
    for (const n of this.nodes) {
      if (!n.explicitName) continue;
      let name = n.name;
      if (this.takenNames.has(name)) {
        let k = nextSuffix.get(n.name) ?? 2;
        while (this.takenNames.has(`${n.name}_${k}`)) k++;
        name = `${n.name}_${k}`;
        nextSuffix.set(n.name, k + 1);
      }
      n.name = name;
      this.takenNames.add(name);
    }
    const counters = new Map<string, number>();
    // Generated names (kind + count) can only meet one another when a kind ends in a digit
    // (`pool2` + 1 = `pool` + 21); otherwise they need checking against the labels alone, and
    // the set stays small: a set of a million names cost a third of a million-layer check.
    const generatedMayMeet = this.nodes.some((n) => !n.explicitName && /\d$/.test(n.kind));
    for (const n of this.nodes) {
      if (n.explicitName) continue;
      let name: string;
      do {
        const k = (counters.get(n.kind) ?? 0) + 1;
        counters.set(n.kind, k);
        name = n.kind === "input" && this.inputs.length === 1 ? "input" : `${n.kind}${k}`;
      } while (this.takenNames.has(name) && n.kind !== "input");
      n.name = name;
      if (generatedMayMeet || n.kind === "input") this.takenNames.add(name);
    }
  }

  private reporter(ctx: Context): Reporter {
    return {
      error: (code, span, message) => this.report(code, span, message, ctx),
      warn: (code, span, message) => this.diags.add(diagnostic(code, span, message, { chain: ctx.chain, severity: "warning" })),
    };
  }

  /**
   * Refuses (too-large) an expansion, `what` (a repeat or a block call), that would make the
   * network more than MAX_NODES layers or visit more than MAX_VISITS statements; true if refused.
   */
  private refuseExpansion(what: string, size: Size, span: Span, ctx: Context): boolean {
    let message: string;
    if (this.nodes.length + size.layers > MAX_NODES) {
      message = `${what} would grow the network to about ${(this.nodes.length + size.layers).toLocaleString("en-US")} layers; dlc handles networks of up to ${MAX_NODES.toLocaleString("en-US")}`;
    } else if (this.visits + size.visits > MAX_VISITS) {
      message = `${what} would expand to about ${size.visits.toLocaleString("en-US")} statements; dlc expands at most ${MAX_VISITS.toLocaleString("en-US")}`;
    } else return false;
    this.tooLarge = true;
    this.report("too-large", span, message, ctx);
    return true;
  }

  private report(code: Code, span: Span, message: string, ctx: Context): void {
    this.diags.add(diagnostic(code, span, message, { chain: ctx.chain }));
  }

  /**
   * How many nodes `body` makes if every statement in it works, and how many statements
   * expanding it visits, to refuse a huge expansion before making it. Repeat counts are
   * evaluated under `env` where they can be (one that cannot counts once); a block's own size
   * is worked out once, with its parameters unknown. What this misses (a count hidden in a
   * block parameter), the caps in addNode and statement catch.
   */
  private estimate(body: readonly A.Statement[], env: Env, depth: number, visiting: Set<string>): Size {
    let layers = 0;
    let visits = 0;
    if (depth > MAX_EXPANDED_DEPTH) return { layers, visits }; // refused anyway, when expanded
    const add = (size: Size, times = 1): void => {
      layers += times * size.layers;
      visits += times * size.visits;
    };
    for (const s of body) {
      visits++;
      switch (s.type) {
        case "simple": {
          const b = this.blocks.get(s.head.name);
          if (b) add(this.blockSize(b, depth + 1, visiting));
          else layers++;
          break;
        }
        case "repeat": {
          const count = staticCount(s.count, env);
          if (count === 0) break;
          const inner = this.estimate(s.body, env, depth + 1, visiting);
          add(inner, inner.layers === 0 ? 1 : count); // as `repeat` expands it
          break;
        }
        case "residual":
          layers++;
          add(this.estimate(s.body, env, depth + 1, visiting));
          if (s.shortcut) add(this.estimate(s.shortcut.body, env, depth + 1, visiting));
          break;
        case "parallel":
          layers++;
          for (const b of s.branches) add(this.estimate(b.body, env, depth + 1, visiting));
          break;
      }
    }
    return { layers, visits };
  }

  private blockSize(b: A.BlockDecl, depth: number, visiting: Set<string>): Size {
    const name = b.name.name;
    const known = this.blockSizes.get(name);
    if (known !== undefined) return known;
    if (visiting.has(name)) return { layers: 1, visits: 1 }; // recursion: reported when expanded
    visiting.add(name);
    // 0 layers only where no parameter could change it: counts that need one count once.
    const size = this.estimate(b.body, new Map(), depth, visiting);
    visiting.delete(name);
    this.blockSizes.set(name, size);
    return size;
  }
}

/** What expanding some statements makes (layers) and costs (statements visited). */
interface Size {
  readonly layers: number;
  readonly visits: number;
}

interface UnknownUse {
  readonly code: "unknown-layer" | "unknown-name";
  readonly span: Span;
  readonly message: string;
  readonly chain: readonly CallSite[];
  readonly offsets: Set<number>;
  readonly laterUses: Span[];
}

/** "also used at 5:3, 7:1 and 9:3", or past four places the first three and how many more. */
function alsoUsedAt(uses: readonly Span[]): string {
  const at = (s: Span): string => `${s.line}:${s.column}`;
  if (uses.length > 4) return `also used at ${uses.slice(0, 3).map(at).join(", ")} and ${(uses.length - 3).toLocaleString("en-US")} more places (reported once)`;
  const shown = uses.map(at);
  const last = shown.pop()!;
  return `also used at ${shown.length > 0 ? `${shown.join(", ")} and ${last}` : last} (reported once)`;
}

/** A repeat count known without expanding anything; 1 when it cannot be known here. */
function staticCount(count: A.Expr, env: Env): number {
  const v = evaluate(count, env, new Diagnostics(), []); // silently: the repeat reports its own errors
  return v && v.type === "number" && v.isInteger && v.value >= 0 ? v.value : 1;
}
