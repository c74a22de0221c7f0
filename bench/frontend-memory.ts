/**
 * Child process of the front-end scaling table: `node dist/bench/frontend-memory.js KIND LAYERS`
 * generates the network, analyses it once, and prints one JSON line: the resident set before
 * the analysis and at its peak (the process's maximum), in KiB, and the node count. A fresh
 * process per row, so that each peak is that row's alone.
 */
import { analyze } from "../src/index.js";
import { GENERATED_KINDS, generate, type GeneratedKind } from "./networks.js";

const [kind, layersArg] = process.argv.slice(2);
if (!GENERATED_KINDS.includes(kind as GeneratedKind) || !layersArg) throw new Error(`usage: frontend-memory.js (${GENERATED_KINDS.join("|")}) LAYERS`);
const net = generate(kind as GeneratedKind, Number(layersArg));
// Load and warm the front end on a small network first, so that the baseline includes the code.
analyze(generate(kind as GeneratedKind, 100).text);
const beforeKiB = process.memoryUsage().rss / 1024;
const analysis = analyze(net.text);
const peakKiB = process.resourceUsage().maxRSS;
process.stdout.write(JSON.stringify({ beforeKiB, peakKiB, nodes: analysis.selected?.network.nodes.length ?? 0, errors: analysis.hasErrors }) + "\n");
