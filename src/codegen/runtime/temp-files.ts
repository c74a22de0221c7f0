/**
 * The names of the temporary files that atomic writes go through, `.NAME.<pid>.<random>.tmp`
 * beside the target NAME, and which of them a killed process left behind (node-files.ts's
 * writeFileAtomic, which dlc's src/io/atomic-write.ts calls too).
 */

/** A new temporary file name for the target `baseName`, written by process `pid`. */
export function tempNameFor(baseName: string, pid: number): string {
  return `.${baseName}.${pid}.${Math.random().toString(36).slice(2, 10)}.tmp`;
}

/**
 * Whether `name`, in the target's folder, is a temporary file of the target `baseName` left by a
 * process that no longer runs. Files of live processes (a save in progress), of this process and
 * of other targets never are. `kill` is process.kill: signal 0 only asks whether the pid exists.
 */
export function isStaleTemp(name: string, baseName: string, selfPid: number, kill: (pid: number, signal: number) => unknown): boolean {
  const prefix = `.${baseName}.`;
  if (!name.startsWith(prefix)) return false;
  // The random part has no dots, so `.w.json.5.<pid>.<random>.tmp` (target w.json.5) does not match w.json's.
  const m = /^(\d+)\.[0-9a-z]+\.tmp$/.exec(name.slice(prefix.length));
  if (!m) return false;
  const pid = Number(m[1]);
  if (!Number.isSafeInteger(pid) || pid <= 0 || pid === selfPid) return false;
  try {
    kill(pid, 0);
    return false;
  } catch (e) {
    // EPERM: another user's live process.
    return (e as { code?: string }).code === "ESRCH";
  }
}
