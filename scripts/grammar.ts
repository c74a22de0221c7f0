// Writes grammar/diagrams.html (railroad diagrams of the parser). Run with `npm run grammar`.
import { existsSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { diagramsHtml } from "../src/syntax/diagrams.js";

/** The package root: the nearest folder above this script (source or dist) holding package.json. */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json"))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error("no package.json above " + fileURLToPath(import.meta.url));
    dir = parent;
  }
  return dir;
}

/** Write through a temporary file and a rename, so a reader never sees half a file. */
function writeAtomically(path: string, text: string): void {
  const temp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(temp, text, "utf8");
    renameSync(temp, path);
  } finally {
    rmSync(temp, { force: true });
  }
}

const target = join(packageRoot(), "grammar", "diagrams.html");
writeAtomically(target, diagramsHtml());
console.log(`wrote ${target}`);
