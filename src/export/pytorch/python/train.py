#!/usr/bin/env python3
"""Trains the exported network as `dlc train --interpret` does, on one process or many.

    python3 train.py --data D [--labels L] [--weights W] [--save OUT] [--epochs N] [--batch N]
                     [--lr X] [--seed N] [--bptt K] [--json] [--dtype float32|float64]
                     [--device cpu|cuda] [--save-dtype f32|f64]
    torchrun --nproc_per_node N train.py ...        (DistributedDataParallel: gloo, or nccl with --device cuda)

The file's train { } block (model.py's NETWORK["train"]) is the default; flags override it. The
samples are shuffled each epoch exactly as dlc shuffles them (one batch per epoch keeps the file's
order), the losses and optimizers are dlc's (weight_decay, adamw, clip, the schedule and warmup
of the train block too), and the weights it saves are dlc's (`dlc run
--weights OUT`). The starting weights are dlc-identical only with --weights (a file from `dlc
train --save` or anywhere else); without it PyTorch initialises them, seeded by --seed.

On N processes --batch stays the global batch: each step's batch holds the same samples as on one
process, split across the processes, and the loss is weighted so that the update is the one-process
update (batchnorm uses the statistics of the whole batch). Process 0 prints and saves; the others
write nothing. A loss or weight that diverges (NaN, infinite, exploding) stops training and undoes
that batch; nothing broken is saved. The block's patience stops on a validation loss, and train.py
takes no validation data: it trains every epoch, as `dlc train` does without --val.
"""
import argparse
import inspect
import json
import math
import os
import signal
import sys
import time
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402

import dlc_support as dlc  # noqa: E402
import model as model_module  # noqa: E402
from model import NETWORK, Net  # noqa: E402

EXPLOSION_FACTOR = 1e4
OPTIMIZER_KEYS = {"kind", "lr", "momentum", "beta1", "beta2", "eps", "weight_decay"}
TRAIN_KEYS = {"loss", "optimizer", "epochs", "batch", "seed", "bptt", "clip", "schedule", "warmup", "patience"}


def parse_args(argv):
    p = argparse.ArgumentParser(prog="train.py", description=f"Trains {NETWORK.get('name') or 'the network'} as `dlc train --interpret` does; flags override the train {{ }} block.")
    p.add_argument("--data", required=True, help="data file: JSON, CSV or IDX (gzip'd or not); IMAGES,LABELS names an IDX pair")
    p.add_argument("--labels", help="the IDX labels file, when it is not beside the images file")
    p.add_argument("--weights", help="starting weights (.json or .safetensors); without it, dlc's initial weights for --seed")
    p.add_argument("--save", help="where to save the trained weights (.json, or .safetensors)")
    p.add_argument("--save-dtype", choices=["f32", "f64"], help="number type of a .safetensors save (default f32; .json is always exact)")
    p.add_argument("--epochs", type=positive_int)
    p.add_argument("--batch", type=positive_int, help="the global batch, however many processes share it")
    p.add_argument("--lr", type=positive_float)
    p.add_argument("--seed", type=int)
    p.add_argument("--bptt", type=positive_int, help="truncated backpropagation through time: window K")
    p.add_argument("--json", action="store_true", help="one JSON object per epoch, as dlc train --json prints")
    p.add_argument("--dtype", choices=["float32", "float64"], default="float32", help="the number type training computes in (default float32)")
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    return p.parse_args(argv)


def positive_int(text):
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number")
    if v < 1:
        raise argparse.ArgumentTypeError(f"{v} must be at least 1")
    return v


def positive_float(text):
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number")
    if not (math.isfinite(v) and v > 0):
        raise argparse.ArgumentTypeError(f"{text} must be a positive number")
    return v


class Cluster:
    """One process, or this process's place among torchrun's (rank, world size, device)."""

    def __init__(self, device_kind):
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        local = int(os.environ.get("LOCAL_RANK", "0"))
        if device_kind == "cuda":
            if not torch.cuda.is_available():
                raise dlc.DlcError("--device cuda: this PyTorch sees no CUDA device (torch.cuda.is_available() is False)")
            self.device = torch.device("cuda", local % torch.cuda.device_count())
            torch.cuda.set_device(self.device)
        else:
            self.device = torch.device("cpu")
        self.distributed = self.world > 1
        self.owns_group = False
        if self.distributed:
            import torch.distributed as dist

            # A caller that set up the process group itself (several trainings in one torchrun) keeps it.
            if not dist.is_initialized():
                dist.init_process_group("nccl" if device_kind == "cuda" else "gloo")
                self.owns_group = True
            self.dist = dist

    @property
    def main(self):
        return self.rank == 0

    def shard(self, n):
        """This process's [start, end) of a global batch of n samples: contiguous, sizes differing by at most 1."""
        base, extra = divmod(n, self.world)
        start = self.rank * base + min(self.rank, extra)
        return start, start + base + (1 if self.rank < extra else 0)

    def sum(self, value):
        """A float summed over the processes (a tensor on this device, reduced in float64)."""
        if not self.distributed:
            return float(value)
        t = torch.tensor([float(value)], dtype=torch.float64, device=self.device)
        self.dist.all_reduce(t)
        return float(t.item())

    def close(self):
        if self.owns_group:
            self.dist.destroy_process_group()


class Interrupt:
    """Ctrl-C stops training after the batch in progress (the weights stay consistent) and saves."""

    def __init__(self):
        self.pressed = False
        self.previous = signal.signal(signal.SIGINT, self.handle)

    def handle(self, signum, frame):
        if self.pressed:
            signal.signal(signal.SIGINT, self.previous)
            raise KeyboardInterrupt
        self.pressed = True


def train_config(args):
    config = NETWORK.get("train") or {}
    loss = config.get("loss")
    if not loss:
        raise dlc.DlcError(f"{NETWORK.get('name') or 'the network'} has no loss: add 'train {{ loss squared|cross_entropy|binary_cross_entropy }}' to the .dl file and export it again")
    if loss not in dlc.LOSSES:
        raise dlc.DlcError(f"the loss {loss} is not one this PyTorch export implements ({', '.join(dlc.LOSSES)})")
    optimizer = dict(config.get("optimizer") or {"kind": "sgd"})
    unknown = sorted(k for k, v in optimizer.items() if k not in OPTIMIZER_KEYS and v not in (None, 0, False))
    if unknown:
        raise dlc.DlcError(f"the train block's optimizer sets {', '.join(unknown)}, which this PyTorch trainer does not implement; it would train differently from dlc")
    for key in sorted(set(config) - TRAIN_KEYS):
        if config[key] not in (None, 0, False):
            raise dlc.DlcError(f"the train block sets {key}, which this PyTorch trainer does not implement; it would train differently from dlc")
    return {
        "loss": loss,
        "optimizer": optimizer,
        "lr": args.lr,
        "epochs": args.epochs or config.get("epochs") or 1,
        "batch": args.batch or config.get("batch") or 32,
        "seed": args.seed if args.seed is not None else config.get("seed") if config.get("seed") is not None else 1,
        "bptt": args.bptt or config.get("bptt"),
        "clip": config.get("clip") or None,
        "schedule": config.get("schedule"),
        "warmup": config.get("warmup"),
        "patience": config.get("patience"),
    }


def check_save_target(path):
    """Refuses a --save path that can never be written before training, not after it."""
    dlc.weights_format(path)
    folder = os.path.dirname(path) or "."
    if os.path.isdir(path):
        raise dlc.DlcError(f"cannot save to {path}: it is a directory")
    if not os.path.isdir(folder):
        raise dlc.DlcError(f"cannot save to {path}: the folder {folder} does not exist")


def divergence_message(d, save):
    if d.get("weight") is not None:
        value = d.get("value")
        what = f"the update made {d['weight']} {dlc.number_text(value)}, beyond float32's range" if value is not None and math.isfinite(value) else f"the update made {d['weight']} NaN or infinite"
    elif d.get("first_loss") is not None:
        what = f"the loss exploded to {dlc.number_text(d['loss'])}, more than {EXPLOSION_FACTOR:g} × the first batch's {dlc.number_text(d['first_loss'])}"
    else:
        what = f"the loss became {dlc.number_text(d['loss'])}"
    advice = "(try a smaller --lr, or scale the data)"
    where = f"{what} at epoch {d['epoch']}, batch {d['batch']}; training stopped and undid that batch"
    if d["good_batches"] > 0:
        return f"{where}, so the weights are the last good ones {advice}"
    kept = "" if save is None else f", so nothing was saved: {save} is unchanged"
    return f"{where}, before any batch trained well{kept} {advice}"


def first_broken_weight(net):
    """The first dlc weight that is NaN, infinite or beyond float32's range, and its bad value."""
    for name, t in net.dlc_state().items():
        flat = t.reshape(-1)
        bad = ~(flat.abs() <= dlc.FLOAT32_MAX)
        if bool(bad.any()):
            return name, float(flat[int(bad.nonzero()[0][0])])
    return None


def weights_broken(tensors):
    """Whether any weight is NaN, infinite or beyond float32's range (one device sync in all)."""
    peaks = [t.detach().abs().max().to(torch.float64) for t in tensors if t.is_floating_point() and t.numel()]
    # max keeps NaN, and NaN fails every comparison.
    return bool(peaks) and not bool(torch.stack(peaks).max() <= dlc.FLOAT32_MAX)


class Printer:
    """Per-epoch lines as dlc train prints them (JSON objects with --json); process 0 only."""

    def __init__(self, cluster, epochs, as_json):
        self.on = cluster.main
        self.epochs = epochs
        self.as_json = as_json

    def epoch(self, epoch, loss, samples, seconds):
        if not self.on:
            return
        rate = samples / seconds if seconds > 0 else 0
        if self.as_json:
            print(json.dumps({"epoch": epoch, "loss": loss, "samples": samples, "seconds": round(seconds, 3), "samplesPerSecond": round(rate, 3)}), flush=True)
        else:
            print(f"epoch {epoch}/{self.epochs}  loss {loss:.6f}  {rate:.0f} samples/s  {seconds:.2f} s", flush=True)

    def note(self, message):
        if self.on:
            sys.stderr.write(dlc.terminal_text(message) + "\n")
            sys.stderr.flush()


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    config = train_config(args)
    if args.save_dtype is not None and (args.save is None or dlc.weights_format(args.save) != "safetensors"):
        raise dlc.DlcError("--save-dtype chooses the number type of a .safetensors save; " + ("there is no --save" if args.save is None else f"{args.save} is JSON, which always holds the exact float64 weights"))
    if args.save is not None:
        check_save_target(args.save)
    cluster = Cluster(args.device)
    try:
        return train(args, config, cluster)
    finally:
        cluster.close()


def build_net(config, dtype, device, initialise=True):
    """The Net in `dtype` on `device`, starting from dlc's initial weights for the seed (model.py
    draws them as dlc does). Without `initialise` (--weights replaces them) nothing is drawn:
    model.py's pure-Python initialisers take long for large recurrent layers."""
    torch.manual_seed(config["seed"])
    draw = getattr(model_module, "_dlc_initial_weights", None)
    if not initialise and draw is not None and hasattr(model_module, "WEIGHTS"):
        model_module._dlc_initial_weights = lambda seed: {w[0]: torch.zeros(w[1], dtype=torch.float64) for w in model_module.WEIGHTS}
    previous = torch.get_default_dtype()
    # Built in the training dtype, so that float64 weights are never rounded through float32.
    torch.set_default_dtype(dtype)
    try:
        parameters = inspect.signature(Net).parameters
        options = {}
        if "seed" in parameters:
            options["seed"] = config["seed"]
        if "bptt" in parameters:
            options["bptt"] = config["bptt"]
        elif config["bptt"] is not None:
            raise dlc.DlcError("truncated backpropagation through time (bptt) is not implemented by this export")
        net = Net(**options)
    finally:
        torch.set_default_dtype(previous)
        if draw is not None:
            model_module._dlc_initial_weights = draw
    return net.to(device=device, dtype=dtype)


def load_weights(net, path):
    """--weights: a dlc weights file, checked against the network with dlc's messages."""
    expected = {name: list(t.shape) for name, t in net.dlc_state().items()}
    net.load_dlc_state(dlc.read_weights(path, expected))


class _WithLogits(torch.nn.Module):
    """Net.forward_with_logits as a module's forward, so that DDP hands back the logits too."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, *inputs):
        return self.net.forward_with_logits(*inputs)


def fused_with(loss):
    """Whether the loss takes the logits before the network's final softmax or sigmoid, as dlc's does."""
    last = NETWORK.get("final_activation")
    return (loss == "cross_entropy" and last == "softmax") or (loss == "binary_cross_entropy" and last == "sigmoid")


def train(args, config, cluster):
    dtype = torch.float64 if args.dtype == "float64" else torch.float32
    net = build_net(config, dtype, cluster.device, initialise=args.weights is None)
    if args.weights is not None:
        load_weights(net, args.weights)
    data = dlc.read_data(args.data, NETWORK, labels=args.labels, need_targets=True)
    xs = [x.to(cluster.device) if x.dtype == torch.int64 else x.to(cluster.device, dtype) for x in data.x]
    ys = data.y.to(cluster.device) if data.y.dtype == torch.int64 else data.y.to(cluster.device, dtype)
    batch = min(config["batch"], data.size)
    loss_kind = config["loss"]
    fused = fused_with(loss_kind) and hasattr(net, "forward_with_logits")

    trainable = [p for p in net.parameters() if p.requires_grad]
    model = _WithLogits(net) if fused else net
    if cluster.distributed:
        Net.sync_batch_statistics = True
        if trainable:
            from torch.nn.parallel import DistributedDataParallel

            # A parameter with other strides than its DDP bucket (a conv kernel) costs a copy, not accuracy.
            warnings.filterwarnings("ignore", message="Grad strides do not match bucket view strides")
            model = DistributedDataParallel(model, device_ids=[cluster.device] if cluster.device.type == "cuda" else None)
    optimizer = dlc.make_optimizer(trainable, config["optimizer"], config["lr"]) if trainable else None
    base_lr = optimizer.param_groups[0]["lr"] if optimizer is not None else None

    printer = Printer(cluster, config["epochs"], args.json)
    if config["patience"]:
        printer.note(f"note: the train block's patience {config['patience']} stops on the validation loss; train.py takes no validation data, so it trains every epoch (as dlc train does without --val)")
    interrupt = Interrupt()
    shuffle_random = dlc.shuffle_random(config["seed"])
    order = list(range(data.size))
    batches = math.ceil(data.size / batch)
    net.train()
    first_loss = None
    good_batches = 0
    diverged = None
    for epoch in range(1, config["epochs"] + 1):
        if batches > 1:
            dlc.shuffle(order, shuffle_random)
        started = time.perf_counter()
        total = 0.0
        seen = 0
        for b in range(batches):
            indices = order[b * batch:(b + 1) * batch]
            n = len(indices)
            start, end = cluster.shard(n)
            mine = torch.tensor(indices[start:end], dtype=torch.int64, device=cluster.device)
            snapshot = {k: v.detach().clone() for k, v in net.state_dict().items()}
            output = model(*[x.index_select(0, mine) for x in xs])
            output, logits = output if fused else (output, None)
            # Each process's share of the batch's summed loss over the global batch size; DDP
            # averages gradients over the processes, so times the world size: the one-process update.
            mine_sum = dlc.loss_sum(loss_kind, output, ys.index_select(0, mine), logits)
            loss = cluster.sum(mine_sum.detach().item()) / n
            bad = not math.isfinite(loss) or (first_loss is not None and loss > EXPLOSION_FACTOR * max(1.0, first_loss))
            if bad:
                net.load_state_dict(snapshot)
                diverged = {"loss": loss, "epoch": epoch, "batch": b + 1, "good_batches": good_batches, "first_loss": first_loss if math.isfinite(loss) else None}
                break
            if optimizer is not None:
                optimizer.zero_grad(set_to_none=False)
                (mine_sum * (cluster.world / n)).backward()
                # After backward, DDP's gradients are the global batch's: clipping sees the global norm.
                if config["clip"]:
                    torch.nn.utils.clip_grad_norm_(trainable, config["clip"])
                rate = dlc.learning_rate_at(base_lr, config["schedule"], config["warmup"], epoch, b, batches, config["epochs"])
                for group in optimizer.param_groups:
                    group["lr"] = rate
                optimizer.step()
            if weights_broken(net.state_dict().values()):
                broken = first_broken_weight(net)
                net.load_state_dict(snapshot)
                diverged = {"loss": loss, "epoch": epoch, "batch": b + 1, "good_batches": good_batches, "weight": broken[0] if broken else "a weight", "value": broken[1] if broken else None}
                break
            if first_loss is None:
                first_loss = loss
            good_batches += 1
            total += loss * n
            seen += n
            if cluster.sum(1.0 if interrupt.pressed else 0.0) > 0:
                interrupt.pressed = True
                break
        if diverged is not None:
            break
        if cluster.device.type == "cuda":
            torch.cuda.synchronize(cluster.device)
        printer.epoch(epoch, total / seen if seen else float("nan"), seen, time.perf_counter() - started)
        if interrupt.pressed:
            printer.note(f"interrupted in epoch {epoch}")
            break

    if diverged is not None:
        printer.note(f"error: {divergence_message(diverged, args.save)}")
    keep = diverged is None or diverged["good_batches"] > 0
    if args.save is not None and keep and cluster.main:
        dlc.write_weights(args.save, net.dlc_state(), dtype=args.save_dtype or "f32")
        printer.note(f"saved weights to {args.save}")
    if interrupt.pressed:
        return dlc.EXIT_INTERRUPTED
    return dlc.EXIT_INPUT_ERRORS if diverged is not None else 0


if __name__ == "__main__":
    dlc.main_guard(main)
