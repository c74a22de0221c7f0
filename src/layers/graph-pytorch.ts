import type { PytorchExport } from "../export/pytorch/types.js";

/** Element-wise sum, left to right as dlc adds. */
export const addPytorch: PytorchExport<Record<string, never>> = () => ({ call: (_m, xs) => xs.join(" + ") });

/** Joined on the last axis. */
export const concatPytorch: PytorchExport<Record<string, never>> = () => ({ call: (_m, xs) => `torch.cat([${xs.join(", ")}], dim=-1)` });
