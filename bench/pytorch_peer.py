#!/usr/bin/env python3
"""The benchmark workloads in PyTorch, the peers of `icnnlab bench`.

Same networks as internal/zoo's workloads, float32, He-normal weights
(fan-in, ReLU gain) and zero biases, SGD momentum 0.9, learning rate 0.01,
one fixed random batch (standard-normal images, random {0,1} labels), mean
logistic loss. Warm-up steps, then timed steps; prints one JSON object with
the keys `icnnlab bench --json` prints.

small64: 3x64x64 input; conv3x3 pad 1 32 -> relu -> maxpool 2, conv 64 ->
relu -> pool, conv 128 -> relu -> pool, conv 128 -> relu on the 8x8 map;
flatten -> linear 256 -> relu -> linear 1. Interpretable: conv4 masked.

vggm-112: the network of the default reproduction scale, VGG-M at width
0.125 on 3x112x112 input with pool2 dropped: conv 7x7/2 12 -> relu ->
maxpool 3/2, conv 5x5/2 pad 1 32 -> relu, conv3x3 pad 1 64, 64, 64 (each
-> relu) on the 12x12 map -> maxpool 3/2 (5x5); flatten -> linear 512 ->
relu -> linear 512 -> relu -> linear 1. Interpretable: conv5 masked, and a
masked conv3x3 64 -> 64 (pad 1) + relu inserted above it, as the paper
places its layers; the -MI loss on both.

Run with Debian's python3-torch:
    /usr/bin/python3 bench/pytorch_peer.py --workload vggm-112 --threads 1
"""

import argparse
import json
import math
import platform
import sys
import time

import torch
from torch import nn


class L1Mask(nn.Module):
    """The paper's L1 template mask with unit amplitude (icnnlab's masks/l1
    defaults): the template centred on each map's argmax, treated as a
    constant in back-propagation; output relu(x * T)."""

    def __init__(self, n: int, beta: float = 4.0):
        super().__init__()
        ii, jj = torch.meshgrid(torch.arange(n), torch.arange(n), indexing="ij")
        mu = torch.stack([ii.reshape(-1), jj.reshape(-1)], 1).to(torch.float32)  # [n², 2]
        pos = torch.stack([ii.reshape(-1), jj.reshape(-1)], 1).to(torch.float32)
        dist = (mu[:, None, :] - pos[None, :, :]).abs().sum(-1) / n  # [n², n²]
        self.register_buffer("bank", torch.clamp(1 - beta * dist, min=-1))
        self.features = None

    def forward(self, x):
        self.features = x  # the filter loss reads the maps before the mask
        b, c, h, w = x.shape
        flat = x.reshape(b, c, h * w)
        idx = flat.detach().argmax(-1)  # [B, C]
        mask = self.bank[idx]  # [B, C, n²]
        return torch.relu(flat * mask).reshape(b, c, h, w)


def neg_mi(x, alpha_n=None, beta: float = 4.0):
    """Exact -MI(X;T) of eq. 1 over the batch, summed over filters, with the
    paper's templates (tau = 0.5/n², L1, beta 4, prior alpha = n²/(1+n²)),
    as icnnlab's losses/mi with its defaults."""
    b, c, h, w = x.shape
    n = h * w
    tau = 0.5 / n
    ii, jj = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    pos = torch.stack([ii.reshape(-1) / h, jj.reshape(-1) / w], 1).to(x.dtype)
    dist = (pos[:, None, :] - pos[None, :, :]).abs().sum(-1)
    t = torch.cat([tau * torch.clamp(1 - beta * dist, min=-1), torch.full((1, n), -tau, dtype=x.dtype)])  # [n²+1, n²]
    alpha = n / (1 + n)
    log_prior = torch.log(torch.tensor([alpha / n] * n + [1 - alpha], dtype=x.dtype))
    s = x.reshape(b, c, n) @ t.T  # [B, C, K]
    log_p_x_t = s - torch.logsumexp(s, dim=0, keepdim=True)
    log_p_x = torch.logsumexp(log_prior + log_p_x_t, dim=2, keepdim=True)
    mi = (log_prior.exp() * log_p_x_t.exp() * (log_p_x_t - log_p_x)).sum()
    return -mi


def conv(cin: int, cout: int, kernel: int = 3, stride: int = 1, padding: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, kernel_size=kernel, stride=stride, padding=padding, bias=True)


def small64(interpretable: bool = False) -> nn.Module:
    return nn.Sequential(
        conv(3, 32), nn.ReLU(), nn.MaxPool2d(2, 2),
        conv(32, 64), nn.ReLU(), nn.MaxPool2d(2, 2),
        conv(64, 128), nn.ReLU(), nn.MaxPool2d(2, 2),
        conv(128, 128), nn.ReLU(),
        *( [L1Mask(8)] if interpretable else [] ),
        nn.Flatten(),  # NCHW order, as icnnlab's Flatten
        nn.Linear(128 * 8 * 8, 256), nn.ReLU(),
        nn.Linear(256, 1),
    )


def vggm112(interpretable: bool = False) -> nn.Module:
    inserted = [conv(64, 64), nn.ReLU(), L1Mask(12)] if interpretable else []
    return nn.Sequential(
        conv(3, 12, 7, 2, 0), nn.ReLU(), nn.MaxPool2d(3, 2),     # 53x53, pool1 26x26
        conv(12, 32, 5, 2, 1), nn.ReLU(),                         # 12x12 (pool2 dropped)
        conv(32, 64), nn.ReLU(),
        conv(64, 64), nn.ReLU(),
        conv(64, 64), nn.ReLU(),                                  # conv5
        *( [L1Mask(12)] if interpretable else [] ),
        *inserted,
        nn.MaxPool2d(3, 2),                                       # pool5 5x5
        nn.Flatten(),
        nn.Linear(64 * 5 * 5, 512), nn.ReLU(),
        nn.Linear(512, 512), nn.ReLU(),
        nn.Linear(512, 1),
    )


WORKLOADS = {"small64": (small64, 64), "vggm-112": (vggm112, 112)}


def build(workload: str, interpretable: bool) -> nn.Module:
    model = WORKLOADS[workload][0](interpretable)
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            # std = sqrt(2 / fan_in), graph.HeNormal's rule
            nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
            nn.init.zeros_(m.bias)
    return model


def percentile(sorted_values, p):
    """Linear interpolation between closest ranks (numpy's default), as
    internal/bench does."""
    if len(sorted_values) == 1:
        return sorted_values[0]
    rank = p / 100 * (len(sorted_values) - 1)
    lo = math.floor(rank)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (rank - lo) * (sorted_values[hi] - sorted_values[lo])


def peak_rss_mib():
    """VmHWM from /proc/self/status, the figure icnnlab reports."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    value, unit = line.split()[1:3]
                    if unit != "kB":
                        raise ValueError(f"unexpected VmHWM line {line!r}")
                    return int(value) / 1024
    except OSError:
        return None
    return None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workload", choices=sorted(WORKLOADS), default="small64")
    ap.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: PyTorch's default)")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--warmup", type=int, default=3, help="untimed steps before timing")
    ap.add_argument("--steps", type=int, default=20, help="timed training steps")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--interpretable", choices=["true", "false"], default="true",
                    help="mask the interpretable layers with L1 templates and add the exact -MI filter loss (lambda 1), as icnnlab bench does by default")
    args = ap.parse_args()
    if args.batch < 1 or args.steps < 1 or args.warmup < 0 or args.threads < 0:
        ap.error("--batch and --steps must be positive, --warmup and --threads not negative")

    if args.threads > 0:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    interpretable = args.interpretable == "true"
    model = build(args.workload, interpretable)
    masks = [m for m in model.modules() if isinstance(m, L1Mask)]
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = nn.BCEWithLogitsLoss()  # mean of softplus(z) - z*y
    size = WORKLOADS[args.workload][1]
    images = torch.randn(args.batch, 3, size, size, dtype=torch.float32)
    labels = torch.randint(0, 2, (args.batch, 1)).to(torch.float32)

    durations_ms = []
    first_loss = last_loss = None
    cpu_start = None
    for step in range(args.warmup + args.steps):
        if step == args.warmup:
            cpu_start = time.process_time()
        start = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(images), labels)
        for mask in masks:
            loss = loss + neg_mi(mask.features)
        loss.backward()
        opt.step()
        value = loss.item()  # synchronises, like icnnlab reading the loss back
        elapsed = (time.perf_counter() - start) * 1000
        if not math.isfinite(value):
            print(f"training step {step + 1}: loss is {value}", file=sys.stderr)
            return 1
        if first_loss is None:
            first_loss = value
        last_loss = value
        if step >= args.warmup:
            durations_ms.append(elapsed)

    cpu_ms_per_step = (time.process_time() - cpu_start) * 1000 / args.steps
    ms = sorted(durations_ms)
    result = {
        "workload": args.workload,
        "backend": "pytorch",
        "backend_description": (
            f"PyTorch {torch.__version__} eager, float32, CPU "
            f"(mkldnn={torch.backends.mkldnn.is_available()}, python {platform.python_version()})"
        ),
        "device": "cpu",
        "threads": torch.get_num_threads(),
        "params": sum(p.numel() for p in model.parameters()),
        "batch": args.batch,
        "warmup": args.warmup,
        "steps": args.steps,
        "images_per_sec": args.batch * args.steps / (sum(ms) / 1000),
        "ms_per_step": {
            "mean": sum(ms) / len(ms),
            "median": percentile(ms, 50),
            "p90": percentile(ms, 90),
            "min": ms[0],
            "max": ms[-1],
        },
        "cpu_ms_per_step": cpu_ms_per_step,  # user + system, all threads, as icnnlab reports it
        "peak_rss_mib": peak_rss_mib(),
        "go_heap_peak_mib": None,  # not a Go process
        "first_loss": first_loss,
        "last_loss": last_loss,
        "interpretable": interpretable,
        "note": ("the interpretable network: l1 masks and the exact -MI filter loss, lambda 1" if interpretable
                 else "the ordinary network (no masks, no filter loss)"),
    }
    json.dump(result, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
