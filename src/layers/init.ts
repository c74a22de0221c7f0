import type { Init } from "./types.js";

/** He initialisation for relu-family layers, Glorot for the rest (Keras' default). */
export function initFor(activation: string | undefined): Init {
  return activation === "relu" || activation === "leakyrelu" ? "he" : "glorot";
}
