#!/usr/bin/env python3
"""Runs the exported network on a data file and prints what `dlc run` prints: one line per
sample (`0: [0.1,0.9]  → class 1` after a softmax), or {"outputs": [...]} with --json.

    python run.py --weights W --data D [--json] [--dtype float32|float64] [--device cpu|cuda]

Written by `dlc export --to pytorch`; needs model.py and dlc_support.py beside it."""

import argparse
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402

import dlc_support  # noqa: E402
from model import NETWORK, Net  # noqa: E402

CHUNK = 1024


def js_number(v):
    """A float as JavaScript's JSON.stringify writes it (shortest round trip; null if not finite)."""
    if not math.isfinite(v):
        return "null"
    if v == 0:
        return "0"
    text = repr(float(v))
    sign = "-" if text.startswith("-") else ""
    text = text.lstrip("-")
    mantissa, _, exponent = text.partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = whole + fraction
    point = len(whole) + int(exponent or 0)
    stripped = digits.lstrip("0")
    point -= len(digits) - len(stripped)
    digits = stripped.rstrip("0")
    k, n = len(digits), point
    if k <= n <= 21:
        out = digits + "0" * (n - k)
    elif 0 < n <= 21:
        out = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        out = "0." + "0" * (-n) + digits
    else:
        e = n - 1
        out = digits[0] + ("." + digits[1:] if k > 1 else "") + "e" + ("+" if e >= 0 else "-") + str(abs(e))
    return sign + out


def js_json(value):
    """Nested lists of floats as compact JSON, numbers as JavaScript writes them."""
    if isinstance(value, list):
        return "[" + ",".join(js_json(v) for v in value) + "]"
    return js_number(value)


def main(argv=None):
    parser = argparse.ArgumentParser(description="Run the exported network on a data file, as `dlc run` does.")
    parser.add_argument("--weights", required=True, help="dlc weights (.json or .safetensors)")
    parser.add_argument("--data", required=True, help="data file (JSON, CSV, IDX; gzip'd or not)")
    parser.add_argument("--json", action="store_true", help='print {"outputs": [...]}')
    parser.add_argument("--dtype", choices=["float32", "float64"], default="float32", help="number type (float64 matches dlc's interpreter)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, …")
    args = parser.parse_args(argv)

    dtype = torch.float64 if args.dtype == "float64" else torch.float32
    try:
        device = torch.device(args.device)
        net = Net().load_dlc(args.weights).to(device=device, dtype=dtype).eval()
        data = dlc_support.read_data(args.data, NETWORK)
    except (OSError, ValueError, RuntimeError) as e:
        print("run.py: %s" % e, file=sys.stderr)
        return 2
    outputs = []
    with torch.no_grad():
        for start in range(0, data.size, CHUNK):
            xs = []
            for x, spec in zip(data.x, NETWORK["inputs"]):
                x = x[start : start + CHUNK].to(device)
                xs.append(x.long() if spec["dtype"] == "int64" else x.to(dtype))
            outputs.extend(net(*xs).to("cpu", torch.float64).tolist())

    if args.json:
        print('{"outputs":' + js_json(outputs) + "}")
    else:
        softmax = NETWORK["final_activation"] == "softmax" and len(NETWORK["output"]) == 1
        for i, values in enumerate(outputs):
            label = "  \u2192 class %d" % max(range(len(values)), key=lambda j: (values[j], -j)) if softmax else ""
            print("%d: %s%s" % (i, js_json(values), label))
    bad = [i for i, values in enumerate(outputs) if not all(math.isfinite(v) for v in _flat(values))]
    if bad:
        what = "sample %d's output is" % bad[0] if len(bad) == 1 else "the outputs of %d samples (the first: sample %d) are" % (len(bad), bad[0])
        print("run.py: %s not finite (NaN or infinite, printed as null): the weights or the data are out of range for this network" % what, file=sys.stderr)
        return 1
    return 0


def _flat(values):
    if isinstance(values, list):
        for v in values:
            yield from _flat(v)
    else:
        yield values


if __name__ == "__main__":
    sys.exit(main())
