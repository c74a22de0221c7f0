import type { EmitContext, LayerEmitter } from "../codegen/emit-types.js";

type NoArgs = Record<string, never>;

function sizeOf(shape: readonly number[]): number {
  return shape.reduce((p, d) => p * d, 1);
}

/**
 * add: y = x0 + x1 + … element by element (summed left to right, as the interpreter);
 * backward adds dy into each input's gradient that is needed.
 */
export const addEmit: LayerEmitter<NoArgs> = {
  forward(_a, c) {
    const sum = c.inShapes.map((_, k) => `x${k}[i]`).join(" + ");
    return `
      for (let i = 0; i < n * ${sizeOf(c.outShape)}; i++) y[i] = ${sum};`;
  },
  backward(_a, c) {
    const targets = c.inShapes.map((_, k) => k).filter((k) => c.needsDx(k));
    if (targets.length === 0) return "";
    return `
      for (let i = 0; i < n * ${sizeOf(c.outShape)}; i++) {
        const d = dy[i];
        ${targets.map((k) => `dx${k}[i] += d;`).join("\n")}
      }`;
  },
};

/**
 * concat on the last axis: each row of y is the rows of x0, x1, … side by side; backward adds
 * each input's slice of dy into its gradient. Plain loops, no subarray views (no allocation).
 */
export const concatEmit: LayerEmitter<NoArgs> = {
  forward(_a, c) {
    const { rows, total, parts } = layout(c);
    const copies = parts.map(
      (p) => `
        for (let j = 0; j < ${p.width}; j++) y[yo + ${p.offset} + j] = x${p.k}[r * ${p.width} + j];`,
    );
    return `
      for (let r = 0; r < n * ${rows}; r++) {
        const yo = r * ${total};${copies.join("")}
      }`;
  },
  backward(_a, c) {
    const { rows, total, parts } = layout(c);
    const needed = parts.filter((p) => c.needsDx(p.k));
    if (needed.length === 0) return "";
    const adds = needed.map(
      (p) => `
        for (let j = 0; j < ${p.width}; j++) dx${p.k}[r * ${p.width} + j] += dy[yo + ${p.offset} + j];`,
    );
    return `
      for (let r = 0; r < n * ${rows}; r++) {
        const yo = r * ${total};${adds.join("")}
      }`;
  },
};

function layout(c: EmitContext): { rows: number; total: number; parts: { k: number; width: number; offset: number }[] } {
  const total = c.outShape[c.outShape.length - 1]!;
  const rows = sizeOf(c.outShape) / total;
  let offset = 0;
  const parts = c.inShapes.map((s, k) => {
    const width = s[s.length - 1]!;
    const part = { k, width, offset };
    offset += width;
    return part;
  });
  return { rows, total, parts };
}
