"""Checks exported PyTorch models against numbers dlc's interpreter computed, for
tests/export-pytorch.test.ts: one process for every case. Reads a manifest (JSON: a list of
cases), prints one JSON object {case name: result}.

A case: {"name", "model": path of model.py, "weights": {name: {"shape", "data"}}, "inputs":
[{"shape", "data", "int"}], and either "expected" {"shape", "data"} (inference) or "step":
{"targets", "lr", "expected": {name: {"shape", "data"}}} (one SGD step on the squared loss)}."""
import contextlib
import importlib.util
import io
import json
import os
import runpy
import math
import re
import sys

import torch


def tensor(t, dtype=torch.float64):
    return torch.tensor(t["data"], dtype=dtype).reshape(t["shape"])


def relative(got, expected):
    scale = expected.abs().max().item()
    return (got - expected).abs().max().item() / (scale if scale > 0 else 1.0)


def load(case, index):
    spec = importlib.util.spec_from_file_location("model_%d" % index, case["model"])
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def formula_weights(module):
    """The weights tests/export-pytorch.test.ts's formulaWeights makes, from integers alone."""
    weights = {}
    for k, (name, shape, *_) in enumerate(module.WEIGHTS):
        last = name.rsplit(".", 1)[-1]
        fan_in = shape[0] if len(shape) == 1 else math.prod(shape[:-1])
        i = torch.arange(math.prod(shape), dtype=torch.float64)
        v = torch.remainder(i * 7919 + k * 104729, 2001) / 1000 - 1
        if last in ("gamma", "moving_variance"):
            v = 1 + v / 2
        elif re.search("kernel|embeddings|score_vector", last):
            v = v * math.sqrt(3 / fan_in)
        else:
            v = v * 0.2
        weights[name] = v.reshape(shape)
    return weights


def inputs(case, dtype):
    return [tensor(x, torch.int64) if x["int"] else tensor(x).to(dtype) for x in case["inputs"]]


def command(case):
    """Runs a project's script (run.py) in this process, as \`python DIR/run.py ARGS\` would."""
    for name in ("model", "dlc_support"):
        sys.modules.pop(name, None)
    out, err = io.StringIO(), io.StringIO()
    argv = sys.argv
    sys.argv = [case["script"]] + case["argv"]
    code = 0
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            runpy.run_path(case["script"], run_name="__main__")
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    finally:
        sys.argv = argv
        sys.path[:] = [p for p in sys.path if p != os.path.dirname(os.path.abspath(case["script"]))]
    return {"code": code, "stdout": out.getvalue(), "stderr": err.getvalue()}


def check(case, index):
    if "script" in case:
        return command(case)
    module = load(case, index)
    if "refuse" in case:
        weights = {name: tensor(t) for name, t in case["refuse"].items()}
        try:
            module.Net(seed=None).load_dlc_state(weights)
        except ValueError as e:
            return {"message": str(e)}
        return {"message": None}
    if "initial" in case:
        net = module.Net(seed=case["seed"], dtype=torch.float64)
        state = net.dlc_state()
        errors = {name: relative(state[name], tensor(t)) for name, t in case["initial"].items()}
        return {"error": max(errors.values()), "worst": max(errors, key=errors.get), "names": sorted(state) == sorted(case["initial"])}
    weights = formula_weights(module) if case["weights"] == "formula" else {name: tensor(t) for name, t in case["weights"].items()}
    net = module.Net(seed=None, dtype=torch.float64).load_dlc_state(weights)
    state = net.dlc_state()
    result = {
        "roundtrip": sorted(state) == sorted(weights) and all(torch.equal(state[k], weights[k]) and state[k].dtype == torch.float64 for k in weights),
    }
    if "expected" in case:
        expected = tensor(case["expected"])
        with torch.no_grad():
            net.eval()
            out = net(*inputs(case, torch.float64))
            result["shape"] = list(out.shape)
            result["dtype"] = str(out.dtype)
            result["error"] = relative(out, expected)
            if case["weights"] != "formula":
                single = module.Net(seed=None).load_dlc_state(weights).eval()
                out32 = single(*inputs(case, torch.float32))
                result["dtype32"] = str(out32.dtype)
                result["error32"] = relative(out32.double(), expected)
    else:
        step = case["step"]
        net.train()
        out = net(*inputs(case, torch.float64))
        y = tensor(step["targets"])
        loss = 0.5 * ((out - y) ** 2).sum() / out.shape[0]
        loss.backward()
        with torch.no_grad():
            for p in net.parameters():
                if p.requires_grad and p.grad is not None:
                    p -= step["lr"] * p.grad
        after = net.dlc_state()
        errors = {name: relative(after[name], tensor(t)) for name, t in step["expected"].items()}
        result["error"] = max(errors.values())
        result["worst"] = max(errors, key=errors.get)
        result["moved"] = max(relative(after[k], weights[k]) for k in weights)
    return result


def main():
    with open(sys.argv[1]) as f:
        cases = json.load(f)
    results = {}
    for index, case in enumerate(cases):
        try:
            results[case["name"]] = check(case, index)
        except Exception as e:  # reported per case, so one failure does not hide the others
            results[case["name"]] = {"exception": "%s: %s" % (type(e).__name__, e)}
    print(json.dumps(results))


main()
