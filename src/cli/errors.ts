/** A mistake in how dlc was called or in a file it could not read: exit code 2, no stack trace. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** The input has errors that were already printed as diagnostics: exit code 1. */
export class InputErrors extends Error {
  constructor() {
    super("the input has errors");
    this.name = "InputErrors";
  }
}

export const EXIT_OK = 0;
export const EXIT_INPUT_ERRORS = 1;
export const EXIT_USAGE = 2;
