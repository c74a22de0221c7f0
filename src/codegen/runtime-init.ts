/**
 * The generated module's weight initialisers (its seeded generator is runtime/random.ts): the
 * same algorithms, in the same order, as the interpreter's (src/interp/init.ts), so a compiled model
 * and the interpreter start from the same weights for the same seed.
 */
export const initRuntime = `
function normal(random: () => number): number {
  const u = 1 - random();
  const v = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** Fills one weight the way the interpreter does: Glorot/He uniform, orthogonal rows, zeros, ones. */
function initWeight(d: Float64Array, spec: WeightSpec, random: () => number): void {
  const uniform = (limit: number): void => {
    for (let i = 0; i < d.length; i++) d[i] = (random() * 2 - 1) * limit;
  };
  switch (spec.init) {
    case "zeros":
      d.fill(0);
      break;
    case "ones":
      d.fill(1);
      break;
    case "glorot":
      uniform(Math.sqrt(6 / (spec.fanIn + spec.fanOut)));
      break;
    case "he":
      uniform(Math.sqrt(6 / spec.fanIn));
      break;
    case "uniform":
      uniform(0.05);
      break;
    case "orthogonal": {
      const rows = spec.shape[0]!;
      const cols = d.length / rows;
      for (let i = 0; i < d.length; i++) d[i] = normal(random);
      if (rows > cols) break;
      for (let r = 0; r < rows; r++) {
        const row = r * cols;
        for (let q = 0; q < r; q++) {
          const other = q * cols;
          let dot = 0;
          for (let c = 0; c < cols; c++) dot += d[row + c]! * d[other + c]!;
          for (let c = 0; c < cols; c++) d[row + c]! -= dot * d[other + c]!;
        }
        let norm = 0;
        for (let c = 0; c < cols; c++) norm += d[row + c]! * d[row + c]!;
        norm = Math.sqrt(norm) || 1;
        for (let c = 0; c < cols; c++) d[row + c]! /= norm;
      }
      break;
    }
  }
}
`;
