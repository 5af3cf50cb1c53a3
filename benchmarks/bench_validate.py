"""Time data validation against the data reading a run does anyway (goal: at most a quarter of one pass).

    python benchmarks/bench_validate.py [--scale 0.25]

Generates SynthParts (``--scale`` of the default 6000/1000/1000 images) in a temporary
folder, then measures, on the same built splits and with warm file caches, (a) the
baseline: one pass of ``load_sample`` over every image of train, val and test (decoding
the pixels and masks, what one epoch of training plus one evaluation of val and test read
before any augmentation), and (b) :func:`wsol.data.validate.validate_datasets` over the
same splits. Each is the best of ``--repeats`` runs. Ends with one GOAL line.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from wsol.data.datasets import create_dataset
from wsol.data.validate import validate_datasets

GOAL_RATIO = 0.25


def best_time(work: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.25, help="fraction of the default split sizes")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="validate-bench-"))
    spec = {
        "name": "synthparts",
        "root": str(root),
        "num_train": round(6000 * args.scale),
        "num_val": round(1000 * args.scale),
        "num_test": round(1000 * args.scale),
    }
    try:
        splits = {split: create_dataset(spec, split) for split in ("train", "val", "test")}
        images = sum(len(d) for d in splits.values())

        def decode_pass() -> None:
            for dataset in splits.values():
                for index in range(len(dataset)):
                    dataset.load_sample(index)

        baseline = best_time(decode_pass, args.repeats)
        validation = best_time(lambda: validate_datasets(splits), args.repeats)
    finally:
        shutil.rmtree(root)
    ratio = validation / baseline
    print(f"{images} images: one decoding pass {baseline:.2f} s, validation {validation:.2f} s")
    print(f"validation per image: {1e3 * validation / images:.2f} ms")
    verdict = "met" if ratio <= GOAL_RATIO else "NOT met"
    print(f"GOAL validation time / one decoding pass: {ratio:.2f} (goal {GOAL_RATIO}) {verdict}")


if __name__ == "__main__":
    main()
