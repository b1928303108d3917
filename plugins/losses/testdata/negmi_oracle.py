#!/usr/bin/env python3
"""Independent oracle for the exact filter loss −MI(X;T) (eq. 1 of Zhang et
al., CVPR 2018) and its gradient, in PyTorch float64 with autograd.

usage: negmi_oracle.py FEATURES.f32 B C H W TAU BETA ALPHA DISTANCE OUT.f64
FEATURES.f32 holds B·C·H·W little-endian float32 in [B,C,H,W] order.
OUT.f64 receives the loss followed by d loss / d features (float64 LE).
Z_T is summed over the batch; the templates are built here from the
formula, not read from the Go side.
"""
import sys

import numpy as np
import torch


def templates(h, w, tau, beta, distance):
    ii, jj = torch.meshgrid(torch.arange(h, dtype=torch.float64),
                            torch.arange(w, dtype=torch.float64), indexing="ij")
    rows = []
    for mi in range(h):
        for mj in range(w):
            di, dj = (ii - mi) / h, (jj - mj) / w
            d = di.abs() + dj.abs() if distance == "l1" else torch.sqrt(di * di + dj * dj)
            rows.append(tau * torch.clamp(1 - beta * d, min=-1).reshape(-1))
    rows.append(torch.full((h * w,), -tau, dtype=torch.float64))
    return torch.stack(rows)  # [K, HW]


def neg_mi(x, t, alpha):
    b, c, h, w = x.shape
    n = h * w
    prior = torch.tensor([alpha / n] * n + [1 - alpha], dtype=torch.float64)
    total = x.new_zeros(())
    for ci in range(c):
        maps = x[:, ci].reshape(b, n)
        s = maps @ t.T                                  # [B, K] tr(x·T)
        log_p_x_t = s - torch.logsumexp(s, dim=0)       # log p(x|T)
        log_p_x = torch.logsumexp(torch.log(prior) + log_p_x_t, dim=1, keepdim=True)
        mi = (prior * log_p_x_t.exp() * (log_p_x_t - log_p_x)).sum()
        total = total - mi
    return total


def main():
    path, b, c, h, w = sys.argv[1], *map(int, sys.argv[2:6])
    tau, beta, alpha = map(float, sys.argv[6:9])
    distance, out = sys.argv[9], sys.argv[10]
    data = np.fromfile(path, dtype="<f4").astype(np.float64).reshape(b, c, h, w)
    x = torch.tensor(data, requires_grad=True)
    loss = neg_mi(x, templates(h, w, tau, beta, distance), alpha)
    loss.backward()
    np.concatenate([[loss.item()], x.grad.numpy().reshape(-1)]).astype("<f8").tofile(out)


if __name__ == "__main__":
    main()
