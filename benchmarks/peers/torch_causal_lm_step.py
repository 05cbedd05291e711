#!/usr/bin/env python3
"""Peer of BM_causal_lm_step (benchmarks/bench_qwen2_backward.cpp): one end-to-end training step
of the causal language model in PyTorch on CPU — a Qwen2 backbone (RMSNorm, rotary, grouped-query
causal attention with q/k/v biases, SwiGLU, tied embeddings), the <NUM> log-signed value encoding
at <NUM> inputs, the causal head (abduction Linear(H -> 2H): loc and exp(log scale); action
A [K+1 x H], B, thresholds C, value weights W, b; OvR probabilities), the loss (sum of the K+1
binary cross-entropies + the Cauchy NLL at <NUM> targets, gated by P_<NUM>), backward and an AdamW
step with gradient clipping at 1. Same shapes, tokens and <NUM> pattern as ours.

Usage: torch_causal_lm_step.py SHAPE THREADS STEPS   (SHAPE 0: hidden 256, 4 layers; 1: Qwen2.5-0.5B)
Prints the median seconds per step over STEPS warm steps. Run with Debian's python3-torch and
libopenblas0-pthread (without OpenBLAS Debian's torch uses the reference BLAS and is ~35x slower);
set OPENBLAS_NUM_THREADS=THREADS too (OpenBLAS ignores torch.set_num_threads).
"""
import math
import statistics
import sys
import time

import torch

shape, threads, steps = (int(a) for a in sys.argv[1:4])
torch.set_num_threads(threads)
torch.manual_seed(0)
if shape == 0:
    V, H, I, L, NH, KV, HD, theta = 1024, 256, 704, 4, 4, 2, 64, 10000.0
else:
    V, H, I, L, NH, KV, HD, theta = 151666, 896, 4864, 24, 14, 2, 64, 1000000.0
T = 256
K1 = V  # classes: the V - 1 tokens and <NUM> (the last row of the table)
num = V - 1
std = 0.02


def param(*size, value=None):
    p = torch.randn(*size) * std if value is None else torch.full(size, value)
    return torch.nn.Parameter(p)


embed = param(V, H)
layers = [dict(n1=param(H, value=1.0), qkv=param(NH * HD + 2 * KV * HD, H), qkv_b=param(NH * HD + 2 * KV * HD),
               o=param(H, NH * HD), n2=param(H, value=1.0), gu=param(2 * I, H), down=param(H, I)) for _ in range(L)]
norm = param(H, value=1.0)
abduction = torch.nn.Linear(H, 2 * H)
A, B, C = param(K1, H), param(K1, value=0.0), param(K1, value=0.0)
W, b = param(H), param(1, value=0.0)
num_embedding, w_num = param(H), param(H)
params = [embed, norm, A, B, C, W, b, num_embedding, w_num] + list(abduction.parameters())
for layer in layers:
    params += list(layer.values())
opt = torch.optim.AdamW(params, lr=1e-5)

ids = torch.tensor([num if t % 16 == 15 else (t * 37 + 11) % (V - 1) for t in range(T + 1)])
values = torch.tensor([1.5 * t if t % 16 == 15 else 0.0 for t in range(T + 1)])
position = torch.arange(T + 1, dtype=torch.float32)
inv = theta ** (-torch.arange(0, HD, 2, dtype=torch.float32) / HD)
angles = position[:, None] * inv[None, :]
cos, sin = torch.cos(angles).repeat(1, 2), torch.sin(angles).repeat(1, 2)
mask = torch.full((T + 1, T + 1), float("-inf")).triu(1)


def rms(x, w):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6) * w


def rotate(x):  # x [heads, T, HD]
    half = x.shape[-1] // 2
    return x * cos + torch.cat((-x[..., half:], x[..., :half]), -1) * sin


def loss_fn():
    is_num = ids == num
    magnitude = torch.sign(values) * torch.log1p(values.abs())
    x = torch.where(is_num[:, None], num_embedding + magnitude[:, None] * w_num, embed[ids])
    for layer in layers:
        qkv = rms(x, layer["n1"]) @ layer["qkv"].T + layer["qkv_b"]
        q, k, v = qkv.split([NH * HD, KV * HD, KV * HD], -1)
        q = rotate(q.view(-1, NH, HD).transpose(0, 1))
        k = rotate(k.view(-1, KV, HD).transpose(0, 1)).repeat_interleave(NH // KV, 0)
        v = v.view(-1, KV, HD).transpose(0, 1).repeat_interleave(NH // KV, 0)
        att = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(HD) + mask, -1) @ v
        x = x + att.transpose(0, 1).reshape(-1, NH * HD) @ layer["o"].T
        gate, up = (rms(x, layer["n2"]) @ layer["gu"].T).split(I, -1)
        x = x + (torch.nn.functional.silu(gate) * up) @ layer["down"].T
    h = rms(x, norm)[:-1]
    target, y = ids[1:], values[1:]
    loc_u, log_scale = abduction(h).split(H, -1)
    scale_u = log_scale.exp()
    loc_s, scale_s = loc_u @ A.T + B, scale_u @ A.abs().T
    z = (loc_s - C) / scale_s
    # log P and log(1 - P) of the OvR probability 1/2 + atan(z)/pi, as the library computes them.
    p = 0.5 + torch.atan(z) / math.pi
    onehot = torch.nn.functional.one_hot(target, K1).bool()
    bce = -torch.where(onehot, p.clamp_min(1e-30).log(), (1 - p).clamp_min(1e-30).log()).sum(-1)
    loc_y, scale_y = loc_u @ W + b, scale_u @ W.abs()
    nll = torch.log(math.pi * scale_y) + torch.log1p(((y - loc_y) / scale_y) ** 2)
    gate = (target == num).float() * p[:, num]
    return (bce + gate * nll).mean()


times = []
for step in range(steps + 1):
    start = time.perf_counter()
    opt.zero_grad(set_to_none=False)
    loss = loss_fn()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    opt.step()
    if step > 0:  # the first step allocates the optimiser's state
        times.append(time.perf_counter() - start)
print(f"shape {shape} threads {threads}: median {statistics.median(times):.4f} s per step over {steps} steps "
      f"(loss {loss.item():.4f})")
