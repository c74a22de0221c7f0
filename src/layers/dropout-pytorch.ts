import type { PytorchExport } from "../export/pytorch/types.js";
import { pyNumber } from "../export/pytorch/python-text.js";
import type { DropoutArgs } from "./dropout.js";

/** Inverted dropout, as dlc's (its masks come from PyTorch's generator, not dlc's). */
export const dropoutPytorch: PytorchExport<DropoutArgs> = (_ctx, a) => ({ module: `torch.nn.Dropout(${pyNumber(a.rate)})`, call: (m, [x]) => `${m}(${x})` });
