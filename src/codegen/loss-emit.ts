import type { Plan } from "./plan.js";

/**
 * Below this a softmax output (f32: normal down to 1.2e-38) no longer carries a logarithm to
 * its full precision, and the fused cross-entropy recomputes that row's log-softmax.
 */
const TINY_PROBABILITY = "1e-30";

/**
 * The body of the generated `lossAndGrad`: the three losses of §6, summed over a sample's
 * outputs and divided by `over` (the batch size; a shard's batch when training on threads); fused with the final softmax/sigmoid when `this.fused`.
 * `exp`: the function the fused softmax cross-entropy exponentiates with (f32 modules: expf).
 */
export function lossCode(p: Plan, _arr: string, exp = "Math.exp"): string {
  const out = p.buffers[p.outputBuffer]!;
  const width = out.shape[out.shape.length - 1]!;
  const logits = p.logitsBuffer;
  const z = logits === undefined ? "a" : `this.b${logits}`;
  const dz = logits === undefined ? "da" : `this.d${logits}`;
  return `
    const a = this.b${out.id};
    const da = this.d${out.id};
    const z = ${z};
    const dz = ${dz};
    void z;
    void dz;
    const size = n * ${out.size};
    const width = ${width};
    const classes = targets.length !== size;
    if (classes && targets.length !== size / width) {
      throw new RangeError(\`targets: expected \${size} values shaped like the output, or \${size / width} class indices, got \${targets.length}\`);
    }
    const t = classes ? this.oneHot : null;
    if (t) {
      t.fill(0, 0, size);
      for (let r = 0; r < size / width; r++) {
        const c = targets[r]!;
        if (!(Number.isInteger(c) && c >= 0 && c < width)) throw new RangeError(\`targets[\${r}] = \${c} is not a class index below \${width}\`);
        t[r * width + c] = 1;
      }
    }
    const y: ArrayLike<number> = t ?? targets;
    let total = 0;
    switch (loss) {
      case "squared":
        for (let i = 0; i < size; i++) {
          const d = a[i]! - y[i]!;
          total += 0.5 * d * d;
          da[i] = d / over;
        }
        break;
      case "cross_entropy":
        if (this.fused) {
          // −log of the softmax the forward pass left in a; a row with a target on an output too
          // small for its logarithm to be exact takes the stable log-softmax of its logits instead
          for (let o = 0; o < size; o += width) {
            let tiny = false;
            for (let j = 0; j < width; j++) {
              const target = y[o + j]!;
              const q = a[o + j]!;
              if (target !== 0) {
                if (q > ${TINY_PROBABILITY}) total -= target * Math.log(q);
                else tiny = true;
              }
              dz[o + j] = (q - target) / over;
            }
            if (!tiny) continue;
            let max = -Infinity;
            for (let j = 0; j < width; j++) if (z[o + j]! > max) max = z[o + j]!;
            let sum = 0;
            for (let j = 0; j < width; j++) sum += ${exp}(z[o + j]! - max);
            const logSum = max + Math.log(sum);
            for (let j = 0; j < width; j++) {
              const target = y[o + j]!;
              if (target !== 0 && !(a[o + j]! > ${TINY_PROBABILITY})) total -= target * (z[o + j]! - logSum);
            }
          }
        } else {
          for (let i = 0; i < size; i++) {
            const q = Math.max(a[i]!, 1e-12);
            if (y[i] !== 0) total -= y[i]! * Math.log(q);
            da[i] = -y[i]! / q / over;
          }
        }
        break;
      case "binary_cross_entropy":
        if (this.fused) {
          for (let i = 0; i < size; i++) {
            const x = z[i]!;
            total += Math.max(x, 0) - x * y[i]! + Math.log1p(Math.exp(-Math.abs(x)));
            dz[i] = (a[i]! - y[i]!) / over;
          }
        } else {
          for (let i = 0; i < size; i++) {
            const q = Math.min(Math.max(a[i]!, 1e-12), 1 - 1e-12);
            total -= y[i]! * Math.log(q) + (1 - y[i]!) * Math.log(1 - q);
            da[i] = (q - y[i]!) / (q * (1 - q)) / over;
          }
        }
        break;
    }
    return total / over;`;
}
