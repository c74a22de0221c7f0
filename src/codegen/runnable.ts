import { formattedRuntime } from "./format.js";
import { joinModuleParts, type ModuleParts } from "./module.js";
import { stripTypes } from "./strip-types.js";

/**
 * The generated module as JavaScript to run rather than to read (dlc's in-memory engine): the
 * same program as `dlc compile --target js` writes, but the network's code and API only have
 * their types blanked out (stripTypes), not formatted, and the runtime is the JavaScript that
 * `npm run build` made once (dist/runtime-formatted). Formatting is most of dlc compile's time;
 * this skips it. stripTypes handles everything dlc generates: anything else is a bug in dlc.
 */
export async function runnableJavaScript(parts: ModuleParts): Promise<string> {
  const [network, api, runtime] = await Promise.all([
    stripTypes(joinModuleParts({ network: parts.network, chunks: parts.chunks, runtime: "", api: "" })),
    stripTypes(parts.api),
    formattedRuntime("js", parts.runtime),
  ]);
  return `${network}\n${runtime}\n${api}`;
}
