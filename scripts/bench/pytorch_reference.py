"""The PyTorch reference of scripts/gpu-check.sh: xnas's network and training recipe as a
researcher would write them in PyTorch, fed by an ordinary torch DataLoader, printing images/s.

Network: NAS-Bench-201's TinyNetwork as benches/train_vs_pytorch.py defines it (stem conv + BN,
N cells at C, C, 2C, 4C with residual reduction blocks, BN + ReLU, global pooling, linear; PyTorch's
default initialisation, as xnas's), for a six-digit genome. Recipe (appendix B, as src/train):
SGD with Nesterov momentum 0.9, weight decay 5e-4, lr 0.1 with linear warmup over half an epoch
then cosine decay to 0, batch 512, cross entropy. Augmentation per sample in the DataLoader's
workers: zero-pad by 4 and randomly crop back to 32x32, horizontal flip with p = 0.5, an 8x8
cutout (clipped at the borders), after per-channel normalisation. Data: CIFAR-10 binary batches
(scripts/bench/synthetic_cifar.py writes some). cuDNN benchmark mode is on for CUDA, as most
training scripts set it; `--bf16` (autocast) and `--channels-last` give the PyTorch side the
same options xnas has.

Usage: python scripts/bench/pytorch_reference.py --data-dir DIR [--images 10000] [--epochs 3]
       [--device cuda] [--workers 4] [--arch 002404] [--channels 16] [--cells 5] [--json]
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "benches"))
from train_vs_pytorch import AugmentedImages, TinyNetwork  # noqa: E402  (the one PyTorch twin of src/nn and its data)


def read_cifar(folder, limit):
    records = [np.fromfile(os.path.join(folder, f"data_batch_{k}.bin"), np.uint8).reshape(-1, 3073) for k in range(1, 6)]
    records = np.concatenate(records)[:limit]
    return records[:, 1:].reshape(-1, 3, 32, 32), records[:, 0].astype(np.int64)


def images_per_second(args, images, labels):
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    device = torch.device(args.device)
    cuda = device.type == "cuda"
    torch.backends.cudnn.benchmark = cuda
    net = TinyNetwork([int(c) for c in args.arch], args.channels, args.cells, 10, 3).to(device)
    layout = torch.channels_last if args.channels_last else torch.contiguous_format
    net = net.to(memory_format=layout)
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4, nesterov=True)
    loader = torch.utils.data.DataLoader(AugmentedImages(images, labels), batch_size=args.batch_size, shuffle=True,
                                         num_workers=args.workers, pin_memory=cuda,
                                         persistent_workers=args.workers > 0)
    steps = len(loader) * args.epochs
    warm = max(1, round(0.5 * len(loader)))
    step, seen = 0, 0
    start = time.perf_counter()
    for _ in range(args.epochs):
        for x, y in loader:
            lr = 0.1 * (step + 1) / warm if step < warm else 0.05 * (1 + math.cos(math.pi * (step - warm) / max(1, steps - warm)))
            for g in opt.param_groups:
                g["lr"] = lr
            x = x.to(device, non_blocking=True).contiguous(memory_format=layout)
            y = y.to(device, non_blocking=True)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=args.bf16):
                loss = F.cross_entropy(net(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            seen += len(y)
            step += 1
    if cuda:
        torch.cuda.synchronize()
    return seen / (time.perf_counter() - start), loss.item()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--images", type=int, default=10000)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--arch", default="002404")
    ap.add_argument("--channels", type=int, default=16)
    ap.add_argument("--cells", type=int, default=5)
    ap.add_argument("--batch-size", type=int, default=512)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--bf16", action="store_true", help="torch.autocast to bfloat16")
    ap.add_argument("--channels-last", action="store_true")
    ap.add_argument("--json", action="store_true", help="print one JSON line instead of a sentence")
    args = ap.parse_args()
    images, labels = read_cifar(args.data_dir, args.images)
    rate, last_loss = images_per_second(args, images, labels)
    result = {"images_per_second": rate, "images": len(labels), "epochs": args.epochs, "device": args.device,
              "workers": args.workers, "bf16": args.bf16, "channels_last": args.channels_last,
              "torch": torch.__version__, "threads": torch.get_num_threads(), "last_loss": last_loss}
    if args.json:
        print(json.dumps(result))
    else:
        print(f"PyTorch + DataLoader ({args.workers} workers), {args.arch} C={args.channels} N={args.cells}, "
              f"{len(labels)} images x {args.epochs} epochs on {args.device}: {rate:.1f} images/s")


if __name__ == "__main__":
    main()
