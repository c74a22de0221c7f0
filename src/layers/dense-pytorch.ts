import type { PytorchExport } from "../export/pytorch/types.js";
import { pyLiteral } from "../export/pytorch/python-text.js";
import type { DenseArgs } from "./dense.js";

/** torch.nn.Linear on the last axis (it broadcasts over [N, …, F] as dlc's dense does); its weight is dlc's kernel transposed. */
export const densePytorch: PytorchExport<DenseArgs> = (ctx, a) => {
  const x = ctx.inputShapes[0]!;
  const features = x[x.length - 1]!;
  return {
    module: `torch.nn.Linear(${features}, ${a.units}, bias=${pyLiteral(a.bias)})`,
    call: (m, [v]) => `${m}(${v})`,
    weights: [
      { name: "kernel", read: (m) => `${m}.weight.t()`, write: (m, v) => `${m}.weight.copy_(${v}.t())` },
      ...(a.bias ? [{ name: "bias", read: (m: string) => `${m}.bias`, write: (m: string, v: string) => `${m}.bias.copy_(${v})` }] : []),
    ],
  };
};
