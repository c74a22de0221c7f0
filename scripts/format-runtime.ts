// Formats the generated modules' runtime once, for both targets, into the cache in
// dist/runtime-formatted/ that `dlc compile` reads (part of `npm run build`). `dlc compile` makes
// the cache itself when it is missing or stale (the runtime or prettier changed), only slower.
import { formattedRuntime } from "../src/codegen/format.js";

const rebuild = process.argv.includes("--rebuild");
for (const target of ["ts", "js"] as const) await formattedRuntime(target, undefined, { rebuild });
