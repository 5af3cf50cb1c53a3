"""Time the generation of SynthParts (goal: the default 8k images in under a minute on 2 cores).

    python benchmarks/bench_synthparts_generation.py --workers 2

Prints the wall time, the CPU time of all processes and the ratio to the 60 s goal; on a
shared machine the CPU time divided by the workers is the better estimate of the wall time
on idle cores. The dataset is written to a temporary folder and deleted afterwards.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import tempfile
import time
from pathlib import Path

from wsol.data.synthparts import SynthPartsConfig, generate

GOAL_SECONDS = 60.0


def _cpu_seconds() -> float:
    usage = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    return sum(u.ru_utime + u.ru_stime for u in usage)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the default split sizes")
    args = parser.parse_args()
    default = SynthPartsConfig()
    config = SynthPartsConfig(
        num_train=round(default.num_train * args.scale),
        num_val=round(default.num_val * args.scale),
        num_test=round(default.num_test * args.scale),
    )
    images = sum(config.split_sizes().values())
    out = Path(tempfile.mkdtemp(prefix="synthparts-bench-"))
    try:
        cpu, wall = _cpu_seconds(), time.perf_counter()
        generate(config, out, workers=args.workers)
        wall, cpu = time.perf_counter() - wall, _cpu_seconds() - cpu
        size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    finally:
        shutil.rmtree(out)
    projected = wall / args.scale
    print(f"{images} images, {args.workers} workers: {wall:.1f} s wall, {cpu:.1f} CPU-s (all processes)")
    print(f"disk: {size / 2**20:.0f} MiB; {images / wall:.0f} images/s, {images / cpu:.0f} images per CPU-s")
    print(f"default size projected: {projected:.1f} s wall = {projected / GOAL_SECONDS:.2f} x goal")
    idle = cpu / args.scale / args.workers
    print(f"on {args.workers} otherwise idle cores: about {idle:.1f} s (CPU-s / workers)")


if __name__ == "__main__":
    main()
