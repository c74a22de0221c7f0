/**
 * The generated module's seeded generator (mulberry32): the interpreter's (src/interp/random.ts),
 * so a compiled model draws the same initial weights, dropout masks and shuffles for a seed.
 */
export function seededRandom(seed: number): () => number {
  const state = new Uint32Array(1);
  state[0] = seed >>> 0;
  return randomOnState(state, 0);
}

/**
 * The same generator with its state kept in state[index]: in shared memory, whichever thread
 * draws next continues the one stream (a threaded model's shards, runtime/threads.ts).
 */
export function randomOnState(state: Uint32Array, index: number): () => number {
  return () => {
    const s = (state[index]! + 0x6d2b79f5) >>> 0;
    state[index] = s;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
