/**
 * The learning rate of each batch: a schedule over epochs, times a linear warmup over the first
 * batches. Pure; the training loops (interpreter and compiled) call it before every batch.
 *
 *   lr = baseLr · scheduleFactor(epoch) · warmupFactor(k),   k = (epoch − 1)·batchesPerEpoch + batch
 *
 * - `step E G`: G^⌊(epoch − 1) / E⌋ — PyTorch's StepLR(step_size=E, gamma=G), stepped once per epoch.
 * - `cosine`: (1 + cos(π·(epoch − 1) / epochs)) / 2 — CosineAnnealingLR(T_max=epochs, eta_min=0),
 *   stepped once per epoch: the first epoch at baseLr, towards 0 at the end of the run.
 * - `warmup N`: min(1, (k + 1) / N) — LinearLR(start_factor=1/N, end_factor=1, total_iters=N−1)
 *   stepped once per batch: the first batch at baseLr/N, batch N − 1 (0-based) and later at the full rate.
 *
 * Composed by multiplication, as LambdaLR with the product of the two factors would be.
 */

export type LrSchedule = { readonly kind: "step"; readonly every: number; readonly gamma: number } | { readonly kind: "cosine" };

export interface LrSettings {
  readonly schedule?: LrSchedule;
  /** Batches of linear warmup (≥ 1; 1 or absent: none). */
  readonly warmup?: number;
}

export interface LrPosition {
  /** 1-based. */
  readonly epoch: number;
  /** 0-based within the epoch. */
  readonly batch: number;
  readonly batchesPerEpoch: number;
  /** The run's epochs (cosine anneals over them). */
  readonly epochs: number;
}

export function learningRateAt(baseLr: number, settings: LrSettings, at: LrPosition): number {
  return baseLr * scheduleFactor(settings.schedule, at.epoch, at.epochs) * warmupFactor(settings.warmup, (at.epoch - 1) * at.batchesPerEpoch + at.batch);
}

function scheduleFactor(schedule: LrSchedule | undefined, epoch: number, epochs: number): number {
  if (schedule === undefined) return 1;
  if (schedule.kind === "step") return schedule.gamma ** Math.floor((epoch - 1) / schedule.every);
  return (1 + Math.cos((Math.PI * (epoch - 1)) / Math.max(1, epochs))) / 2;
}

function warmupFactor(warmup: number | undefined, k: number): number {
  return warmup === undefined || warmup <= 1 ? 1 : Math.min(1, (k + 1) / warmup);
}
