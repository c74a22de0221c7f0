/**
 * Element-wise activations as f32x4 SIMD kernels over runs whose length is a multiple of four
 * (the generated module's binding does the last count mod 4 elements in JS):
 *
 *   reluForward(x, y, count)          y = x > 0 ? x : 0
 *   tanhForward, sigmoidForward       y = f(x)                      (cells.ts's exp and tanh)
 *   reluBackward(x, dy, dx, count)    dx += x > 0 ? dy : 0
 *   tanhBackward(y, dy, dx, count)    dx += dy · (1 − y²)
 *   sigmoidBackward(y, dy, dx, count) dx += dy · y · (1 − y)
 *
 * Arguments are byte addresses and an element count.
 */
import { buildUnaryKernel } from "./cells.js";
import { FunctionBuilder } from "./encoder.js";

export type ActivationFn = "relu" | "tanh" | "sigmoid";
export type ActivationKernel = `${ActivationFn}Forward` | `${ActivationFn}Backward`;

export function buildActivation(kernel: ActivationKernel): FunctionBuilder {
  if (kernel === "tanhForward") return buildUnaryKernel("tanh");
  if (kernel === "sigmoidForward") return buildUnaryKernel("sigmoid");
  if (kernel === "reluForward") return buildRun(["x", "y"], (f) => f.localGet("y").v128Const().localGet("x").v128Load({ align: 2 }).f32x4Pmax().v128Store({ align: 2 }));
  const fn = kernel.slice(0, -"Backward".length) as ActivationFn;
  return buildRun(["a", "dy", "dx"], (f) => {
    f.localGet("dx").localGet("dx").v128Load({ align: 2 });
    f.localGet("dy").v128Load({ align: 2 });
    if (fn === "relu") {
      // dy where x > 0 (a lane mask of all ones), else 0
      f.localGet("a").v128Load({ align: 2 }).v128Const().f32x4Gt().v128And();
    } else if (fn === "tanh") {
      f.splatConstant(1).localGet("a").v128Load({ align: 2 }).localGet("a").v128Load({ align: 2 }).f32x4Mul().f32x4Sub().f32x4Mul();
    } else {
      f.localGet("a").v128Load({ align: 2 }).splatConstant(1).localGet("a").v128Load({ align: 2 }).f32x4Sub().f32x4Mul().f32x4Mul();
    }
    f.f32x4Add().v128Store({ align: 2 });
  });
}

/** A loop over four floats at a time of every pointer in `pointers` (the first bounds it). */
function buildRun(pointers: readonly string[], body: (f: FunctionBuilder) => void): FunctionBuilder {
  const f = new FunctionBuilder([...pointers.map((p): [string, "i32"] => [p, "i32"]), ["count", "i32"]]);
  const first = pointers[0]!;
  f.local("end", "i32");
  f.localGet(first).localGet("count").i32Const(4).i32Mul().i32Add().localSet("end");
  f.block("done", () => {
    f.loop("each", () => {
      f.localGet(first).localGet("end").i32GeU().brIf("done");
      body(f);
      for (const p of pointers) f.localGet(p).i32Const(16).i32Add().localSet(p);
      f.br("each");
    });
  });
  return f;
}
