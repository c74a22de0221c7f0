import type { TrainConfig } from "../../ir/types.js";
import { DEFAULT_LR } from "../../interp/optimizers.js";

/** The train { } block with dlc's defaults where it is silent (as `dlc train` and the compiled module read it). */
export function resolvedTrain(train: TrainConfig | undefined): Record<string, unknown> {
  const o = train?.optimizer;
  const kind = o?.kind ?? "sgd";
  return {
    loss: train?.loss ?? null,
    optimizer: { kind, lr: o?.lr ?? DEFAULT_LR[kind], momentum: o?.momentum ?? 0, beta1: o?.beta1 ?? 0.9, beta2: o?.beta2 ?? 0.999, eps: o?.eps ?? 1e-8 },
    epochs: train?.epochs ?? 1,
    batch: train?.batch ?? 32,
    seed: train?.seed ?? 1,
    bptt: train?.bptt ?? null,
  };
}
