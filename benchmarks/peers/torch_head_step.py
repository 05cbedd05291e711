#!/usr/bin/env python3
"""Peer of bench_head's training and forward cases (benchmarks/bench_head.cpp): one causal head
training step in PyTorch on CPU.

The same math: abduction Linear(H -> 2D) -> loc, exp(log_scale);
action: loc_S = A loc + B, scale_S = |A| scale; OvR P = 1/2 + atan((loc_S - C)/scale_S)/pi;
loss = sum BCE + lam * P_num * CauchyNLL on <NUM> targets; AdamW step over all head params.
Prints the median seconds per step and per forward (inference, no grad).
Usage: torch_head_step.py N_POS HIDDEN CAUSAL VOCAB STEPS THREADS
  (bench_head's shape: torch_head_step.py 256 896 896 151937 3 THREADS)
Run with Debian's /usr/bin/python3 (python3-torch) and libopenblas0-pthread installed: without
OpenBLAS, Debian's torch falls back to the reference BLAS and is ~35x slower (an unfair peer);
set OPENBLAS_NUM_THREADS=THREADS too (OpenBLAS ignores torch.set_num_threads).
"""
import math, sys, time, statistics
import torch

n, H, D, V, steps, threads = (int(a) for a in sys.argv[1:7])
torch.set_num_threads(threads)
torch.manual_seed(0)
h = torch.randn(n, H)
target = torch.randint(0, V, (n,))
num_id = V - 1
target[: n // 4] = num_id
y = torch.randn(n) * 10

abd = torch.nn.Linear(H, 2 * D)
A = torch.nn.Parameter(torch.randn(V, D) * 0.02)
B = torch.nn.Parameter(torch.zeros(V))
C = torch.nn.Parameter(torch.zeros(V))
Wr = torch.nn.Parameter(torch.randn(D) * 0.02)
br = torch.nn.Parameter(torch.zeros(()))
params = list(abd.parameters()) + [A, B, C, Wr, br]
opt = torch.optim.AdamW(params, lr=1e-4)

def head(h):
    loc_u, log_scale = abd(h).split(D, dim=-1)
    scale_u = log_scale.exp()
    loc_s = loc_u @ A.T + B
    scale_s = scale_u @ A.abs().T
    p = 0.5 + torch.atan((loc_s - C) / scale_s) / math.pi
    loc_y = loc_u @ Wr + br
    scale_y = scale_u @ Wr.abs()
    return p, loc_y, scale_y

def loss_fn(h):
    p, loc_y, scale_y = head(h)
    p = p.clamp(1e-7, 1 - 1e-7)
    onehot = torch.nn.functional.one_hot(target, V).float()
    bce = -(onehot * p.log() + (1 - onehot) * (1 - p).log()).sum(-1)
    nll = torch.log(math.pi * scale_y) + torch.log1p(((y - loc_y) / scale_y) ** 2)
    gate = (target == num_id).float() * p[:, num_id]
    return (bce + 1.0 * gate * nll).mean()

def time_it(fn, reps):
    ts = []
    for _ in range(reps):
        t = time.perf_counter(); fn(); ts.append(time.perf_counter() - t)
    return statistics.median(ts)

def step():
    opt.zero_grad(set_to_none=True)
    loss_fn(h).backward()
    opt.step()

def fwd():
    with torch.no_grad():
        head(h)

step(); fwd()
print(f"torch {torch.__version__} threads={threads} n={n} H={H} D={D} V={V}")
print(f"forward_s {time_it(fwd, steps):.4f}")
print(f"train_step_s {time_it(step, steps):.4f}")
