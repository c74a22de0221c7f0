// Writes dist/src/build-id.json: a hash of every file under dist/src and of the pre-built runtime
// (part of `npm run build`, after format-runtime). src/cli/build-id.ts reads it; the in-memory
// engine's cache keys include it, so a rebuilt dlc never runs what an older build compiled.
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { writeFileAtomic } from "../src/io/atomic-write.js";

const dist = fileURLToPath(new URL("..", import.meta.url));
const out = join(dist, "src", "build-id.json");

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.isFile() ? [join(dir, e.name)] : []))
    .filter((f) => f !== out && !f.endsWith(".map"));
}

const hash = createHash("sha256");
for (const f of [...files(join(dist, "src")), ...files(join(dist, "runtime-formatted"))].sort()) {
  hash.update(relative(dist, f)).update("\0").update(readFileSync(f)).update("\0");
}
writeFileAtomic(out, JSON.stringify({ id: hash.digest("hex").slice(0, 32) }) + "\n");
