/**
 * The Python every model.py holds whatever its layers: dlc's seeded initialisation (mulberry32
 * and Keras' initialisers, as src/interp/init.ts), the check of a dict of weights against
 * WEIGHTS, and the support library's import. Plain text: nothing from a .dl file enters it.
 */
export const COMMON_PYTHON = `def _dlc_random(seed):
    """dlc's seeded uniform [0, 1) generator (mulberry32), draw for draw."""
    mask = 0xFFFFFFFF
    state = seed & mask

    def draw():
        nonlocal state
        state = (state + 0x6D2B79F5) & mask
        t = state
        t = ((t ^ (t >> 15)) * (t | 1)) & mask
        t = (t ^ ((t + ((t ^ (t >> 7)) * (t | 61))) & mask)) & mask
        return ((t ^ (t >> 14)) & mask) / 4294967296

    return draw


def _dlc_initial_weights(seed):
    """The weights \`dlc train --seed SEED\` starts from, drawn in WEIGHTS' order: Glorot or He
    uniform, Keras' orthogonal (Gram-Schmidt on normal samples), uniform(-0.05, 0.05), zeros, ones."""
    draw = _dlc_random(seed)
    weights = {}
    for name, shape, init, fan_in, fan_out in WEIGHTS:
        size = math.prod(shape)
        if init == "zeros":
            values = [0.0] * size
        elif init == "ones":
            values = [1.0] * size
        elif init in ("glorot", "he", "uniform"):
            limit = math.sqrt(6 / (fan_in + fan_out)) if init == "glorot" else math.sqrt(6 / fan_in) if init == "he" else 0.05
            values = [(draw() * 2 - 1) * limit for _ in range(size)]
        else:
            values = []
            for _ in range(size):
                u = 1 - draw()
                v = draw()
                values.append(math.sqrt(-2 * math.log(u)) * math.cos(2 * math.pi * v))
            rows = shape[0]
            cols = size // rows
            if rows <= cols:
                for r in range(rows):
                    row = values[r * cols : (r + 1) * cols]
                    for q in range(r):
                        other = values[q * cols : (q + 1) * cols]
                        dot = 0.0
                        for c in range(cols):
                            dot += row[c] * other[c]
                        row = [row[c] - dot * other[c] for c in range(cols)]
                    norm = 0.0
                    for c in range(cols):
                        norm += row[c] * row[c]
                    norm = math.sqrt(norm) or 1.0
                    values[r * cols : (r + 1) * cols] = [value / norm for value in row]
        weights[name] = torch.tensor(values, dtype=torch.float64).reshape(shape)
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
    """\`net.load_dlc(path)\` loads into net; \`Net.load_dlc(path)\` makes a Net first. Both return the Net."""

    def __init__(self, method):
        self.method = method
        self.__doc__ = method.__doc__

    def __get__(self, obj, cls):
        return lambda *args, **kwargs: self.method(obj if obj is not None else cls(), *args, **kwargs)
`;
