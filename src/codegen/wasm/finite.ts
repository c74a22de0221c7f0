/**
 * The check `fit` runs on the weights after every batch, as a WebAssembly SIMD function:
 *
 *   finite(w, count) → Σ w[i]·0 over w[0 … count)   (f32; byte address, count in floats)
 *
 * x·0 is 0 for every finite x and NaN for NaN and ±Infinity, so the sum is 0 exactly when every
 * weight is finite; four lanes at a time, then one at a time.
 */
import { FunctionBuilder } from "./encoder.js";

export function buildFinite(): FunctionBuilder {
  const f = new FunctionBuilder(
    [
      ["w", "i32"],
      ["count", "i32"],
    ],
    ["f32"],
  );
  const sum4 = f.local("sum4", "v128");
  const sum = f.local("sum", "f32");
  const end = f.local("end", "i32");
  const zero4 = f.local("zero4", "v128");
  f.v128Const().localSet(zero4);
  f.v128Const().localSet(sum4);
  // end = address after the last whole group of four
  f.localGet("w").localGet("count").i32Const(-4).i32And().i32Const(4).i32Mul().i32Add().localSet(end);
  f.block("vectorDone", () => {
    f.loop("vectors", () => {
      f.localGet("w").localGet(end).i32GeU().brIf("vectorDone");
      f.localGet("w").v128Load({ align: 2 }).localGet(zero4).f32x4Mul().localGet(sum4).f32x4Add().localSet(sum4);
      f.localGet("w").i32Const(16).i32Add().localSet("w");
      f.br("vectors");
    });
  });
  f.localGet("w").localGet("count").i32Const(3).i32And().i32Const(4).i32Mul().i32Add().localSet(end);
  f.block("scalarDone", () => {
    f.loop("scalars", () => {
      f.localGet("w").localGet(end).i32GeU().brIf("scalarDone");
      f.localGet("w").f32Load().f32Const(0).f32Mul().localGet(sum).f32Add().localSet(sum);
      f.localGet("w").i32Const(4).i32Add().localSet("w");
      f.br("scalars");
    });
  });
  f.localGet(sum);
  for (let lane = 0; lane < 4; lane++) f.localGet(sum4).f32x4ExtractLane(lane).f32Add();
  return f;
}
