// Finds a Python that can import torch, for the PyTorch export's tests: $DLC_PYTHON first, then
// `python3` on PATH, then /usr/bin/python3 (Debian's python3-torch lives only there).
import { spawnSync } from "node:child_process";

let found: string | null | undefined;

/** The first interpreter that imports torch, or undefined (cached). */
export function findTorchPython(): string | undefined {
  if (found !== undefined) return found ?? undefined;
  const candidates = [process.env.DLC_PYTHON, "python3", "/usr/bin/python3"].filter((c): c is string => !!c);
  found = null;
  for (const python of candidates) {
    const r = spawnSync(python, ["-c", "import torch"], { encoding: "utf8", timeout: 120_000 });
    if (r.status === 0) {
      found = python;
      break;
    }
  }
  return found ?? undefined;
}

/**
 * Whether the PyTorch tests can run here. In CI (process.env.CI set) a missing torch is a failure,
 * never a silent skip; locally the tests skip and say why.
 */
export function torchPythonOrSkip(): string | undefined {
  const python = findTorchPython();
  if (python) return python;
  const why = "no Python with torch found ($DLC_PYTHON, python3, /usr/bin/python3); install python3-torch";
  if (process.env.CI) throw new Error(`PyTorch tests cannot run in CI: ${why}`);
  console.warn(`skipping the PyTorch export tests: ${why}`);
  return undefined;
}
