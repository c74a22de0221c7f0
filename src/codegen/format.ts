import { createHash } from "node:crypto";
import { mkdirSync, readFileSync } from "node:fs";
import { writeFileAtomic } from "../io/atomic-write.js";
import type { ModuleParts } from "./module.js";
import { STRIP_VERSION, stripTypes } from "./strip-types.js";

/*
 * Formatting the generated module (prettier is loaded only here, and only when called: `dlc
 * check` never pays for it). typescript is not needed at run time (it is a devDependency): the
 * JavaScript target is made by stripTypes, which handles everything dlc generates and the
 * runtime; scripts/transpile.ts has typescript's transpileModule for the tests to compare with.
 *
 * prettier is the slow part of `dlc compile`, so the work is cut three ways:
 * - the `babel-ts` parser (the same output as prettier's `typescript` parser, twice as fast);
 * - the runtime, the same in every module, is formatted once (by `npm run build`, or on first
 *   use) and cached in dist/; only this network's code is formatted each time. The parts are
 *   whole programs joined by a blank line, which prettier formats one top-level statement at a
 *   time, so the joined result is what prettier makes of the whole (tests/codegen.test.ts checks);
 * - the JavaScript target strips the types from the unformatted TypeScript (stripTypes) and is
 *   formatted once, as JavaScript, rather than formatted as TypeScript, transpiled by typescript
 *   and formatted again; the layers' code, JavaScript already, is not even stripped
 *   (formatChunkAsJavaScript).
 * The layers' blocks come in chunks (ModuleParts), statements of a method body that prettier
 * formats in a wrapper at the same depth: so only the rest of the network's code goes through
 * stripTypes, and no prettier call is huge.
 */

const PRINT_WIDTH = 110;
const TS_OPTIONS = { parser: "babel-ts", printWidth: PRINT_WIDTH } as const;
const JS_OPTIONS = { parser: "babel", printWidth: PRINT_WIDTH } as const;

export type Target = "ts" | "js";

/** Formats generated TypeScript with prettier. */
export async function formatTypeScript(code: string): Promise<string> {
  const prettier = await import("prettier");
  return prettier.format(code, TS_OPTIONS);
}

/** Formats JavaScript with prettier. */
export async function formatJavaScript(code: string): Promise<string> {
  const prettier = await import("prettier");
  return prettier.format(code, JS_OPTIONS);
}

/**
 * Unformatted TypeScript → formatted JavaScript: stripTypes, then prettier. (TypeScript that
 * stripTypes refuses, UnsupportedTypeScript, is a bug in dlc's code generator.)
 */
export async function formatAsJavaScript(code: string): Promise<string> {
  return formatJavaScript(await stripTypes(code));
}

/**
 * The whole module (unformatted parts from moduleParts), formatted for the target: the network's
 * code, its chunks and the API formatted now, the runtime from the cache. For the ts target the
 * same text as prettier makes of the whole module; for js, text prettier leaves as it is.
 */
export async function formatModule(parts: ModuleParts, target: Target): Promise<string> {
  const { joinModuleParts, CHUNK_PLACEHOLDER_LINE } = await import("./module.js");
  const jobs: Job[] = [
    { code: parts.network, target, inMethod: false },
    ...parts.chunks.map((code) => ({ code, target, inMethod: true })),
    { code: parts.api, target, inMethod: false },
  ];
  const [runtime, done] = await Promise.all([formattedRuntime(target, parts.runtime), runJobs(jobs)]);
  const chunks = done.slice(1, -1);
  let used = 0;
  const network = done[0]!.replace(CHUNK_PLACEHOLDER_LINE, (_line, i: string) => {
    used++;
    return chunks[Number(i)]!;
  });
  if (used !== chunks.length) throw new Error(`internal: ${chunks.length} formatted chunks for ${used} placeholders`);
  return joinModuleParts({ network, chunks: [], runtime, api: done[done.length - 1]! });
}

// ---- formatting the pieces ----

interface Job {
  readonly code: string;
  readonly target: Target;
  /** Statements of a method body (a ModuleParts chunk) rather than a whole program. */
  readonly inMethod: boolean;
}

/** A method-body chunk goes in this wrapper, so that prettier indents it as it is in the module. */
// A generator method, so that chunks of a threaded build's passSteps may `yield`.
const WRAP_HEAD = "class C {\n  *m() {\n";
const WRAP_TAIL = "\n  }\n}\n";

async function runJob(job: Job): Promise<string> {
  if (!job.inMethod) return job.target === "ts" ? formatTypeScript(job.code) : formatAsJavaScript(job.code);
  const wrapped = WRAP_HEAD + job.code + WRAP_TAIL;
  const out = job.target === "ts" ? await formatTypeScript(wrapped) : await formatChunkAsJavaScript(wrapped);
  if (!out.startsWith(WRAP_HEAD) || !out.endsWith(WRAP_TAIL.slice(1))) throw new Error("internal: a formatted chunk lost its wrapper");
  return out.slice(WRAP_HEAD.length, out.length - WRAP_TAIL.length + 1);
}

/**
 * Layer code (the chunks) is usually JavaScript already: then it is formatted as it is, without
 * stripTypes (whose parse costs as much as prettier's). TypeScript-only syntax is a syntax error
 * to the JavaScript parser, except a generic call `f<T>(x)` or tagged template, which JavaScript
 * reads as comparisons: code with a `>` before `(` or a backquote goes the long way, as does code
 * the JavaScript parser refuses.
 */
export async function formatChunkAsJavaScript(code: string): Promise<string> {
  if (!/(?<!=)>(?:\s|\/\*[^]*?\*\/|\/\/[^\n]*)*[(`]/.test(code)) {
    try {
      return await formatJavaScript(code);
    } catch {
      // TypeScript after all (or a real syntax error, which formatAsJavaScript reports).
    }
  }
  return formatAsJavaScript(code);
}

/**
 * Runs the jobs one after the other. (A worker thread taking half of them was tried: on two cores
 * its start and its cold JIT cost more than it saved.)
 */
async function runJobs(jobs: readonly Job[]): Promise<string[]> {
  const results: string[] = [];
  for (const job of jobs) results.push(await runJob(job));
  return results;
}

// ---- the formatted runtime, cached ----

const memo = new Map<string, string>();

/**
 * The runtime part (runtimeFixed()) formatted for the target, from the cache in dist/ when it is
 * there and was made from the same text with the same prettier; otherwise
 * formatted now and the cache (re)written (best effort: a read-only install just formats it).
 */
export async function formattedRuntime(target: Target, text?: string, options: { readonly rebuild?: boolean } = {}): Promise<string> {
  const { packageRoot, runtimeFixed } = await import("./runtime/inline.js");
  text ??= runtimeFixed();
  const key = await runtimeKey(target, text);
  const hit = memo.get(key);
  if (hit !== undefined && !options.rebuild) return hit;
  const dir = `${packageRoot()}dist/runtime-formatted/`;
  const file = `${dir}runtime.${target}.json`;
  let formatted: string | undefined;
  if (!options.rebuild) {
    try {
      const cached = JSON.parse(readFileSync(file, "utf8")) as { key?: unknown; text?: unknown };
      if (cached.key === key && typeof cached.text === "string") formatted = cached.text;
    } catch {
      // No cache (or a broken one): format below.
    }
  }
  if (formatted === undefined) {
    formatted = target === "ts" ? await formatTypeScript(text) : await formatAsJavaScript(text);
    try {
      mkdirSync(dir, { recursive: true });
      writeFileAtomic(file, JSON.stringify({ key, text: formatted }));
    } catch {
      // Not writable: fine, it is only a cache.
    }
  }
  memo.set(key, formatted);
  return formatted;
}

/** What the formatted runtime depends on: its text, the options, and the versions of the tools. */
async function runtimeKey(target: Target, text: string): Promise<string> {
  const prettier = await import("prettier");
  const tools = [`prettier ${prettier.version}`, JSON.stringify(target === "ts" ? TS_OPTIONS : JS_OPTIONS), STRIP_VERSION];
  return createHash("sha256").update(JSON.stringify(tools)).update(text).digest("hex");
}
