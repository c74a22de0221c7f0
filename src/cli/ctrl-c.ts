import { EXIT_INTERRUPTED } from "../codegen/runtime/interrupt.js";

/**
 * Ctrl-C during `dlc train`. The first asks training to stop after the current batch (the
 * weights are then saved); a second before the save starts quits at once without saving. While
 * the weights are written the handler stays installed, so a Ctrl-C then neither kills the write
 * halfway nor leaves its temporary file: the write completes and the command exits 130 after it.
 */
export class CtrlC {
  private presses = 0;
  private phase: "training" | "saving" | "finished" = "training";

  constructor(private readonly note: (message: string) => void) {}

  private readonly onSigint = (): void => {
    this.presses++;
    switch (this.phase) {
      case "training":
        if (this.presses > 1) {
          this.note("interrupted again: quitting without saving");
          process.exit(EXIT_INTERRUPTED);
        }
        this.note("stopping after this batch (Ctrl-C again to quit without saving)…");
        return;
      case "saving":
        if (this.presses === 1) this.note("interrupted while saving: finishing the write first…");
        return;
      case "finished":
        // The command is done and about to exit: exit as interrupted, not killed by the signal.
        process.exitCode = EXIT_INTERRUPTED;
        return;
    }
  };

  install(): void {
    process.on("SIGINT", this.onSigint);
  }

  /** Whether Ctrl-C was pressed. */
  get pressed(): boolean {
    return this.presses > 0;
  }

  /** From now on a Ctrl-C waits for the write instead of quitting. */
  startSaving(): void {
    this.phase = "saving";
  }

  /**
   * The command's work is over. A Ctrl-C that came during a synchronous write is delivered
   * only now, after one turn of the event loop, and still counts. The handler stays installed
   * (it does not keep the process alive): a Ctrl-C between here and the exit sets the exit code
   * to 130 rather than killing the process by the signal.
   */
  async finish(): Promise<void> {
    // Two turns: the first may run in this turn's check phase, before the poll that delivers it.
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    this.phase = "finished";
  }
}
