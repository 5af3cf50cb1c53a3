"""Time wsol's faithfulness metrics against Quantus 0.6.0 and pytorch-grad-cam 1.5.7 (same maps, same model).

    python benchmarks/bench_faithfulness.py            # batch 16, 224 px, small convnet, 2 threads
    python benchmarks/bench_faithfulness.py --quick    # batch 4, 64 px
    python benchmarks/bench_faithfulness.py --model resnet18

Every row computes the same numbers on both sides (the largest difference is printed;
the maps get a tiny deterministic tie-break so that both rank pixels alike) and reports
the best wall time of ``--repeats`` runs of each side (ours, then theirs, alternating):

* ``deletion``: ``deletion_insertion``'s deletion curve (zero baseline, softmax) vs
  Quantus ``PixelFlipping``. Quantus flattens the ``C x H x W`` input and requires its
  step to divide ``H * W``, so whole-pixel steps need ``3 * step | H * W``: this row
  runs at the largest multiple of 48 px not above ``--size`` (192 for 224), ``step = size``.
* ``road``: MoRF and LeRF at 10..90 % without noise vs pytorch-grad-cam's
  ``ROADMostRelevantFirst`` / ``ROADLeastRelevantFirst`` (the tleemann/road_evaluation imputer).
* ``average_drop``: vs pytorch-grad-cam's ``DropInConfidence`` and ``IncreaseInConfidence``.
* ``pointing_game`` / ``energy_pointing_game``: vs Quantus ``PointingGame`` and
  ``AttributionLocalisation`` (tolerance 1: Quantus has none).
* ``randomisation``: cascading Spearman curve vs Quantus ``MPRT`` with the same Grad-CAM.

The model is a small random convnet by default (4 conv layers; the metrics' own work,
not the model, is then what is measured); ``--model resnet18`` makes the forward passes,
which both sides run equally often, dominate. Goal (issue 15): every metric at least
10x faster than the reference at equal numbers, CPU, batch 16 at 224 px.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torchvision
from torch import nn

from wsol.data.sample import Sample
from wsol.explainers import create_explainer
from wsol.metrics import METRICS
from wsol.metrics.deletion_insertion import perturbation_curves
from wsol.metrics.probe import FaithfulnessBatch, ModelProbe

SCORE = "probability"
PERCENTAGES = (10, 20, 30, 40, 50, 60, 70, 80, 90)
GOAL = 10.0


def small_convnet(classes: int = 10) -> nn.Module:
    layers: list[nn.Module] = []
    for cin, cout in ((3, 16), (16, 32), (32, 64), (64, 64)):
        layers += [nn.Conv2d(cin, cout, 3, stride=2, padding=1), nn.ReLU()]
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, classes))


def build_model(name: str) -> tuple[nn.Module, str]:
    torch.manual_seed(0)
    if name == "resnet18":
        return torchvision.models.resnet18(num_classes=10).eval(), "layer4"
    return small_convnet().eval(), "6"


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        out = fn()
    return time.perf_counter() - start, out


class Bench:
    """The model, images, classes and maps every row shares."""

    def __init__(self, model: nn.Module, layer: str, images: torch.Tensor, batch_size: int) -> None:
        self.model, self.images = model, images
        self.explainer = create_explainer("gradcam", model, layer)
        self.classes = model(images).argmax(1)
        self.maps = self.input_maps(model, images, self.classes)
        self.probe = ModelProbe(model, explain=self.explain, batch_size=batch_size)
        size = images.shape[-1]
        quarter = size // 4
        box = np.array([[quarter, quarter, 3 * quarter - 1, 3 * quarter - 1]], dtype=np.float64)
        mask = np.zeros((size, size), np.uint8)
        mask[quarter : 3 * quarter, quarter : 3 * quarter] = 1
        self.targets = [
            Sample(f"img{i}", None, int(c), size=(size, size), boxes=box, mask=mask)
            for i, c in enumerate(self.classes)
        ]

    def explain(self, model: nn.Module, images: torch.Tensor, classes: torch.Tensor) -> torch.Tensor:
        maps = create_explainer("gradcam", model, self.explainer.layer_name)(images, classes)
        return nn.functional.interpolate(maps[:, None], size=images.shape[-2:], mode="bilinear")[:, 0]

    def input_maps(self, model: nn.Module, images: torch.Tensor, classes: torch.Tensor) -> torch.Tensor:
        """Grad-CAM at the input size, min-max normalised, plus a tiny per-pixel tie-break."""
        maps = self.explain(model, images, classes)
        low = maps.flatten(1).amin(1)[:, None, None]
        span = (maps.flatten(1).amax(1)[:, None, None] - low).clamp_min(1e-12)
        gen = torch.Generator().manual_seed(1)
        ramp = torch.stack([torch.randperm(maps[0].numel(), generator=gen) for _ in maps]).view_as(maps)
        return (maps - low) / span * 0.99 + 0.01 * ramp / maps[0].numel()

    def ours(self, spec: dict[str, Any], images: torch.Tensor, maps: torch.Tensor) -> tuple[float, Any]:
        metric = METRICS.build(spec)
        context = FaithfulnessBatch(self.probe, images, self.classes)

        def run() -> Any:
            kwargs = {"context": context} if spec["name"] in MODEL else {}
            metric.update(list(maps), self.targets, **kwargs)
            return metric

        return timed(run)


MODEL = {"deletion_insertion", "road", "average_drop", "randomisation"}


def row_deletion(bench: Bench, size: int) -> tuple[float, float, float]:
    import quantus

    side = max(48, size // 48 * 48)
    images = nn.functional.interpolate(bench.images, size=(side, side), mode="bilinear")
    maps = nn.functional.interpolate(bench.maps[:, None], size=(side, side), mode="bilinear")[:, 0]
    context = FaithfulnessBatch(bench.probe, images, bench.classes)
    mine_s, curves = timed(lambda: perturbation_curves(context, maps, "deletion", "zero", side, SCORE))
    ours = curves[:, 1:]  # Quantus' curve has no unperturbed point
    pixel_flipping = quantus.PixelFlipping(
        features_in_step=3 * side, perturb_baseline=0.0, normalise=False, abs=False, disable_warnings=True
    )
    theirs_s, theirs = timed(
        lambda: pixel_flipping(
            model=bench.model,
            x_batch=images.numpy(),
            y_batch=bench.classes.numpy(),
            a_batch=maps[:, None].numpy(),
            softmax=True,
            device="cpu",
            batch_size=len(images),
        )
    )
    return mine_s, theirs_s, float(np.abs(ours - np.array(theirs)).max())


def row_road(bench: Bench) -> tuple[float, float, float]:
    from pytorch_grad_cam.metrics.perturbation_confidence import (
        PerturbationConfidenceMetric,
        RemoveLeastRelevantFirst,
        RemoveMostRelevantFirst,
    )
    from pytorch_grad_cam.metrics.road import NoisyLinearImputer
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputSoftmaxTarget

    mine_s, metric = bench.ours({"name": "road", "noise": 0.0}, bench.images, bench.maps)
    goals = [ClassifierOutputSoftmaxTarget(int(c)) for c in bench.classes]
    cams = bench.maps.numpy().astype(np.float32)

    def theirs() -> np.ndarray:
        curves = []
        for removal in (RemoveMostRelevantFirst, RemoveLeastRelevantFirst):
            for q in PERCENTAGES:
                remove = removal(100 - q, NoisyLinearImputer(noise=0))
                metric = PerturbationConfidenceMetric(remove)
                curves.append(metric(bench.images, cams, goals, bench.model, False, False))
        return np.stack(curves, axis=1)

    theirs_s, curves = timed(theirs)
    ours = np.concatenate([metric.curve("morf_curve"), metric.curve("lerf_curve")], axis=1)
    return mine_s, theirs_s, float(np.abs(ours - curves).max())


def row_average_drop(bench: Bench) -> tuple[float, float, float]:
    from pytorch_grad_cam.metrics.cam_mult_image import DropInConfidence, IncreaseInConfidence
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputSoftmaxTarget

    spec = {"name": "average_drop", "normalize": False}
    mine_s, metric = bench.ours(spec, bench.images, bench.maps)
    goals = [ClassifierOutputSoftmaxTarget(int(c)) for c in bench.classes]
    cams = bench.maps.numpy().astype(np.float32)

    def theirs() -> tuple[np.ndarray, np.ndarray]:
        drop = DropInConfidence()(bench.images, cams, goals, bench.model)
        return drop, IncreaseInConfidence()(bench.images, cams, goals, bench.model)

    theirs_s, (drop, increase) = timed(theirs)
    ours = np.maximum(metric.rows("score") - metric.rows("masked_score"), 0)
    increased = metric.rows("masked_score") > metric.rows("score")
    diff = max(float(np.abs(ours - drop).max()), float(np.abs(increased - increase).max()))
    return mine_s, theirs_s, diff


def row_localisation(bench: Bench, name: str) -> tuple[float, float, float]:
    import quantus

    spec = {"name": name, **({"tolerance": 1} if name.startswith("pointing") else {})}
    mine_s, metric = bench.ours(spec, bench.images, bench.maps)
    reference = quantus.PointingGame if name.startswith("pointing") else quantus.AttributionLocalisation
    quantus_metric = reference(disable_warnings=True, normalise=False, abs=False)
    masks = np.stack([t.mask for t in bench.targets])[:, None].astype(np.float64)
    theirs_s, theirs = timed(
        lambda: quantus_metric(
            model=bench.model,
            x_batch=bench.images.numpy(),
            y_batch=bench.classes.numpy(),
            a_batch=bench.maps[:, None].numpy(),
            s_batch=masks,
            device="cpu",
        )
    )
    ours = metric.rows("hit" if name.startswith("pointing") else "energy")
    return mine_s, theirs_s, float(np.abs(ours.astype(float) - np.array(theirs, dtype=float)).max())


def row_randomisation(bench: Bench) -> tuple[float, float, float]:
    import quantus

    spec = {"name": "randomisation", "measures": ["spearman"], "seed": 43}
    mine_s, metric = bench.ours(spec, bench.images, bench.maps)

    def explain(model: nn.Module, inputs: np.ndarray, targets: np.ndarray, **kwargs: Any) -> np.ndarray:
        maps = bench.explain(model, torch.as_tensor(inputs), torch.as_tensor(targets))
        return maps[:, None].detach().numpy()

    mprt = quantus.MPRT(seed=42, disable_warnings=True, normalise=False, abs=False)
    theirs_s, scores = timed(
        lambda: mprt(
            model=bench.model,
            x_batch=bench.images.numpy(),
            y_batch=bench.classes.numpy(),
            a_batch=bench.maps[:, None].numpy(),
            explain_func=explain,
            device="cpu",
            batch_size=len(bench.images),
        )
    )
    theirs = np.array([scores[layer] for layer in metric.layer_names]).T
    return mine_s, theirs_s, float(np.abs(metric.curve("spearman_curve") - theirs).max())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="batch 4, 64 px, 3 repeats")
    parser.add_argument("--repeats", type=int, default=2, help="best time of this many runs of each side")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--model", choices=("small", "resnet18"), default="small")
    parser.add_argument("--probe-batch", type=int, default=256, help="images per forward in wsol's metrics")
    parser.add_argument("--only", nargs="+", default=None, help="rows to run")
    args = parser.parse_args()
    if args.quick:
        args.batch, args.size, args.repeats = 4, 64, 3
    torch.set_num_threads(args.threads)
    model, layer = build_model(args.model)
    images = torch.randn(args.batch, 3, args.size, args.size, generator=torch.Generator().manual_seed(0))
    bench = Bench(model, layer, images, args.probe_batch)
    rows: dict[str, Callable[[], tuple[float, float, float]]] = {
        "deletion": lambda: row_deletion(bench, args.size),
        "road": lambda: row_road(bench),
        "average_drop": lambda: row_average_drop(bench),
        "pointing_game": lambda: row_localisation(bench, "pointing_game_mask"),
        "energy_pointing_game": lambda: row_localisation(bench, "energy_pointing_game_mask"),
        "randomisation": lambda: row_randomisation(bench),
    }
    print(
        f"{args.model} batch {args.batch} {args.size}px threads {args.threads}, "
        f"best of {args.repeats} (wall time, ours then theirs)"
    )
    print(f"{'metric':<21} {'ours s':>8} {'theirs s':>9} {'theirs/ours':>12} {'max |diff|':>11}")
    ratios = {}
    for name, row in rows.items():
        if args.only and name not in args.only:
            continue
        runs = [row() for _ in range(args.repeats)]
        mine, theirs, diff = (min(r[0] for r in runs), min(r[1] for r in runs), max(r[2] for r in runs))
        ratios[name] = theirs / mine
        print(f"{name:<21} {mine:8.3f} {theirs:9.3f} {ratios[name]:12.2f} {diff:11.2e}", flush=True)
    where = f"CPU batch {args.batch} {args.size}px {args.model}"
    for name, ratio in ratios.items():
        met = "met" if ratio >= GOAL else "NOT met"
        print(f"GOAL {name} speed-up over the reference ({where}): {ratio:.1f}x (goal >= {GOAL:.0f}x) {met}")


if __name__ == "__main__":
    main()
