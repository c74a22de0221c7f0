"""PyTorch CPU baseline for `npm run bench` (bench/pytorch.ts runs it with the first interpreter that
imports torch: DLC_BENCH_PYTHON, else `python3`, else `/usr/bin/python3`). Works with torch 1.13
(Debian's python3-torch) and later.

Usage: python3 bench/pytorch_train.py '{"network": "mlp", "threads": 1, "x": PATH, "labels": PATH,
        "size": 512, "inputShape": [784], "batch": 32, "lr": 0.01, "warmupMs": 1000, "runMs": 2000, "runs": 3}'

Trains the same layers as bench/workloads.ts on the same samples (x: float32 little-endian,
size x input values; labels: int32 class indices), the config's batch (32; 16 for the batch-16
LSTM), plain SGD, cross-entropy on the logits (PyTorch fuses the softmax into the loss). Prints
one JSON object: samples/s per run. With "serve": true in the config it prints a "ready" line,
then trains for each `run MS` line read from stdin and answers with the samples and seconds of
that run, until `quit` or the end of stdin (the bench's engines taking turns run by run).
"""
import json
import sys
import time

import torch
from torch import nn


def build(name):
    if name == "mlp":
        return nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
    if name == "lenet5":
        return nn.Sequential(
            nn.Conv2d(1, 6, 5, padding=2), nn.Tanh(), nn.AvgPool2d(2, 2),
            nn.Conv2d(6, 16, 5), nn.Tanh(), nn.AvgPool2d(2, 2), nn.Flatten(),
            nn.Linear(400, 120), nn.Tanh(), nn.Linear(120, 84), nn.Tanh(), nn.Linear(84, 10),
        )
    if name == "lstm":
        return LastStepLstm()
    raise SystemExit(f"unknown network {name}")


class LastStepLstm(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(32, 128, batch_first=True)
        self.dense = nn.Linear(128, 10)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.dense(out[:, -1, :])


def main():
    cfg = json.loads(sys.argv[1])
    torch.set_num_threads(cfg["threads"])
    torch.manual_seed(1)
    size, batch = cfg["size"], cfg["batch"]
    with open(cfg["x"], "rb") as f:
        x = torch.frombuffer(bytearray(f.read()), dtype=torch.float32).reshape(size, *cfg["inputShape"])
    with open(cfg["labels"], "rb") as f:
        labels = torch.frombuffer(bytearray(f.read()), dtype=torch.int32).long()
    if cfg["network"] == "lenet5":
        x = x.permute(0, 3, 1, 2).contiguous()  # NHWC -> NCHW
    model = build(cfg["network"])
    optimizer = torch.optim.SGD(model.parameters(), lr=cfg["lr"])
    loss_fn = nn.CrossEntropyLoss()
    batches = size // batch
    xs = [x[b * batch:(b + 1) * batch] for b in range(batches)]
    ys = [labels[b * batch:(b + 1) * batch] for b in range(batches)]
    state = {"b": 0}

    def run(ms):
        start = time.perf_counter()
        samples = 0
        while True:
            b = state["b"]
            optimizer.zero_grad()
            loss = loss_fn(model(xs[b]), ys[b])
            loss.backward()
            optimizer.step()
            state["b"] = (b + 1) % batches
            samples += batch
            elapsed = time.perf_counter() - start
            if elapsed * 1000 >= ms:
                return samples, elapsed

    about = {"torch": torch.__version__, "threads": torch.get_num_threads()}
    if cfg.get("serve"):
        # Taking turns with other engines: train for as long as each "run MS" line on stdin asks.
        print(json.dumps({"ready": True, **about}), flush=True)
        for line in sys.stdin:
            words = line.split()
            if len(words) == 2 and words[0] == "run":
                samples, seconds = run(float(words[1]))
                print(json.dumps({"samples": samples, "seconds": seconds}), flush=True)
            elif words == ["quit"]:
                break
        return
    run(cfg["warmupMs"])
    per_run = []
    for _ in range(cfg["runs"]):
        samples, seconds = run(cfg["runMs"])
        per_run.append(samples / seconds)
    print(json.dumps({"perRun": per_run, **about}))


if __name__ == "__main__":
    main()
