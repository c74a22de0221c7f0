/**
 * A number written in decimal — 16, -0.5, .5, 1e-3 — and nothing else (not 0x10, 0b1, 0o7,
 * "Infinity" or surrounding white space, which Number() takes): one rule for data files and flags.
 */
export { DECIMAL_NUMBER } from "../codegen/runtime/csv-fields.js";
