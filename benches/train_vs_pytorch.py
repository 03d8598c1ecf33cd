"""Training throughput of xnas against the same network and recipe in PyTorch (Python).

The reference is what a researcher would write: NAS-Bench-201's TinyNetwork in torch.nn, a
per-sample torch.utils.data.Dataset doing appendix B's augmentation (pad + random crop, flip,
cutout) on each image, an ordinary DataLoader, SGD Nesterov with warmup + cosine. Both sides use
the same libtorch (the project venv's torch 2.11.0), the same threads, images, genome, batch size
and epochs, in one run; the script prints images/s for each and the ratio.

Usage: scripts/bench-train.sh [--arch 002404] [--images 2048] [--epochs 1] [--device cpu]
"""
import argparse
import gzip
import json
import math
import os
import struct
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

OPS = {0: "conv3", 1: "conv1", 2: "pool", 3: "zero", 4: "skip"}
EDGES = [(0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3)]


class ReLUConvBN(nn.Sequential):
    def __init__(self, c_in, c_out, k, stride):
        super().__init__(nn.ReLU(), nn.Conv2d(c_in, c_out, k, stride, k // 2, bias=False), nn.BatchNorm2d(c_out))


class Cell(nn.Module):
    def __init__(self, genome, c):
        super().__init__()
        self.genome = genome
        self.edges = nn.ModuleList()
        for code in genome:
            if code == 0:
                self.edges.append(ReLUConvBN(c, c, 3, 1))
            elif code == 1:
                self.edges.append(ReLUConvBN(c, c, 1, 1))
            else:
                self.edges.append(nn.Identity())

    def forward(self, x):
        nodes = [x]
        for to in range(1, 4):
            acc = None
            for k, (f, t) in enumerate(EDGES):
                if t != to or self.genome[k] == 3:
                    continue
                code, inp = self.genome[k], nodes[f]
                out = F.avg_pool2d(inp, 3, 1, 1, count_include_pad=False) if code == 2 else self.edges[k](inp)
                acc = out if acc is None else acc + out
            nodes.append(acc if acc is not None else torch.zeros_like(x))
        return nodes[3]


class Reduction(nn.Module):
    def __init__(self, c_in, c_out):
        super().__init__()
        self.a = ReLUConvBN(c_in, c_out, 3, 2)
        self.b = ReLUConvBN(c_out, c_out, 3, 1)
        self.short = nn.Sequential(nn.AvgPool2d(2, 2), nn.Conv2d(c_in, c_out, 1, bias=False))

    def forward(self, x):
        return self.b(self.a(x)) + self.short(x)


class TinyNetwork(nn.Module):
    def __init__(self, genome, c, n, classes, in_c):
        super().__init__()
        layers = [nn.Conv2d(in_c, c, 3, 1, 1, bias=False), nn.BatchNorm2d(c)]
        ch = c
        for stage in range(3):
            if stage:
                layers.append(Reduction(ch, 2 * ch))
                ch *= 2
            layers += [Cell(genome, ch) for _ in range(n)]
        layers += [nn.BatchNorm2d(ch), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(ch, classes)]
        self.body = nn.Sequential(*layers)

    def forward(self, x):
        return self.body(x)


def read_idx(path):
    with gzip.open(path) as f:
        data = f.read()
    magic, n = struct.unpack(">II", data[:8])
    if magic == 0x803:
        h, w = struct.unpack(">II", data[8:16])
        return np.frombuffer(data, np.uint8, offset=16).reshape(n, 1, h, w)
    return np.frombuffer(data, np.uint8, offset=8)


class AugmentedImages(torch.utils.data.Dataset):
    """Per-sample pipeline, as torchvision transforms would run it: per-channel normalisation (as
    xnas's), pad and crop, flip, cutout. scripts/bench/pytorch_reference.py uses it too."""

    def __init__(self, images, labels):
        self.images, self.labels = images, labels
        scaled = images.astype(np.float64) / 255
        channels = images.shape[1]
        self.mean = torch.tensor(scaled.mean(axis=(0, 2, 3)), dtype=torch.float32).view(channels, 1, 1)
        self.std = torch.tensor(scaled.std(axis=(0, 2, 3)), dtype=torch.float32).view(channels, 1, 1)
        self.pad = math.ceil(images.shape[2] / 8)

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        x = (torch.from_numpy(self.images[i].astype(np.float32)) / 255 - self.mean) / self.std
        c, h, w = x.shape
        p = self.pad
        x = F.pad(x, (p, p, p, p))
        dy, dx = np.random.randint(0, 2 * p + 1, 2)
        x = x[:, dy:dy + h, dx:dx + w]
        if np.random.rand() < 0.5:
            x = x.flip(2)
        cy, cx = np.random.randint(0, h), np.random.randint(0, w)
        x = x.clone()
        x[:, max(cy - p, 0):cy + p, max(cx - p, 0):cx + p] = 0
        return x, int(self.labels[i])


def pytorch_images_per_second(args, genome, images, labels):
    torch.manual_seed(0)
    np.random.seed(0)
    device = torch.device(args.device)
    net = TinyNetwork(genome, args.channels, args.cells, 10, 1).to(device)
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4, nesterov=True)
    loader = torch.utils.data.DataLoader(AugmentedImages(images, labels), batch_size=args.batch_size,
                                         shuffle=True, num_workers=args.workers)
    steps = len(loader) * args.epochs
    warm = max(1, round(0.5 * len(loader)))
    step, seen = 0, 0
    start = time.perf_counter()
    for _ in range(args.epochs):
        for x, y in loader:
            lr = 0.1 * (step + 1) / warm if step < warm else 0.05 * (1 + math.cos(math.pi * (step - warm) / max(1, steps - warm)))
            for g in opt.param_groups:
                g["lr"] = lr
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            loss = F.cross_entropy(net(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            seen += len(y)
            step += 1
    if device.type == "cuda":
        torch.cuda.synchronize()
    return seen / (time.perf_counter() - start)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--xnas", default="target/release/xnas")
    ap.add_argument("--arch", default="002404")
    ap.add_argument("--images", type=int, default=2048)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--channels", type=int, default=16)
    ap.add_argument("--cells", type=int, default=5)
    ap.add_argument("--batch-size", type=int, default=512)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--workers", type=int, default=0)
    ap.add_argument("--data-dir", default="/usr/share/datasets/fashion-mnist")
    args = ap.parse_args()
    genome = [int(c) for c in args.arch]

    cmd = [args.xnas, "eval", args.arch, "--dataset", "fashion-mnist", "--data-dir", args.data_dir,
           "--epochs", str(args.epochs), "--train-subset", str(args.images), "--val-subset", "500",
           "--channels", str(args.channels), "--cells", str(args.cells), "--batch-size", str(args.batch_size),
           "--device", args.device, "--json"]
    record = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
    ours = record["train_images_per_second"]

    images = read_idx(os.path.join(args.data_dir, "train-images-idx3-ubyte.gz"))[: args.images]
    labels = read_idx(os.path.join(args.data_dir, "train-labels-idx1-ubyte.gz"))[: args.images]
    theirs = pytorch_images_per_second(args, genome, images, labels)

    print(f"training throughput, {args.arch} C={args.channels} N={args.cells} on {args.images} Fashion-MNIST "
          f"images x {args.epochs} epoch(s), batch {args.batch_size}, device {args.device}, "
          f"torch threads {torch.get_num_threads()}, DataLoader workers {args.workers}")
    print(f"{'':>28} {'images/s':>10}")
    print(f"{'PyTorch + DataLoader':>28} {theirs:>10.1f}")
    print(f"{'xnas':>28} {ours:>10.1f}")
    print(f"{'ratio xnas / PyTorch':>28} {ours / theirs:>10.2f}x")


if __name__ == "__main__":
    main()
