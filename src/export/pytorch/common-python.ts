/**
 * The Python every model.py holds whatever its layers: dlc's seeded initialisation (mulberry32
 * and Keras' initialisers, as src/interp/init.ts, vectorised), the check of a dict of weights against
 * WEIGHTS, and the support library's import. Plain text: nothing from a .dl file enters it.
 */
export const COMMON_PYTHON = `def _dlc_imul(a, b):
    """The low 32 bits of a * b for int64 tensors of 32-bit values (JavaScript's Math.imul), without overflow."""
    return (a * (b & 0xFFFF) + (((a * (b >> 16)) & 0xFFFF) << 16)) & 0xFFFFFFFF


def _dlc_draws(seed, first, count):
    """Draws first .. first + count - 1 of dlc's seeded uniform [0, 1) generator (mulberry32): its
    state after draw k is seed + (k + 1) * 0x6D2B79F5 (mod 2^32), so any stretch is computed at once."""
    k = torch.arange(first + 1, first + count + 1, dtype=torch.int64)
    t = (seed + k * 0x6D2B79F5) & 0xFFFFFFFF
    t = _dlc_imul(t ^ (t >> 15), t | 1)
    t = t ^ ((t + _dlc_imul(t ^ (t >> 7), t | 61)) & 0xFFFFFFFF)
    return ((t ^ (t >> 14)) & 0xFFFFFFFF).to(torch.float64) / 4294967296


def _dlc_initial_weights(seed):
    """The weights \`dlc train --seed SEED\` starts from, drawn in WEIGHTS' order: Glorot or He
    uniform, Keras' orthogonal (Gram-Schmidt on Box-Muller normal samples), uniform(-0.05, 0.05),
    zeros, ones."""
    weights = {}
    drawn = 0
    for name, shape, init, fan_in, fan_out in WEIGHTS:
        size = math.prod(shape)
        if init == "zeros":
            values = torch.zeros(size, dtype=torch.float64)
        elif init == "ones":
            values = torch.ones(size, dtype=torch.float64)
        elif init in ("glorot", "he", "uniform"):
            limit = math.sqrt(6 / (fan_in + fan_out)) if init == "glorot" else math.sqrt(6 / fan_in) if init == "he" else 0.05
            values = (_dlc_draws(seed, drawn, size) * 2 - 1) * limit
            drawn += size
        else:
            pairs = _dlc_draws(seed, drawn, 2 * size).reshape(size, 2)
            drawn += 2 * size
            values = torch.sqrt(-2 * torch.log(1 - pairs[:, 0])) * torch.cos(2 * math.pi * pairs[:, 1])
            rows = shape[0]
            matrix = values.reshape(rows, size // rows)
            if rows <= size // rows:
                for r in range(rows):
                    row = matrix[r].clone()
                    for q in range(r):
                        row -= torch.dot(row, matrix[q]) * matrix[q]
                    norm = math.sqrt(torch.dot(row, row).item()) or 1.0
                    matrix[r] = row / norm
        weights[name] = values.reshape(shape)
    return weights


def _dlc_checked_state(state):
    """state's tensors as float64 on the CPU, in dlc's layouts; a missing weight or a wrong shape
    is an error naming each one, a weight the network does not have a warning."""
    problems = []
    checked = {}
    for name, shape, *_ in WEIGHTS:
        if name not in state:
            problems.append("'%s' is missing" % name)
            continue
        value = state[name]
        value = value.detach().to("cpu", torch.float64) if isinstance(value, torch.Tensor) else torch.tensor(value, dtype=torch.float64)
        if list(value.shape) != list(shape):
            problems.append("'%s' is %s, the network needs %s" % (name, list(value.shape), list(shape)))
            continue
        checked[name] = value
    if problems:
        raise ValueError("the weights do not fit the network: " + "; ".join(problems))
    known = {w[0] for w in WEIGHTS}
    unknown = [name for name in state if name not in known]
    if unknown:
        warnings.warn("ignored weights the network does not have: " + ", ".join("'%s'" % n for n in unknown[:8]))
    return checked


def _dlc_support():
    """The support library written beside this file (dlc's weight and data files)."""
    if __package__:
        return importlib.import_module(".dlc_support", __package__)
    return importlib.import_module("dlc_support")


class _dlc_instance_or_class:
    """\`net.load_dlc(path)\` loads into net; \`Net.load_dlc(path)\` makes a Net (no initialisation) first. Both return the Net."""

    def __init__(self, method):
        self.method = method
        self.__doc__ = method.__doc__

    def __get__(self, obj, cls):
        return lambda *args, **kwargs: self.method(obj if obj is not None else cls(seed=None), *args, **kwargs)
`;
