/**
 * A number written in decimal — 16, -0.5, .5, 1e-3 — and nothing else: Number() also takes
 * 0x10, 0b1, 0o7, "Infinity" and surrounding white space, which a data file or a flag meaning
 * a decimal number must not. Test trimmed text.
 */
export const DECIMAL_NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
