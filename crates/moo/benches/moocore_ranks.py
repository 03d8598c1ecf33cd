"""Times moocore.pareto_rank on point sets written by ranking_vs_moocore.rs, in-process.

Usage: python moocore_ranks.py MANIFEST
MANIFEST has one line per set: "<path> <n> <d> <repeats>"; <path> holds n*d little-endian f64.
For each set this writes the ranks (int64) to <path>.moocore and prints one line
"<path> <median seconds> <min seconds>" to stdout.
"""

import sys
import time

import numpy as np
import moocore


def main(manifest):
    with open(manifest) as handle:
        lines = [line.split() for line in handle if line.strip()]
    for path, n, d, repeats in lines:
        n, d, repeats = int(n), int(d), int(repeats)
        points = np.fromfile(path, dtype="<f8").reshape(n, d)
        ranks = moocore.pareto_rank(points)  # warm-up, and the ranks to compare
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            moocore.pareto_rank(points)
            times.append(time.perf_counter() - start)
        np.asarray(ranks, dtype="<i8").tofile(path + ".moocore")
        print(path, float(np.median(times)), min(times), flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
