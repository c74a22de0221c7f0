import { renderSection, type RunInfo, type Section } from "./report.js";

/**
 * RESULTS.md with only some sections measured anew (`run.js NAME… --update`): each new section
 * replaces the one of the same title where it stood (or is appended), and says when it was
 * measured, since the file's header dates the last full run; every other section is kept as it was.
 */
export function updateResults(old: string, sections: readonly Section[], info: RunInfo): string {
  const chunks = old.split(/\n(?=## )/);
  for (const s of sections) {
    const stamp: Section = { ...s, notes: [...(s.notes ?? []), `Measured ${info.date.toISOString()} in a run of this section alone (load average ${info.loadBefore} before, ${info.loadAfter} after); the header dates the last full run.`] };
    const text = renderSection(stamp);
    const at = chunks.findIndex((c) => c.startsWith(`## ${s.title}\n`));
    if (at >= 0) chunks[at] = text;
    else chunks.push(text);
  }
  return chunks.join("\n");
}
