/*
 * TypeScript → JavaScript for the generated module's \`js\` target without typescript's emitter:
 * the types are blanked out where they stand (see stripTypes), so prettier formats the result once.
 */

/** Bumped when the way the runtime is formatted changes, so that old caches are not used. */
export const STRIP_VERSION = "dlc-format-2";

/** TypeScript that stripTypes does not turn into JavaScript (dlc never generates it). */
export class UnsupportedTypeScript extends Error {}

interface AstNode {
  readonly type: string;
  readonly start: number;
  readonly end: number;
  readonly [key: string]: unknown;
}

/** TypeScript declarations that are only types: removed whole (an `export` before one too). */
const TYPE_ONLY_DECLARATIONS: ReadonlySet<string> = new Set(["TSInterfaceDeclaration", "TSTypeAliasDeclaration", "TSDeclareFunction"]);
/** Types in expressions and declarations: removed whole, never looked into. */
const TYPE_NODES: ReadonlySet<string> = new Set(["TSTypeAnnotation", "TSTypeParameterDeclaration", "TSTypeParameterInstantiation"]);
const MODIFIERS = /\b(?:private|protected|public|readonly|override)\b/g;
const SKIPPED_KEYS: ReadonlySet<string> = new Set(["loc", "range", "extra", "comments", "leadingComments", "trailingComments", "innerComments", "errors", "tokens"]);

/**
 * TypeScript → JavaScript by blanking out the types (as Node's --strip-types and ts-blank-space
 * do): annotations, interfaces, type aliases, overload signatures, `as`/`satisfies`, `!`,
 * generics, and the class-member modifiers `private`, `readonly` and the like. The blanks keep
 * the lines where they were; prettier tidies the spaces away. A declaration that goes also takes
 * the comment lines right above it (its doc comment). Parameter properties
 * (`constructor(private readonly x: T)`) become what typescript emits for ES2022: a field `x;`
 * first in the class body and `this.x = x;` first in the constructor (after `super(…)`).
 * Throws UnsupportedTypeScript on what needs more than that (enums, namespaces, decorators,
 * `<T>x` casts).
 */
export async function stripTypes(code: string): Promise<string> {
  const { parsers } = await import("prettier/plugins/babel");
  const parser = parsers["babel-ts"];
  const file = (await parser.parse(code, {} as Parameters<typeof parser.parse>[1])) as unknown as AstNode & { readonly program: AstNode; readonly comments: readonly AstNode[] };
  const cuts: [number, number][] = [];
  /** Text inserted at a position (parameter properties' fields and assignments); no line breaks, so lines stay where they were. */
  const inserts: [number, string][] = [];
  const comments = file.comments;

  /** Start of the comment lines directly above `start` (no blank line between), or `start`. */
  const withDocComment = (start: number): number => {
    let lo = 0;
    let hi = comments.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (comments[mid]!.end <= start) lo = mid + 1;
      else hi = mid;
    }
    let s = start;
    for (let i = lo - 1; i >= 0; i--) {
      const c = comments[i]!;
      const gap = code.slice(c.end, s);
      if (!/^[ \t]*\r?\n?[ \t]*$/.test(gap)) break;
      const lineStart = code.lastIndexOf("\n", c.start - 1) + 1;
      if (code.slice(lineStart, c.start).trim() !== "") break;
      s = c.start;
    }
    return s;
  };
  const removeDeclaration = (n: AstNode): void => {
    cuts.push([withDocComment(n.start), n.end]);
  };
  /** Blanks the characters `chars` between from and to (`?` and `!` after a name). */
  const removeMarks = (from: number, to: number, chars: RegExp): void => {
    for (let i = from; i < to; i++) if (chars.test(code[i]!)) cuts.push([i, i + 1]);
  };
  const removeModifiers = (n: AstNode): void => {
    const key = n["key"] as AstNode | undefined;
    if (!key) return;
    const head = code.slice(n.start, key.start);
    for (const m of head.matchAll(MODIFIERS)) cuts.push([n.start + m.index, n.start + m.index + m[0].length]);
  };
  const unsupported = (n: AstNode, what = n.type): never => {
    throw new UnsupportedTypeScript(`stripTypes: ${what} at ${n.start}`);
  };

  /** A constructor's parameter properties as typescript emits them: fields first in the class body, assignments first in the constructor (after super). */
  const addParameterProperties = (ctor: AstNode, classBody: AstNode): void => {
    const names = (ctor["params"] as AstNode[])
      .filter((p) => p.type === "TSParameterProperty")
      .map((p) => {
        const parameter = p["parameter"] as AstNode;
        const id = (parameter.type === "AssignmentPattern" ? parameter["left"] : parameter) as AstNode;
        if (id.type !== "Identifier") unsupported(p, "a destructured parameter property");
        return id["name"] as string;
      });
    if (names.length === 0) return;
    inserts.push([classBody.start + 1, names.map((x) => ` ${x};`).join("")]);
    const body = ctor["body"] as AstNode;
    const statements = body["body"] as AstNode[];
    const superCall = statements.find((st) => {
      const e = st["expression"] as AstNode | undefined;
      return st.type === "ExpressionStatement" && e?.type === "CallExpression" && (e["callee"] as AstNode).type === "Super";
    });
    // After super(…) a `;` first where its statement ends without one.
    const after = superCall && code[superCall.end - 1] !== ";" ? ";" : "";
    inserts.push([superCall ? superCall.end : body.start + 1, after + names.map((x) => ` this.${x} = ${x};`).join("")]);
  };

  const visit = (n: AstNode, parent: AstNode | undefined): void => {
    const t = n.type;
    if (TYPE_NODES.has(t)) {
      cuts.push([n.start, n.end]);
      return;
    }
    if (TYPE_ONLY_DECLARATIONS.has(t)) {
      if (parent?.type === "ExportDefaultDeclaration") unsupported(n, "export default of a type");
      removeDeclaration(parent?.type === "ExportNamedDeclaration" ? parent : n);
      return;
    }
    switch (t) {
      case "TSAsExpression":
      case "TSSatisfiesExpression": {
        const type = n["typeAnnotation"] as AstNode;
        const expression = n["expression"] as AstNode;
        const keyword = t === "TSAsExpression" ? "as" : "satisfies";
        const at = code.lastIndexOf(keyword, type.start - keyword.length - 1);
        if (at < expression.end) unsupported(n);
        cuts.push([at, n.end]);
        visit(expression, n);
        return;
      }
      case "TSNonNullExpression":
        if (code[n.end - 1] !== "!") unsupported(n);
        cuts.push([n.end - 1, n.end]);
        visit(n["expression"] as AstNode, n);
        return;
      case "TSDeclareMethod":
      case "TSIndexSignature":
        removeDeclaration(n);
        return;
      case "TSParameterProperty": {
        if (n["decorators"]) unsupported(n, "a decorator");
        const parameter = n["parameter"] as AstNode;
        cuts.push([n.start, parameter.start]);
        visit(parameter, n);
        return;
      }
      case "ClassProperty":
      case "ClassPrivateProperty":
      case "ClassAccessorProperty":
      case "ClassMethod":
      case "ClassPrivateMethod": {
        if (n["declare"] || n["abstract"]) {
          removeDeclaration(n);
          return;
        }
        if (n["decorators"]) unsupported(n, "a decorator");
        removeModifiers(n);
        if (t === "ClassMethod" && n["kind"] === "constructor" && parent) addParameterProperties(n, parent);
        if (n["optional"] || n["definite"]) {
          // The `?` or `!` between the name and what follows it: a type, a value or the parameters.
          const key = n["key"] as AstNode;
          const next = (n["typeParameters"] ?? n["typeAnnotation"] ?? n["value"]) as AstNode | undefined | null;
          const end = next ? next.start : t.endsWith("Method") ? code.indexOf("(", key.end) : n.end;
          removeMarks(key.end, end, /[?!]/);
        }
        break;
      }
      case "Identifier":
        if (n["optional"]) {
          const type = n["typeAnnotation"] as AstNode | undefined;
          removeMarks(n.start + (n["name"] as string).length, type ? type.start : n.end, /\?/);
        }
        if (n["name"] === "this" && n["typeAnnotation"]) unsupported(n, "a this parameter");
        break;
      case "ClassDeclaration":
      case "ClassExpression": {
        if (n["declare"]) {
          removeDeclaration(parent?.type === "ExportNamedDeclaration" ? parent : n);
          return;
        }
        if (n["abstract"]) unsupported(n, "an abstract class");
        const impl = n["implements"] as AstNode[] | undefined;
        if (impl && impl.length > 0) {
          const at = code.lastIndexOf("implements", impl[0]!.start);
          cuts.push([at, impl[impl.length - 1]!.end]);
        }
        break;
      }
      case "VariableDeclaration":
        if (n["declare"]) {
          removeDeclaration(parent?.type === "ExportNamedDeclaration" ? parent : n);
          return;
        }
        break;
      case "VariableDeclarator":
        if (n["definite"]) unsupported(n, "a definite assignment");
        break;
      case "ImportDeclaration":
      case "ExportNamedDeclaration":
      case "ExportAllDeclaration":
        if (n["importKind"] === "type" || n["exportKind"] === "type") {
          removeDeclaration(n);
          return;
        }
        for (const s of (n["specifiers"] as AstNode[] | undefined) ?? []) {
          if (s["importKind"] === "type" || s["exportKind"] === "type") unsupported(s, "a type-only import or export");
        }
        break;
      case "Decorator":
        unsupported(n, "a decorator");
    }
    if (t.startsWith("TS")) unsupported(n);
    for (const k in n) {
      if (SKIPPED_KEYS.has(k) || k === "implements") continue;
      const v = n[k];
      if (Array.isArray(v)) {
        for (const c of v) if (isNode(c)) visit(c, n);
      } else if (isNode(v)) visit(v, n);
    }
  };
  visit(file.program, undefined);

  cuts.sort((a, b) => a[0] - b[0]);
  inserts.sort((a, b) => a[0] - b[0]);
  let out = "";
  let at = 0;
  let next = 0;
  /** Copies the code up to `end`, with the insertions that fall in it. */
  const copyTo = (end: number): void => {
    while (next < inserts.length && inserts[next]![0] <= end) {
      const [pos, text] = inserts[next++]!;
      const p = Math.max(pos, at);
      out += code.slice(at, p) + text;
      at = p;
    }
    out += code.slice(at, end);
    at = end;
  };
  for (const [from, to] of cuts) {
    if (to <= at) continue;
    const s = Math.max(from, at);
    copyTo(s);
    out += code.slice(s, to).replace(/[^\r\n]/g, " ");
    at = to;
  }
  copyTo(code.length);
  return out;
}

function isNode(v: unknown): v is AstNode {
  return typeof v === "object" && v !== null && typeof (v as { type?: unknown }).type === "string";
}
