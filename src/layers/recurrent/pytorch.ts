import type { PythonHelper, PytorchExport, PytorchWeight } from "../../export/pytorch/types.js";
import { pyLiteral } from "../../export/pytorch/python-text.js";
import type { RecurrentArgs } from "../recurrent.js";
import type { PartPrefix } from "./kernel.js";

const truncatedHelper: PythonHelper = {
  name: "_dlc_truncated",
  code: `def _dlc_cell(cell, x_projection, state, w_hh, b_hh):
    """One step of PyTorch's cell equations (its gate order: lstm i, f, g, o; gru r, z, n, reset
    after the product, h' = (1 - z) * n + z * h as Keras' GRU); state is (h,) or (h, c)."""
    hp = torch.nn.functional.linear(state[0], w_hh, b_hh)
    if cell == "rnn":
        return (torch.tanh(x_projection + hp),)
    if cell == "lstm":
        i, f, g, o = (x_projection + hp).chunk(4, dim=-1)
        c = torch.sigmoid(f) * state[1] + torch.sigmoid(i) * torch.tanh(g)
        return (torch.sigmoid(o) * torch.tanh(c), c)
    xr, xz, xn = x_projection.chunk(3, dim=-1)
    hr, hz, hn = hp.chunk(3, dim=-1)
    r = torch.sigmoid(xr + hr)
    z = torch.sigmoid(xz + hz)
    n = torch.tanh(xn + r * hn)
    return ((1 - z) * n + z * state[0],)


def _dlc_truncated(module, x, window, final_only):
    """Training with dlc's truncated BPTT (window K): the same values as the full run, but the
    gradient entering a recurrence at a step flows back through at most K of its steps; the state
    before them is a constant. Each output step is recomputed from the state K steps back, detached
    (O(T*K) steps, as dlc does it), for every layer and direction on its own. With final_only, only
    the last layer's final steps carry a gradient (the output is the last step)."""
    units, steps, batch = module.hidden_size, x.shape[1], x.shape[0]
    directions = 2 if module.bidirectional else 1
    sequence = x
    for layer in range(module.num_layers):
        outputs = []
        for direction in range(directions):
            suffix = "_l%d%s" % (layer, "_reverse" if direction else "")
            w_ih, w_hh = getattr(module, "weight_ih" + suffix), getattr(module, "weight_hh" + suffix)
            b_ih, b_hh = getattr(module, "bias_ih" + suffix), getattr(module, "bias_hh" + suffix)
            order = list(range(steps - 1, -1, -1)) if direction else list(range(steps))
            projections = [torch.nn.functional.linear(sequence[:, t], w_ih, b_ih) for t in order]
            zero = x.new_zeros(batch, units)
            states = [(zero, zero) if module.cell == "lstm" else (zero,)]
            with torch.no_grad():
                for k in range(steps):
                    states.append(_dlc_cell(module.cell, projections[k], states[k], w_hh, b_hh))
            out = [s[0] for s in states[1:]]
            wanted = [steps - 1] if final_only and layer == module.num_layers - 1 else range(steps)
            for s in wanted:
                start = max(0, s - window + 1)
                state = tuple(v.detach() for v in states[start])
                for k in range(start, s + 1):
                    state = _dlc_cell(module.cell, projections[k], state, w_hh, b_hh)
                out[s] = state[0]
            outputs.append(torch.stack(out[::-1] if direction else out, dim=1))
        sequence = torch.cat(outputs, dim=-1) if directions == 2 else outputs[0]
    return sequence
`,
};

const recurrentHelper: PythonHelper = {
  name: "_dlc_recurrent",
  needs: [truncatedHelper],
  code: `def _dlc_gru_gates(t):
    """Swaps the first two gate blocks of dim 0 (Keras' z, r, h <-> PyTorch's r, z, n): its own inverse."""
    h = t.shape[0] // 3
    return torch.cat([t[h : 2 * h], t[:h], t[2 * h :]], dim=0)


def _dlc_recurrent_setup(module, sequences, bptt, train_bptt):
    """batch_first; rnn and lstm have one bias in dlc: PyTorch's second (bias_hh) stays 0, untrained."""
    module.sequences, module.bptt, module.train_bptt = sequences, bptt, train_bptt
    if module.cell != "gru":
        with torch.no_grad():
            for name, p in module.named_parameters():
                if name.startswith("bias_hh"):
                    p.zero_()
                    p.requires_grad_(False)


def _dlc_recurrent(module, x, full):
    """dlc's output from PyTorch's: every step [N, T, D*H] with sequences, else each direction's
    final state, forward at t = T and backward at t = 1: [N, D*H]. In training, a bptt window
    shorter than the sequence truncates the gradient as dlc does."""
    window = module.bptt if module.bptt is not None else module.train_bptt
    if module.training and window is not None and window < x.shape[1]:
        sequence = _dlc_truncated(module, x, window, not module.sequences)
    else:
        sequence = full(x)
    if module.sequences:
        return sequence
    h = module.hidden_size
    if not module.bidirectional:
        return sequence[:, -1]
    return torch.cat([sequence[:, -1, :h], sequence[:, 0, h:]], dim=-1)


def _dlc_recurrent_repr(module):
    return "%s, sequences=%s, bptt=%s" % (torch.nn.RNNBase.extra_repr(module), module.sequences, module.bptt)


class DlcRNN(torch.nn.RNN):
    """torch.nn.RNN (tanh) from a zero state, on [N, T, F], with dlc's outputs and truncated BPTT."""

    cell = "rnn"

    def __init__(self, features, units, layers, bidirectional, sequences, bptt, train_bptt):
        super().__init__(features, units, num_layers=layers, bidirectional=bidirectional, batch_first=True)
        _dlc_recurrent_setup(self, sequences, bptt, train_bptt)

    def forward(self, x):
        return _dlc_recurrent(self, x, lambda v: torch.nn.RNN.forward(self, v)[0])

    def extra_repr(self):
        return _dlc_recurrent_repr(self)


class DlcLSTM(torch.nn.LSTM):
    """torch.nn.LSTM from a zero state, on [N, T, F], with dlc's outputs and truncated BPTT."""

    cell = "lstm"

    def __init__(self, features, units, layers, bidirectional, sequences, bptt, train_bptt):
        super().__init__(features, units, num_layers=layers, bidirectional=bidirectional, batch_first=True)
        _dlc_recurrent_setup(self, sequences, bptt, train_bptt)

    def forward(self, x):
        return _dlc_recurrent(self, x, lambda v: torch.nn.LSTM.forward(self, v)[0])

    def extra_repr(self):
        return _dlc_recurrent_repr(self)


class DlcGRU(torch.nn.GRU):
    """torch.nn.GRU (reset after the product, as Keras' GRU) from a zero state, on [N, T, F], with dlc's outputs and truncated BPTT."""

    cell = "gru"

    def __init__(self, features, units, layers, bidirectional, sequences, bptt, train_bptt):
        super().__init__(features, units, num_layers=layers, bidirectional=bidirectional, batch_first=True)
        _dlc_recurrent_setup(self, sequences, bptt, train_bptt)

    def forward(self, x):
        return _dlc_recurrent(self, x, lambda v: torch.nn.GRU.forward(self, v)[0])

    def extra_repr(self):
        return _dlc_recurrent_repr(self)
`,
};

const CLASS = { rnn: "DlcRNN", lstm: "DlcLSTM", gru: "DlcGRU" } as const;

/**
 * dlc's weights of one layer and direction as PyTorch's `weight_ih_l{k}[_reverse]` etc.: the
 * kernels transposed; gru's gate blocks z, r, h ↔ r, z, n and its [2, G·H] bias split into
 * bias_ih and bias_hh; rnn's and lstm's one bias is bias_ih (+ bias_hh, held at 0).
 */
function directionWeights(a: RecurrentArgs, prefix: string, suffix: string): PytorchWeight[] {
  const gates = (t: string): string => (a.cell === "gru" ? `_dlc_gru_gates(${t})` : t);
  const field = (m: string, name: string): string => `${m}.${name}${suffix}`;
  const bias: PytorchWeight =
    a.cell === "gru"
      ? {
          name: `${prefix}bias`,
          read: (m) => `torch.stack([${gates(field(m, "bias_ih"))}, ${gates(field(m, "bias_hh"))}])`,
          write: (m, v) => `${field(m, "bias_ih")}.copy_(${gates(`${v}[0]`)}); ${field(m, "bias_hh")}.copy_(${gates(`${v}[1]`)})`,
        }
      : {
          name: `${prefix}bias`,
          read: (m) => `(${field(m, "bias_ih")} + ${field(m, "bias_hh")})`,
          write: (m, v) => `${field(m, "bias_ih")}.copy_(${v}); ${field(m, "bias_hh")}.zero_()`,
        };
  return [
    { name: `${prefix}kernel`, read: (m) => `${gates(field(m, "weight_ih"))}.t()`, write: (m, v) => `${field(m, "weight_ih")}.copy_(${gates(`${v}.t()`)})` },
    { name: `${prefix}recurrent_kernel`, read: (m) => `${gates(field(m, "weight_hh"))}.t()`, write: (m, v) => `${field(m, "weight_hh")}.copy_(${gates(`${v}.t()`)})` },
    bias,
  ];
}

/** rnn, lstm and gru as torch.nn.RNN/LSTM/GRU subclasses (stacked and bidirectional in one module). */
export function recurrentPytorch(partPrefix: PartPrefix): PytorchExport<RecurrentArgs> {
  return (ctx, a) => {
    const [, features] = ctx.inputShapes[0]! as [number, number];
    const weights: PytorchWeight[] = [];
    for (let layer = 0; layer < a.layers; layer++) {
      for (const backward of a.bidirectional ? [false, true] : [false]) {
        weights.push(...directionWeights(a, partPrefix(a, layer, backward), `_l${layer}${backward ? "_reverse" : ""}`));
      }
    }
    const args = [features, a.units, `layers=${a.layers}`, `bidirectional=${pyLiteral(a.bidirectional)}`, `sequences=${pyLiteral(a.sequences)}`, `bptt=${pyLiteral(a.bptt ?? null)}`, `train_bptt=${ctx.bptt}`];
    return {
      module: `${CLASS[a.cell]}(${args.join(", ")})`,
      call: (m, [x]) => `${m}(${x})`,
      helpers: [recurrentHelper],
      weights,
    };
  };
}
