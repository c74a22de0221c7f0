/**
 * Embedding a generated wasm binary in a generated module as text. Generated modules import
 * nothing and must run in browsers too, so the bytes travel as a base64 string literal and the
 * module carries `WASM_DECODE_SOURCE` (which only needs `atob`, present in browsers, workers and
 * Node ≥ 16) to turn it back into bytes.
 */

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/** Standard base64 (with padding) of `bytes`. */
export function base64(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; i += 3) {
    const b0 = bytes[i]!;
    const b1 = i + 1 < bytes.length ? bytes[i + 1]! : 0;
    const b2 = i + 2 < bytes.length ? bytes[i + 2]! : 0;
    const n = (b0 << 16) | (b1 << 8) | b2;
    out += ALPHABET[(n >> 18) & 63]! + ALPHABET[(n >> 12) & 63]!;
    out += i + 1 < bytes.length ? ALPHABET[(n >> 6) & 63]! : "=";
    out += i + 2 < bytes.length ? ALPHABET[n & 63]! : "=";
  }
  return out;
}

/** TypeScript source of a `wasmBytes(b64)` function for the generated module. */
export const WASM_DECODE_SOURCE = `
/** The bytes of an embedded WebAssembly module (base64 text). */
function wasmBytes(b64: string): Uint8Array {
  const s = (globalThis as unknown as { atob(text: string): string }).atob(b64);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}
`;
