import type { AtomicWriteHooks } from "../io/index.js";

/**
 * Hooks into `dlc train --save` for the tests of tests/cli-train.test.ts, which spawn dlc and
 * cannot reach into it otherwise; unset, they do nothing.
 * - DLC_TEST_SAVE_PAUSE_MS=N: write "dlc-test: saving" on stderr and wait N ms between writing
 *   the temporary file and renaming it, so that a test can press Ctrl-C during the write.
 * - DLC_TEST_SAVE_FAIL=CODE: fail creating the temporary file with that error code (EACCES,
 *   ENOSPC…), as a read-only folder or a full disk would, even for root.
 */
export function saveTestHooks(env: NodeJS.ProcessEnv = process.env): AtomicWriteHooks {
  const pause = Number(env.DLC_TEST_SAVE_PAUSE_MS);
  const fail = env.DLC_TEST_SAVE_FAIL;
  return {
    beforeOpen:
      fail === undefined
        ? undefined
        : () => {
            throw Object.assign(new Error(`simulated ${fail}`), { code: fail });
          },
    beforeRename:
      pause > 0
        ? () => {
            process.stderr.write("dlc-test: saving\n");
            Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, pause);
          }
        : undefined,
  };
}
