import { SourceMapGenerator } from "source-map";
import { MARKER } from "./module.js";

/**
 * Prettier keeps comments but has no source maps, so the map is built after formatting from
 * the marker comment before each block (`// @dl 3:1 net.dl:3 forward conv1: conv 3x3`): every
 * line from a marker to the end of its block maps to that statement.
 */
export function buildSourceMap(code: string, generatedFile: string, sourceFile: string, sourceText: string): string {
  const map = new SourceMapGenerator({ file: generatedFile });
  map.setSourceContent(sourceFile, sourceText);
  const lines = code.split("\n");
  const pattern = new RegExp(`//\\s*${MARKER} (\\d+):(\\d+) `);
  let current: { line: number; column: number } | undefined;
  let depth = 0;
  let blockDepth = -1;
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i]!;
    const m = pattern.exec(text);
    if (m) {
      current = { line: Number(m[1]), column: Number(m[2]) - 1 };
      blockDepth = depth;
    }
    if (current) {
      const indent = text.length - text.trimStart().length;
      map.addMapping({ generated: { line: i + 1, column: indent }, original: current, source: sourceFile });
    }
    for (const ch of stripStrings(text)) {
      if (ch === "{") depth++;
      else if (ch === "}") depth--;
    }
    if (current && !m && depth <= blockDepth) current = undefined;
  }
  return map.toString();
}

function stripStrings(line: string): string {
  const comment = line.indexOf("//");
  const code = comment >= 0 ? line.slice(0, comment) : line;
  return code.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`(?:[^`\\]|\\.)*`/g, "");
}
