import type { PythonHelper, PytorchExport } from "../export/pytorch/types.js";
import { pyString } from "../export/pytorch/python-text.js";
import { paddingOf } from "./geometry.js";
import type { PoolArgs } from "./pool.js";

const poolHelper: PythonHelper = {
  name: "DlcPool2d",
  code: `class DlcPool2d(torch.nn.Module):
    """max, min or avg pooling of channels-last values [N, H, W, C] as dlc pools: a window only
    counts real cells. Padding (given per side: top, bottom, left, right, the bottom/right also
    covering a \`ceil\` window's overhang) is ignored: max pools pad with -inf, an average divides
    its sum by the number of real cells, and a window holding no real cell gives 0. The result
    is cut to dlc's output size. min is -max(-x)."""

    def __init__(self, mode, kernel, stride, pads, output):
        super().__init__()
        self.mode, self.kernel, self.stride, self.pads, self.output = mode, kernel, stride, pads, output

    def _pool_sum(self, x):
        top, bottom, left, right = self.pads
        x = torch.nn.functional.pad(x, (left, right, top, bottom))
        return torch.nn.functional.avg_pool2d(x, self.kernel, self.stride, divisor_override=1)

    def forward(self, x):
        x = x.permute(0, 3, 1, 2)
        oh, ow = self.output
        ones = torch.ones((1, 1) + tuple(x.shape[2:]), dtype=x.dtype, device=x.device)
        cells = self._pool_sum(ones)[:, :, :oh, :ow]
        if self.mode == "avg":
            y = self._pool_sum(x)[:, :, :oh, :ow] / cells.clamp(min=1)
        else:
            sign = 1.0 if self.mode == "max" else -1.0
            top, bottom, left, right = self.pads
            padded = torch.nn.functional.pad(sign * x, (left, right, top, bottom), value=-math.inf)
            y = sign * torch.nn.functional.max_pool2d(padded, self.kernel, self.stride)[:, :, :oh, :ow]
            y = torch.where(cells > 0, y, torch.zeros_like(y))
        return y.permute(0, 2, 3, 1)

    def extra_repr(self):
        return "%s, kernel=%s, stride=%d, pads=%s, output=%s" % (self.mode, self.kernel, self.stride, self.pads, self.output)
`,
};

/**
 * dlc's pools with explicit padding: `pad same`'s bottom/right-heavy pads, and a `ceil` window's
 * overhang as extra bottom/right padding (so floor mode reaches dlc's size; the cut keeps it).
 */
export const poolPytorch: PytorchExport<PoolArgs> = (ctx, a) => {
  const [h, w] = ctx.inputShapes[0]! as [number, number];
  const [oh, ow] = ctx.outputShape as [number, number];
  const { kh, kw, stride } = a.window;
  const p = paddingOf(a.window, h, w);
  const bottom = Math.max(p.bottom, (oh - 1) * stride + kh - h - p.top);
  const right = Math.max(p.right, (ow - 1) * stride + kw - w - p.left);
  return {
    module: `DlcPool2d(${pyString(a.mode)}, (${kh}, ${kw}), ${stride}, pads=(${p.top}, ${bottom}, ${p.left}, ${right}), output=(${oh}, ${ow}))`,
    call: (m, [x]) => `${m}(${x})`,
    helpers: [poolHelper],
  };
};
