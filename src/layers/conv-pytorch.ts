import type { PythonHelper, PytorchExport } from "../export/pytorch/types.js";
import { pyLiteral } from "../export/pytorch/python-text.js";
import type { ConvArgs } from "./conv.js";
import { paddingOf } from "./geometry.js";

const convHelper: PythonHelper = {
  name: "DlcConv2d",
  code: `class DlcConv2d(torch.nn.Conv2d):
    """torch.nn.Conv2d on dlc's channels-last values [N, H, W, C] -> [N, H', W', F], with dlc's zero
    padding given per side (top, bottom, left, right): \`pad same\` puts an odd extra row or column
    at the bottom or right, as TensorFlow does. The weight is [F, C, KH, KW], dlc's [KH, KW, C, F] kernel permuted."""

    def __init__(self, channels, filters, kernel, stride, pads, bias):
        super().__init__(channels, filters, kernel, stride=stride, bias=bias)
        self.pads = pads

    def forward(self, x):
        x = x.permute(0, 3, 1, 2)
        top, bottom, left, right = self.pads
        if top or bottom or left or right:
            x = torch.nn.functional.pad(x, (left, right, top, bottom))
        return super().forward(x).permute(0, 2, 3, 1)

    def extra_repr(self):
        return "%s, pads=%s" % (super().extra_repr(), self.pads)
`,
};

/** A channels-last torch.nn.Conv2d with dlc's explicit padding. */
export const convPytorch: PytorchExport<ConvArgs> = (ctx, a) => {
  const [h, w, c] = ctx.inputShapes[0]! as [number, number, number];
  const p = paddingOf(a.window, h, w);
  const { kh, kw, stride } = a.window;
  return {
    module: `DlcConv2d(${c}, ${a.filters}, (${kh}, ${kw}), stride=${stride}, pads=(${p.top}, ${p.bottom}, ${p.left}, ${p.right}), bias=${pyLiteral(a.bias)})`,
    call: (m, [x]) => `${m}(${x})`,
    helpers: [convHelper],
    weights: [
      { name: "kernel", read: (m) => `${m}.weight.permute(2, 3, 1, 0)`, write: (m, v) => `${m}.weight.copy_(${v}.permute(3, 2, 0, 1))` },
      ...(a.bias ? [{ name: "bias", read: (m: string) => `${m}.bias`, write: (m: string, v: string) => `${m}.bias.copy_(${v})` }] : []),
    ],
  };
};
