// One measurement of the in-memory engine in a fresh process, as dlc run/train pays it:
// `node dist/bench/engine-child.js FILE.dl CACHE_DIR` prints {"seconds": …, "fromCache": …}.
import { openCompiledEngine } from "../src/cli/engine.js";
import { load } from "../src/cli/load.js";

const [file, cache] = process.argv.slice(2);
if (!file || !cache) throw new Error("usage: engine-child.js FILE.dl CACHE_DIR");
const engine = await openCompiledEngine(load(file, {}), { cache });
process.stdout.write(JSON.stringify({ seconds: engine.seconds, fromCache: engine.fromCache }) + "\n");
