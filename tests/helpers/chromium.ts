/**
 * Headless Chromium for the browser tests, driven by playwright-core with the system's Chromium
 * (Debian's `chromium` package, or DLC_CHROMIUM): playwright gives each scenario its own page,
 * runs code in it and closes the browser and its profile cleanly. Where no Chromium is found the
 * tests skip locally, but fail under CI (process.env.CI), whose setup (.ci/run) installs one.
 */
import { existsSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { chromium as playwright, type Browser } from "playwright-core";

/** The Chromium to drive, if one is installed. */
export const chromiumPath: string | undefined = [process.env.DLC_CHROMIUM, "/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p): p is string => p !== undefined && p !== "" && existsSync(p));

/** Whether the browser tests must run (CI) rather than skip when Chromium is missing. */
export const chromiumRequired = process.env.CI !== undefined && process.env.CI !== "" && process.env.CI !== "false";

/** Why the browser tests skip here, or undefined when they run (or must run and will fail). */
export const chromiumSkipReason: string | undefined = chromiumPath || chromiumRequired ? undefined : "no Chromium found (install Debian's chromium or set DLC_CHROMIUM)";

/** Launches headless Chromium; under CI without one, throws saying so. */
export async function launchChromium(): Promise<Browser> {
  if (!chromiumPath) throw new Error("no Chromium found: the browser tests need one under CI (.ci/run installs Debian's chromium; or set DLC_CHROMIUM)");
  return playwright.launch({ executablePath: chromiumPath, args: ["--no-sandbox", "--disable-gpu"] });
}

/**
 * A local server for the files: under /iso/ with the headers that make a page cross-origin
 * isolated (COOP same-origin, COEP require-corp), under /plain/ without them.
 */
export function serveFiles(files: Readonly<Record<string, string>>): Promise<{ url: string; server: Server }> {
  return new Promise((ready) => {
    const server = createServer((req, res) => {
      const match = /^\/(iso|plain)\/([^?]*)/.exec(req.url ?? "");
      const text = match ? files[match[2] || "index.html"] : undefined;
      if (!match || text === undefined) {
        res.writeHead(404).end();
        return;
      }
      const headers: Record<string, string> = { "Content-Type": match[2]!.endsWith(".html") || match[2] === "" ? "text/html" : "text/javascript" };
      if (match[1] === "iso") Object.assign(headers, { "Cross-Origin-Opener-Policy": "same-origin", "Cross-Origin-Embedder-Policy": "require-corp" });
      res.writeHead(200, headers).end(text);
    });
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      ready({ url: `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}/`, server });
    });
  });
}
