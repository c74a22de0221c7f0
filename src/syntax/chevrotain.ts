import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type * as Chevrotain from "chevrotain";

/**
 * Chevrotain, loaded from the one-file bundle its package ships (`lib/chevrotain.mjs`)
 * rather than from its package entry (`lib/src/api.js`). The entry is ~40 modules that
 * import lodash-es one function per file: ~700 ES modules, whose loading alone cost about
 * 250 ms of every `dlc check` process on a 2-core machine, against ~15 ms for the bundle
 * (see bench/RESULTS.md). The bundle sits in the same package folder, so it is the same
 * version with the same exports. Where it cannot be found (another install layout, a
 * chevrotain that stops shipping it), the package entry is used: slower, same behaviour.
 *
 * Runtime values come from here; types may still be imported from "chevrotain" directly.
 * Everything in dlc that builds tokens, lexers or parsers must use this module, so that
 * one copy of chevrotain is loaded.
 */
async function loadChevrotain(): Promise<typeof Chevrotain> {
  try {
    const bundle = new URL("../chevrotain.mjs", import.meta.resolve("chevrotain"));
    if (bundle.protocol === "file:" && existsSync(fileURLToPath(bundle))) return (await import(bundle.href)) as typeof Chevrotain;
  } catch {
    // import.meta.resolve missing (Node < 20.6, some test runners) or an unusual layout.
  }
  return import("chevrotain");
}

const chevrotain = await loadChevrotain();

export const { createToken, Lexer, CstParser } = chevrotain;
