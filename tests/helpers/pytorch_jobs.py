"""Runs many jobs on exported PyTorch projects in ONE Python process (importing torch once), for
tests/export-pytorch-train.test.ts. Usage: python3 pytorch_jobs.py JOBS.json; prints one line
`RESULTS <json>` with one result per job, in order. Under torchrun (WORLD_SIZE > 1) it sets up the
process group once, so that several train jobs share one torchrun; process 0 prints the results.

Jobs:
  {"kind": "train", "dir": PROJECT, "argv": [...]}            train.py's main(argv) in-process
  {"kind": "read", "dir": PROJECT, "path": DATA, "labels": L|null, "need_targets": bool}
                                                              dlc_support.read_data → x, y or the error
  {"kind": "forward", "dir": PROJECT, "weights": W, "data": D} Net (float64, eval) outputs on D's samples
"""
import contextlib
import io
import json
import sys

PROJECT_MODULES = ("model", "train", "dlc_support", "run")


_current = []


def use_project(folder):
    """Imports come from `folder` from now on (each project has its own model.py)."""
    for name in PROJECT_MODULES:
        sys.modules.pop(name, None)
    for previous in _current:
        while previous in sys.path:
            sys.path.remove(previous)
    _current[:] = [folder]
    sys.path.insert(0, folder)


def tensor_json(t):
    return None if t is None else {"shape": list(t.shape), "dtype": str(t.dtype).replace("torch.", ""), "data": t.reshape(-1).tolist()}


def run_job(job):
    use_project(job["dir"])
    import dlc_support

    out, err = io.StringIO(), io.StringIO()
    result = {}
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            if job["kind"] == "train":
                import train

                result["rc"] = train.main(job["argv"])
            elif job["kind"] == "read":
                from model import NETWORK

                d = dlc_support.read_data(job["path"], NETWORK, labels=job.get("labels"), need_targets=job.get("need_targets", False))
                result.update(rc=0, size=d.size, x=[tensor_json(t) for t in d.x], y=tensor_json(d.y))
            elif job["kind"] == "forward":
                import torch
                from model import NETWORK, Net

                previous = torch.get_default_dtype()
                torch.set_default_dtype(torch.float64)
                try:
                    net = Net().double().eval()
                finally:
                    torch.set_default_dtype(previous)
                expected = {name: list(t.shape) for name, t in net.dlc_state().items()}
                net.load_dlc_state(dlc_support.read_weights(job["weights"], expected))
                d = dlc_support.read_data(job["data"], NETWORK)
                with torch.no_grad():
                    result.update(rc=0, output=tensor_json(net(*d.x)))
            else:
                raise ValueError(f"unknown job kind {job['kind']}")
        except dlc_support.DlcError as e:
            result.update(rc=e.code, error=str(e))
            if job["kind"] == "train":
                dlc_support.report_error(e)  # as train.py's main_guard prints it
        except SystemExit as e:
            result["rc"] = e.code if isinstance(e.code, int) else 2
    result["stdout"] = out.getvalue()
    result["stderr"] = err.getvalue()
    return result


def main():
    import os

    with open(sys.argv[1]) as f:
        jobs = json.load(f)
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        import torch.distributed as dist

        dist.init_process_group("gloo")
    results = [run_job(job) for job in jobs]
    if os.environ.get("RANK", "0") == "0":
        sys.stdout.write("RESULTS " + json.dumps(results) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
