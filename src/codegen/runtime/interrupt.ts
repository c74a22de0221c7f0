import { yieldToHost, type NodeProcessLike } from "./host.js";

/** The exit code of a command stopped by Ctrl-C (128 + SIGINT's number), as shells report it. */
export const EXIT_INTERRUPTED = 130;

/**
 * Ctrl-C during `train`, as dlc train takes it: the first asks training to stop after the
 * current batch (the weights are then saved); a second before the save starts quits at once
 * without saving. While the weights are written the handler stays installed, so a Ctrl-C then
 * neither kills the write halfway nor leaves its temporary file: the write completes and the
 * command exits EXIT_INTERRUPTED after it.
 */
export class CtrlC {
  private presses = 0;
  private saving = false;

  constructor(
    private readonly proc: NodeProcessLike,
    private readonly note: (message: string) => void,
  ) {}

  private readonly onSigint = (): void => {
    this.presses++;
    if (this.saving) {
      if (this.presses === 1) this.note("interrupted while saving: finishing the write first…");
      return;
    }
    if (this.presses > 1) {
      this.note("interrupted again: quitting without saving");
      this.proc.exit(EXIT_INTERRUPTED);
    }
    this.note("stopping after this batch (Ctrl-C again to quit without saving)…");
  };

  install(): void {
    this.proc.on("SIGINT", this.onSigint);
  }

  /** Whether Ctrl-C was pressed. */
  get pressed(): boolean {
    return this.presses > 0;
  }

  /** From now on a Ctrl-C waits for the write instead of quitting. */
  startSaving(): void {
    this.saving = true;
  }

  /**
   * Removes the handler after a full turn of the event loop: a Ctrl-C that came during the
   * synchronous write is only delivered in the loop's next poll phase, and must still count.
   * Two yields, because the first may run in this very turn's check phase, before any poll
   * (one yield lost the Ctrl-C about one time in two when the write ran in a poll callback).
   */
  async uninstall(): Promise<void> {
    await yieldToHost();
    await yieldToHost();
    this.proc.off("SIGINT", this.onSigint);
  }
}
