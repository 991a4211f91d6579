"""Files/s of ``batchcolor run`` locally vs on a 2-worker dask LocalCluster (127.0.0.1).

Rerun: ``python benchmarks/dask_scaling.py [--files 120]``. On one 2-core box this shows the
overhead of the distributed path (both use the same cores); on N boxes the cluster adds
N boxes' cores while the client only walks, hashes headers and writes the manifest.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    from dask.distributed import LocalCluster

    from batchcolor.tools.bench import write_drawings

    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=120)
    ap.add_argument("--model", default=None)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in"
        write_drawings(src, args.files, 256, 512)
        model = ["--model", args.model] if args.model else []
        base = [sys.executable, "-m", "batchcolor", "run", str(src)]

        def timed(out: str, *extra: str) -> float:
            t = time.perf_counter()
            subprocess.run([*base, str(Path(tmp) / out), *model, "--cache-dir", str(Path(tmp) / "cache"), *extra],
                           check=True, capture_output=True)
            return time.perf_counter() - t

        timed("warm")  # fill the compiled-model cache
        local = timed("local")
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                          dashboard_address=None) as cluster:
            remote = timed("remote", "--scheduler", cluster.scheduler_address)
        print(f"{args.files} drawings (256-512 px): local {args.files / local:.2f} files/s, "
              f"2 dask workers x 1 thread {args.files / remote:.2f} files/s (ratio {local / remote:.2f})")


if __name__ == "__main__":
    main()
