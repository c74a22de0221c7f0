import type { PythonHelper, PytorchExport } from "../export/pytorch/types.js";
import { pyLiteral, pyNumber } from "../export/pytorch/python-text.js";
import { BATCHNORM_MOMENTUM, NORM_EPSILON } from "./norm-kernel.js";

const momentsHelper: PythonHelper = {
  name: "_dlc_batch_moments",
  code: `def _dlc_batch_moments(x):
    """The mean and the biased variance of the last axis over every other axis (batch included).
    Under torch.distributed (several processes) with Net.sync_batch_statistics on, the sums and
    counts are all-reduced with autograd, so the statistics and their gradients are those of the
    global batch, exactly as one process computes them."""
    rows = x.reshape(-1, x.shape[-1])
    total = rows.sum(dim=0)
    count = torch.full((1,), float(rows.shape[0]), dtype=x.dtype, device=x.device)
    sync = Net.sync_batch_statistics and torch.distributed.is_available() and torch.distributed.is_initialized()
    if sync:
        from torch.distributed.nn.functional import all_reduce

        both = all_reduce(torch.cat([total, count]))
        total, count = both[:-1], both[-1:]
    mean = total / count
    squares = ((rows - mean) * (rows - mean)).sum(dim=0)
    if sync:
        squares = all_reduce(squares)
    return mean, squares / count
`,
};

const batchnormHelper: PythonHelper = {
  name: "DlcBatchNorm",
  needs: [momentsHelper],
  code: `class DlcBatchNorm(torch.nn.Module):
    """Batch normalisation of the last axis as dlc (and Keras) does it. Training: the batch mean
    and biased variance, and the running statistics updated in place as
    momentum * running + (1 - momentum) * batch, with that same biased variance. Inference (and a
    frozen layer, always): the running statistics. y = gamma * (x - mean) / sqrt(var + eps) + beta."""

    def __init__(self, channels, epsilon=${pyNumber(NORM_EPSILON)}, momentum=${pyNumber(BATCHNORM_MOMENTUM)}, frozen=False):
        super().__init__()
        self.epsilon, self.momentum, self.frozen = epsilon, momentum, frozen
        self.gamma = torch.nn.Parameter(torch.ones(channels))
        self.beta = torch.nn.Parameter(torch.zeros(channels))
        self.register_buffer("moving_mean", torch.zeros(channels))
        self.register_buffer("moving_variance", torch.ones(channels))

    def forward(self, x):
        if self.training and not self.frozen:
            mean, variance = _dlc_batch_moments(x)
            with torch.no_grad():
                self.moving_mean.copy_(self.momentum * self.moving_mean + (1 - self.momentum) * mean)
                self.moving_variance.copy_(self.momentum * self.moving_variance + (1 - self.momentum) * variance)
        else:
            mean, variance = self.moving_mean, self.moving_variance
        return self.gamma * ((x - mean) * (1 / torch.sqrt(variance + self.epsilon))) + self.beta

    def extra_repr(self):
        return "%d, epsilon=%s, momentum=%s%s" % (self.gamma.shape[0], self.epsilon, self.momentum, ", frozen=True" if self.frozen else "")
`,
};

const plain = (name: string) => ({ name, read: (m: string) => `${m}.${name}`, write: (m: string, v: string) => `${m}.${name}.copy_(${v})` });

export const batchnormPytorch: PytorchExport<Record<string, never>> = (ctx) => {
  const x = ctx.inputShapes[0]!;
  return {
    module: `DlcBatchNorm(${x[x.length - 1]!}${ctx.frozen ? `, frozen=${pyLiteral(true)}` : ""})`,
    call: (m, [v]) => `${m}(${v})`,
    helpers: [batchnormHelper],
    weights: [plain("gamma"), plain("beta"), plain("moving_mean"), plain("moving_variance")],
  };
};

/** torch.nn.LayerNorm is dlc's layernorm exactly: biased variance, eps inside the root. */
export const layernormPytorch: PytorchExport<Record<string, never>> = (ctx) => {
  const x = ctx.inputShapes[0]!;
  return {
    module: `torch.nn.LayerNorm(${x[x.length - 1]!}, eps=${pyNumber(NORM_EPSILON)})`,
    call: (m, [v]) => `${m}(${v})`,
    weights: [
      { name: "gamma", read: (m) => `${m}.weight`, write: (m, v) => `${m}.weight.copy_(${v})` },
      { name: "beta", read: (m) => `${m}.bias`, write: (m, v) => `${m}.bias.copy_(${v})` },
    ],
  };
};
