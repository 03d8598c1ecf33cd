"""Times moocore.hypervolume on point sets written by hv_vs_moocore.rs, in-process.

Usage: python moocore_hv.py PATH N D REPEATS REF1,REF2,...
PATH holds N*D little-endian f64. Prints "<value> <median seconds> <min seconds>".
"""

import sys
import time

import numpy as np
import moocore


def main(path, n, d, repeats, ref):
    points = np.fromfile(path, dtype="<f8").reshape(int(n), int(d))
    ref = np.array([float(r) for r in ref.split(",")])
    value = moocore.hypervolume(points, ref=ref)  # warm-up, and the value to compare
    times = []
    for _ in range(int(repeats)):
        start = time.perf_counter()
        moocore.hypervolume(points, ref=ref)
        times.append(time.perf_counter() - start)
    print(repr(float(value)), float(np.median(times)), min(times), flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
