import { readFileSync } from "node:fs";

/**
 * Which build of dlc this is: a hash of dist/src and the pre-built runtime, written by
 * `npm run build` (scripts/build-id.ts) to dist/src/build-id.json. Compiled networks are cached
 * under it as well as under VERSION, so a rebuilt dlc (a changed code generator, same version
 * number) never runs a module an older build made. Undefined where there is no such file
 * (running from the sources, as the tests do): then nothing is cached across processes.
 */
export function buildId(): string | undefined {
  try {
    const doc = JSON.parse(readFileSync(new URL("../build-id.json", import.meta.url), "utf8")) as { id?: unknown };
    return typeof doc.id === "string" && doc.id.length > 0 ? doc.id : undefined;
  } catch {
    return undefined;
  }
}
