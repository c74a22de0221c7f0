import { spawnSync } from "node:child_process";

let found: string | undefined | null = null;

/** The first of $DLC_PYTHON, python3, /usr/bin/python3 that imports torch (Debian's python3-torch is /usr/bin/python3's only). */
export function findTorchPython(): string | undefined {
  if (found !== null) return found;
  const candidates = [process.env.DLC_PYTHON, "python3", "/usr/bin/python3"].filter((p): p is string => !!p);
  found = candidates.find((p) => spawnSync(p, ["-c", "import torch"], { stdio: "ignore", timeout: 120_000 }).status === 0);
  return found;
}
