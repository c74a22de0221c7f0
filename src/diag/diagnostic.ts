import type { Span } from "./span.js";

export type Severity = "error" | "warning" | "info";

/** One step of the block-call chain that produced a node: "in block 'b' called at 12:5". */
export interface CallSite {
  readonly block: string;
  readonly span: Span;
}

export interface Diagnostic {
  readonly severity: Severity;
  readonly code: string;
  readonly message: string;
  readonly span: Span;
  /** Extra lines shown under the source excerpt ("in block 'b' called at 12:5", hints). */
  readonly notes: readonly string[];
}

/** A sink that phases report into; phases never throw for a user mistake. */
export class Diagnostics {
  readonly items: Diagnostic[] = [];
  private seen = new Set<string>();

  add(d: Diagnostic): void {
    const key = `${d.code}@${d.span.offset}-${d.span.endOffset}:${d.message}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.items.push(d);
  }

  get hasErrors(): boolean {
    return this.items.some((d) => d.severity === "error");
  }

  get errorCount(): number {
    return this.items.filter((d) => d.severity === "error").length;
  }

  sorted(): Diagnostic[] {
    return [...this.items].sort((a, b) => a.span.offset - b.span.offset || a.span.endOffset - b.span.endOffset);
  }
}
