import { diagnostic } from "../diag/codes.js";
import type { CallSite, Diagnostics } from "../diag/diagnostic.js";
import type { Expr, Value } from "../syntax/ast.js";
import type { ArgValue } from "./values.js";

export type Env = ReadonlyMap<string, ArgValue>;

/**
 * Substitutes block parameters and does the arithmetic. A name that is not a parameter
 * stays a word (`relu`, `stride`); inside arithmetic it is an error.
 */
export function evaluate(v: Value, env: Env, diags: Diagnostics, chain: readonly CallSite[]): ArgValue | undefined {
  if (v.type === "dims") return { type: "dims", dims: v.dims };
  if (v.type === "name") return env.get(v.name) ?? { type: "word", word: v.name };
  return arithmetic(v, env, diags, chain);
}

function arithmetic(e: Expr, env: Env, diags: Diagnostics, chain: readonly CallSite[]): ArgValue | undefined {
  const fail = (message: string): undefined => {
    diags.add(diagnostic("arithmetic", e.span, message, { chain }));
    return undefined;
  };
  switch (e.type) {
    case "number": {
      const isInteger = e.isInteger && Number.isSafeInteger(e.value);
      return e.text === undefined ? { type: "number", value: e.value, isInteger } : { type: "number", value: e.value, isInteger, text: e.text };
    }
    case "name": {
      const bound = env.get(e.name);
      if (!bound) return fail(`'${e.name}' is not a block parameter, so it cannot be used in arithmetic`);
      if (bound.type !== "number") return fail(`'${e.name}' is ${bound.type === "dims" ? `the size ${bound.dims.join("x")}` : `the word '${bound.word}'`}, not a number`);
      return bound;
    }
    case "negate": {
      const x = arithmetic(e.operand, env, diags, chain);
      if (!x || x.type !== "number") return undefined;
      return x.text === undefined ? { type: "number", value: -x.value, isInteger: x.isInteger } : { type: "number", value: -x.value, isInteger: x.isInteger, text: `-${x.text}` };
    }
    case "binary": {
      const l = arithmetic(e.left, env, diags, chain);
      const r = arithmetic(e.right, env, diags, chain);
      if (!l || !r || l.type !== "number" || r.type !== "number") return undefined;
      // 9007199254740993 + 2 would be done on the double 9007199254740992: refused, as results past 2^53 are.
      if ([l.value, r.value].some((v) => Number.isInteger(v) && !Number.isSafeInteger(v))) return fail("whole numbers of 2^53 and more are too large for exact integer arithmetic");
      const integer = l.isInteger && r.isInteger;
      let value: number;
      switch (e.op) {
        case "+":
          value = l.value + r.value;
          break;
        case "-":
          value = l.value - r.value;
          break;
        case "*":
          value = l.value * r.value;
          break;
        case "/":
          if (r.value === 0) return fail("division by zero");
          if (integer && l.value % r.value !== 0) return fail(`${l.value} / ${r.value} does not divide exactly`);
          value = l.value / r.value;
          break;
      }
      if (integer && !Number.isSafeInteger(value)) return fail(`the result ${value} is too large for exact integer arithmetic`);
      if (!Number.isFinite(value)) return fail("the result is not a finite number");
      return { type: "number", value, isInteger: integer };
    }
  }
}
