"""Writes a CIFAR-10-shaped data set in the real CIFAR-10 binary format (data_batch_1..5.bin,
test_batch.bin: one label byte then 3x32x32 channel-major pixels per record), which
`xnas --dataset cifar10 --data-dir DIR` and scripts/bench/pytorch_reference.py both read.

The images are learnable, not noise: each class has its own random mean image, and an image is
its class's mean plus per-pixel noise, so accuracy says something (chance is 10 %) and a
precision change that hurt training would show.

Usage: python scripts/bench/synthetic_cifar.py OUT_DIR [--train 10000] [--test 2000] [--seed 0]
"""
import argparse
import os

import numpy as np


def write(path, images, labels):
    records = np.concatenate([labels[:, None].astype(np.uint8), images.reshape(len(labels), -1)], axis=1)
    records.tofile(path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--train", type=int, default=10000, help="training images, spread over the five batches")
    ap.add_argument("--test", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    means = rng.uniform(40, 215, size=(10, 3, 32, 32))

    def sample(n):
        labels = rng.integers(0, 10, n)
        noise = rng.normal(0, 60, size=(n, 3, 32, 32))
        return np.clip(means[labels] + noise, 0, 255).astype(np.uint8), labels

    os.makedirs(args.out, exist_ok=True)
    per_batch = -(-args.train // 5)
    for k in range(5):
        n = min(per_batch, args.train - k * per_batch)
        write(os.path.join(args.out, f"data_batch_{k + 1}.bin"), *sample(max(n, 0)))
    write(os.path.join(args.out, "test_batch.bin"), *sample(args.test))


if __name__ == "__main__":
    main()
