import type { PythonHelper, PytorchExport } from "../export/pytorch/types.js";
import type { UpsampleArgs } from "./reshape.js";

const globalAvgPoolHelper: PythonHelper = {
  name: "DlcGlobalAvgPool",
  code: `class DlcGlobalAvgPool(torch.nn.Module):
    """[N, H, W, C] -> [N, C]: the mean of each channel."""

    def forward(self, x):
        return x.mean(dim=(1, 2))
`,
};

const upsampleHelper: PythonHelper = {
  name: "DlcUpsample",
  code: `class DlcUpsample(torch.nn.Module):
    """[N, H, W, C] -> [N, K*H, K*W, C], nearest neighbour: output (i, j) copies input (i // K, j // K)."""

    def __init__(self, factor):
        super().__init__()
        self.factor = factor

    def forward(self, x):
        return x.repeat_interleave(self.factor, dim=1).repeat_interleave(self.factor, dim=2)
`,
};

/** [N, …] → [N, product]: row-major, channels last, as dlc flattens. */
export const flattenPytorch: PytorchExport<Record<string, never>> = () => ({ module: "torch.nn.Flatten()", call: (m, [x]) => `${m}(${x})` });

export const globalAvgPoolPytorch: PytorchExport<Record<string, never>> = () => ({
  module: "DlcGlobalAvgPool()",
  call: (m, [x]) => `${m}(${x})`,
  helpers: [globalAvgPoolHelper],
});

export const upsamplePytorch: PytorchExport<UpsampleArgs> = (_ctx, a) => ({
  module: `DlcUpsample(${a.factor})`,
  call: (m, [x]) => `${m}(${x})`,
  helpers: [upsampleHelper],
});
