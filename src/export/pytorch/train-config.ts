import type { TrainConfig } from "../../ir/types.js";
import { DEFAULT_ADAMW_WEIGHT_DECAY, optimizerConfigOf } from "../../interp/optimizers.js";

/**
 * The train { } block with dlc's defaults where it is silent, resolved as `dlc train --interpret`
 * resolves it (optimizerConfigOf, makeOptimizer's adamw weight_decay): every setting that changes
 * training is here, so that train.py trains the same model or refuses what it does not implement.
 */
export function resolvedTrain(train: TrainConfig | undefined): Record<string, unknown> {
  const o = optimizerConfigOf(train);
  const weightDecay = o.weightDecay ?? (o.kind === "adamw" ? DEFAULT_ADAMW_WEIGHT_DECAY : 0);
  return {
    loss: train?.loss ?? null,
    optimizer: { kind: o.kind, lr: o.lr, momentum: o.momentum ?? 0, beta1: o.beta1 ?? 0.9, beta2: o.beta2 ?? 0.999, eps: o.eps ?? 1e-8, weight_decay: weightDecay },
    epochs: train?.epochs ?? 1,
    batch: train?.batch ?? 32,
    seed: train?.seed ?? 1,
    bptt: train?.bptt ?? null,
    clip: o.clip ?? null,
    schedule: train?.schedule ?? null,
    warmup: train?.warmup ?? null,
    patience: train?.patience ?? null,
  };
}
