/**
 * The optimizer's updates as f32x4 WebAssembly SIMD functions over one run of the weights arena
 * (the same arithmetic as the generated JS step, src/codegen/optimizer-emit.ts, in float32):
 *
 *   sgd(w, g, count, rate)                           w −= rate·g
 *   sgdMomentum(w, g, v, count, rate, mu)            v = mu·v + g; w −= rate·v
 *   adam(w, g, m, v, count, rate, b1, b2, a1, a2, c1, c2, eps, decay)
 *       m = b1·m + a1·g; v = b2·v + a2·g²; w = w·decay − rate·(m/c1) / (√(v/c2) + eps)
 *
 * a1 = 1 − β1 and a2 = 1 − β2 come in as arguments, formed in double by the caller: formed here in
 * float32 from fround(0.999), 1 − β2 would be 0.00099998713 (1.3e-5 low) and every Adam step
 * 6.4e-6 too large. decay is adamw's 1 − lr·weight_decay (1 for adam: w·1 is w exactly).
 *
 * Arrays are byte addresses, `count` is in floats: four at a time, then one at a time.
 */
import { FunctionBuilder, type ValType } from "./encoder.js";

export type OptimizerKernel = "sgd" | "sgdMomentum" | "adam";

interface Shape {
  readonly arrays: readonly string[];
  readonly scalars: readonly string[];
}

const SHAPES: Readonly<Record<OptimizerKernel, Shape>> = {
  sgd: { arrays: ["w", "g"], scalars: ["rate"] },
  sgdMomentum: { arrays: ["w", "g", "v"], scalars: ["rate", "mu"] },
  adam: { arrays: ["w", "g", "m", "v"], scalars: ["rate", "b1", "b2", "a1", "a2", "c1", "c2", "eps", "decay"] },
};

/** The kernel's parameters: array addresses, the float count, then the f32 scalars. */
export function optimizerParams(kernel: OptimizerKernel): { arrays: readonly string[]; scalars: readonly string[] } {
  return SHAPES[kernel];
}

/** Vector or scalar flavour of the same instructions, so one body serves the loop and its tail. */
interface Ops {
  load(array: string): void;
  store(array: string, value: () => void): void;
  scalar(name: string): void;
  add(): void;
  sub(): void;
  mul(): void;
  div(): void;
  sqrt(): void;
}

function ops(f: FunctionBuilder, vector: boolean): Ops {
  return {
    load: (a) => (vector ? f.localGet(a).v128Load({ align: 2 }) : f.localGet(a).f32Load()),
    store: (a, value) => {
      f.localGet(a);
      value();
      if (vector) f.v128Store({ align: 2 });
      else f.f32Store();
    },
    scalar: (name) => (vector ? f.localGet(`${name}4`) : f.localGet(name)),
    add: () => (vector ? f.f32x4Add() : f.f32Add()),
    sub: () => (vector ? f.f32x4Sub() : f.f32Sub()),
    mul: () => (vector ? f.f32x4Mul() : f.f32Mul()),
    div: () => (vector ? f.f32x4Div() : f.f32Div()),
    sqrt: () => (vector ? f.f32x4Sqrt() : f.f32Sqrt()),
  };
}

/** One element's (or four elements') update, written with `o`. */
function update(kernel: OptimizerKernel, o: Ops): void {
  switch (kernel) {
    case "sgd":
      o.store("w", () => {
        o.load("w");
        o.scalar("rate");
        o.load("g");
        o.mul();
        o.sub();
      });
      return;
    case "sgdMomentum":
      o.store("v", () => {
        o.scalar("mu");
        o.load("v");
        o.mul();
        o.load("g");
        o.add();
      });
      o.store("w", () => {
        o.load("w");
        o.scalar("rate");
        o.load("v");
        o.mul();
        o.sub();
      });
      return;
    case "adam":
      o.store("m", () => {
        o.scalar("b1");
        o.load("m");
        o.mul();
        o.scalar("a1");
        o.load("g");
        o.mul();
        o.add();
      });
      o.store("v", () => {
        o.scalar("b2");
        o.load("v");
        o.mul();
        o.scalar("a2");
        o.load("g");
        o.mul();
        o.load("g");
        o.mul();
        o.add();
      });
      o.store("w", () => {
        o.load("w");
        o.scalar("decay");
        o.mul();
        o.scalar("rate");
        o.load("m");
        o.scalar("c1");
        o.div();
        o.mul();
        o.load("v");
        o.scalar("c2");
        o.div();
        o.sqrt();
        o.scalar("eps");
        o.add();
        o.div();
        o.sub();
      });
      return;
  }
}

/** The function body of one optimizer kernel. */
export function buildOptimizer(kernel: OptimizerKernel): FunctionBuilder {
  const { arrays, scalars } = SHAPES[kernel];
  const params: [string, ValType][] = [...arrays.map((a): [string, ValType] => [a, "i32"]), ["count", "i32"], ...scalars.map((s): [string, ValType] => [s, "f32"])];
  const f = new FunctionBuilder(params);
  for (const s of scalars) f.local(`${s}4`, "v128");
  f.local("end", "i32");
  for (const s of scalars) f.localGet(s).f32x4Splat().localSet(`${s}4`);
  const advance = (bytes: number): void => {
    for (const a of arrays) f.localGet(a).i32Const(bytes).i32Add().localSet(a);
  };
  // end = address of w after its last whole group of four
  f.localGet("w").localGet("count").i32Const(-4).i32And().i32Const(4).i32Mul().i32Add().localSet("end");
  f.block("vectorDone", () => {
    f.loop("vectors", () => {
      f.localGet("w").localGet("end").i32GeU().brIf("vectorDone");
      update(kernel, ops(f, true));
      advance(16);
      f.br("vectors");
    });
  });
  f.localGet("w").localGet("count").i32Const(3).i32And().i32Const(4).i32Mul().i32Add().localSet("end");
  f.block("scalarDone", () => {
    f.loop("scalars", () => {
      f.localGet("w").localGet("end").i32GeU().brIf("scalarDone");
      update(kernel, ops(f, false));
      advance(4);
      f.br("scalars");
    });
  });
  return f;
}
