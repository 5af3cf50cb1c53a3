"""One training epoch of the main job's loader: all ground truth (before) vs only what training uses.

    python benchmarks/bench_train_loader.py --root data/synthparts   # the generated data
    python benchmarks/bench_train_loader.py --limit 640                         # the first 640 images

Loads ``--config`` (default the main job, ``configs/synthparts/cam.yaml``), builds its
train split and train transform, and iterates one epoch (batch size and shuffling as in
training, ``num_workers=0`` as the config) twice per mode, alternating: ``before``
passes every ground-truth kind to the transform (``fields=None``: object and ignore
masks, the part mask and fixations are decoded and transformed, as the train loader did
before), ``after`` the training transform's own ``fields`` (none). Prints the best
wall and process CPU seconds of each and the speed-up, then a ``GOAL`` line (after
faster than before) and whether the batches' images and labels were identical.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader, Subset

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script without installing wsol
    sys.path.insert(0, str(ROOT))

from wsol.config import load_config  # noqa: E402
from wsol.data.collate import collate_samples  # noqa: E402
from wsol.data.datasets import DATASETS  # noqa: E402
from wsol.data.transforms import TRANSFORMS, GTTransform  # noqa: E402


def epoch(loader: DataLoader, transform: GTTransform) -> tuple[float, float, list[torch.Tensor]]:
    """Wall and CPU seconds of one pass from the same seeds, and a checksum per batch
    (image sum, labels)."""
    torch.manual_seed(0)
    transform.reseed(0)  # the augmentation stream from its start (it follows the torch seed only on change)
    wall, cpu = time.perf_counter(), time.process_time()
    sums = [torch.cat([batch["image"].double().sum().view(1), batch["label"].double()]) for batch in loader]
    return time.perf_counter() - wall, time.process_time() - cpu, sums


def main() -> None:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--config", default=str(ROOT / "configs" / "synthparts" / "cam.yaml"))
    parser.add_argument("--root", help="dataset root (overrides data.dataset.root)")
    parser.add_argument("--limit", type=int, default=0, help="only the first N train images (0: all)")
    args = parser.parse_args()
    cfg = load_config(args.config)
    spec = {**cfg.data.dataset, **({"root": args.root} if args.root else {})}
    dataset = DATASETS.build(spec, split="train")
    transform = TRANSFORMS.build(cfg.data.train_transform, image_size=cfg.data.image_size)
    dataset.transform = transform
    subset = Subset(dataset, range(min(args.limit or len(dataset), len(dataset))))
    loader = DataLoader(subset, batch_size=cfg.data.batch_size, shuffle=True, collate_fn=collate_samples)
    train_fields = transform.fields
    results: dict[str, list[tuple[float, float, list[torch.Tensor]]]] = {"before": [], "after": []}
    for _ in range(2):
        for mode, fields in (("before", None), ("after", train_fields)):
            transform.fields = fields
            results[mode].append(epoch(loader, transform))
    best = {mode: (min(r[0] for r in runs), min(r[1] for r in runs)) for mode, runs in results.items()}
    same = all(
        torch.equal(a, b) for a, b in zip(results["before"][0][2], results["after"][0][2], strict=True)
    )
    print(f"{len(subset)} train images, batch {cfg.data.batch_size}, one epoch (best of 2), seconds:")
    for mode, (wall, cpu) in best.items():
        print(f"  {mode:6s} wall {wall:.2f}  cpu {cpu:.2f}")
    ratio = best["before"][1] / best["after"][1]
    print(f"identical images and labels: {same}")
    print(
        f"GOAL train loader epoch, only what training uses vs all ground truth (CPU time): {ratio:.2f}x "
        f"(goal 1x) {'met' if ratio > 1 else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
