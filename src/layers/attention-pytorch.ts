import type { PythonHelper, PytorchExport } from "../export/pytorch/types.js";
import { pyString } from "../export/pytorch/python-text.js";
import type { AttentionArgs } from "./attention.js";

const attentionHelper: PythonHelper = {
  name: "DlcAttention",
  code: `class DlcAttention(torch.nn.Module):
    """Unscaled attention of a query [N, Tq, Hq] (or [N, Hq]) over a memory [N, Tk, Hk] as dlc
    defines it: scores dot q.k, bilinear q.W.k, or mlp v.tanh(q.Wq + k.Wk); softmax over the
    memory steps; the weighted sum of memory rows. Weights in dlc's layout: kernel [Hq, Hk],
    query_kernel [Hq, U], memory_kernel [Hk, U], score_vector [U]."""

    def __init__(self, score, query_size, memory_size, units):
        super().__init__()
        self.score = score
        if score == "bilinear":
            self.kernel = torch.nn.Parameter(torch.zeros(query_size, memory_size))
        if score == "mlp":
            self.query_kernel = torch.nn.Parameter(torch.zeros(query_size, units))
            self.memory_kernel = torch.nn.Parameter(torch.zeros(memory_size, units))
            self.score_vector = torch.nn.Parameter(torch.zeros(units))

    def forward(self, query, memory):
        timed = query.dim() == 3
        q = query if timed else query.unsqueeze(1)
        if self.score == "dot":
            scores = q @ memory.transpose(1, 2)
        elif self.score == "bilinear":
            scores = (q @ self.kernel) @ memory.transpose(1, 2)
        else:
            hidden = torch.tanh((q @ self.query_kernel).unsqueeze(2) + (memory @ self.memory_kernel).unsqueeze(1))
            scores = hidden @ self.score_vector
        y = torch.softmax(scores, dim=-1) @ memory
        return y if timed else y.squeeze(1)

    def extra_repr(self):
        return self.score
`,
};

const plain = (name: string) => ({ name, read: (m: string) => `${m}.${name}`, write: (m: string, v: string) => `${m}.${name}.copy_(${v})` });

export const attentionPytorch: PytorchExport<AttentionArgs> = (ctx, a) => {
  const [q, mem] = ctx.inputShapes as [number[], number[]];
  const hq = q[q.length - 1]!;
  const hk = mem[1]!;
  const units = a.score === "mlp" ? (a.units ?? hq) : 0;
  const weights = a.score === "bilinear" ? [plain("kernel")] : a.score === "mlp" ? [plain("query_kernel"), plain("memory_kernel"), plain("score_vector")] : [];
  return {
    module: `DlcAttention(${pyString(a.score)}, ${hq}, ${hk}, units=${units})`,
    call: (m, [query, memory]) => `${m}(${query}, ${memory})`,
    helpers: [attentionHelper],
    weights,
  };
};
