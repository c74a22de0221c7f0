"""PyTorch's own optimizers and schedulers on the cases tests/optimizer-torch.test.ts sends (stdin JSON).

For each optimizer case: a linear layer a = x·K + b trained on the given batches with the squared
loss (mean over samples of ½Σ(y − a)²), float64, clip_grad_norm_ before each step when asked;
the weights after every step (and the gradient norms clip_grad_norm_ saw). For each schedule case: the learning rate in force at every batch.
Prints one JSON object.
"""
import json
import sys

import torch

torch.set_default_dtype(torch.float64)


def run_optimizer(case, kernel0, bias0, features, outputs, batches):
    kernel = torch.tensor(kernel0).reshape(features, outputs).requires_grad_(True)
    bias = torch.tensor(bias0).requires_grad_(True)
    params = [kernel, bias]
    kind = case["kind"]
    # weight_decay only where the case gives it: AdamW's own default (0.01) otherwise
    extra = {"weight_decay": case["weightDecay"]} if "weightDecay" in case else {}
    if kind == "sgd":
        opt = torch.optim.SGD(params, lr=case["lr"], momentum=case.get("momentum", 0.0), **extra)
    elif kind == "adam":
        opt = torch.optim.Adam(params, lr=case["lr"], betas=(case["beta1"], case["beta2"]), eps=case["eps"], **extra)
    else:
        opt = torch.optim.AdamW(params, lr=case["lr"], betas=(case["beta1"], case["beta2"]), eps=case["eps"], **extra)
    steps = []
    norms = []
    for batch in batches:
        n = batch["n"]
        x = torch.tensor(batch["x"]).reshape(n, features)
        y = torch.tensor(batch["y"]).reshape(n, outputs)
        opt.zero_grad()
        loss = 0.5 * ((x @ kernel + bias - y) ** 2).sum() / n
        loss.backward()
        if case.get("clip", 0) > 0:
            norms.append(float(torch.nn.utils.clip_grad_norm_(params, max_norm=case["clip"])))
        opt.step()
        steps.append(kernel.detach().flatten().tolist() + bias.detach().tolist())
    return {"weights": steps, "norms": norms}


def run_schedule(case):
    param = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([param], lr=case["lr"])
    per_epoch = None
    if case.get("schedule") == "step":
        per_epoch = torch.optim.lr_scheduler.StepLR(opt, step_size=case["every"], gamma=case["gamma"])
    elif case.get("schedule") == "cosine":
        per_epoch = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=case["epochs"], eta_min=0)
    warmup = case.get("warmup", 0)
    per_batch = torch.optim.lr_scheduler.LinearLR(opt, start_factor=1 / warmup, end_factor=1.0, total_iters=warmup - 1) if warmup > 1 else None
    rates = []
    for _epoch in range(case["epochs"]):
        for _batch in range(case["batches"]):
            rates.append(opt.param_groups[0]["lr"])
            opt.step()
            if per_batch is not None:
                per_batch.step()
        if per_epoch is not None:
            per_epoch.step()
    return rates


def main():
    job = json.load(sys.stdin)
    out = {
        "optimizers": [run_optimizer(c, job["kernel0"], job["bias0"], job["features"], job["outputs"], job["batches"]) for c in job["optimizers"]],
        "schedules": [run_schedule(c) for c in job["schedules"]],
    }
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
