"""Deletion and insertion curves and their AUC (Petsiuk et al., "RISE", BMVC 2018).

Pixels are ranked by the map, highest first. *Deletion* starts from the image and
replaces ``step`` more pixels (all channels) by a baseline at every step; *insertion*
starts from the baseline and puts ``step`` more pixels of the image back. With
``n = ceil(H*W / step)`` steps, the curve is the explained class's score at the
``n + 1`` images ``k = 0 .. n`` (``min(k * step, H*W)`` pixels changed), and::

    AUC = (sum_k s_k - s_0 / 2 - s_n / 2) / n        (trapezoids on x in [0, 1])

A faithful map gives a low deletion AUC (the score falls fast) and a high insertion AUC.
Reference: eclique/RISE ``evaluation.py`` (``CausalMetric``, ``auc``): ``step = 224``
pixels, softmax probability, deletion baseline zeros (in the model's normalised input
space, i.e. the mean colour) and insertion baseline a Gaussian blur of the image
(``klen = 11``, ``sigma = 5``, zero padding), the defaults here. Options give the other
conventions: either baseline for either curve (``"zero"``, ``"blur"``), the logit or
accuracy instead of the probability (``score``), any ``step``. Quantus'
``PixelFlipping`` is the deletion curve without its first point, with a ``"black"``
(zero) baseline and an unnormalised ``np.trapz`` AUC (``curve_auc(..., normalized=False)``).

Where wsol differs: the explained class is the one given in the context (the predicted
class by default, as RISE's), and ties in the map are ranked by pixel index (row-major,
earlier first; RISE's ``np.argsort`` leaves tie order to the sort algorithm).
"""

from __future__ import annotations

import numpy as np
import scipy.ndimage
import torch
import torch.nn.functional as F
from torch import Tensor

from wsol.errors import ConfigError
from wsol.metrics import METRICS
from wsol.metrics.probe import FaithfulnessBatch, ModelMetric, check_score, class_scores

BASELINES = ("zero", "blur")
MODES = ("deletion", "insertion")


def blur_kernel(size: int = 11, sigma: float = 5.0) -> Tensor:
    """RISE's ``gkern``: ``scipy.ndimage.gaussian_filter`` of a centred ``size`` x ``size`` impulse."""
    impulse = np.zeros((size, size))
    impulse[size // 2, size // 2] = 1.0
    return torch.from_numpy(scipy.ndimage.gaussian_filter(impulse, sigma)).float()


def baseline_images(images: Tensor, baseline: str, size: int = 11, sigma: float = 5.0) -> Tensor:
    """The images every pixel is deleted to / inserted from: zeros or a per-channel blur."""
    if baseline == "zero":
        return torch.zeros_like(images)
    channels = images.shape[1]
    kernel = blur_kernel(size, sigma).to(images)[None, None].expand(channels, 1, size, size)
    return F.conv2d(images, kernel, padding=size // 2, groups=channels)


def pixel_ranks(maps: Tensor) -> Tensor:
    """``(B, H*W)`` rank of every pixel, 0 for the highest map value (ties: lower index first)."""
    flat = maps.flatten(1)
    order = torch.argsort(-flat, dim=1, stable=True)
    ranks = torch.empty_like(order)
    ranks.scatter_(1, order, torch.arange(flat.shape[1]).expand_as(order).contiguous())
    return ranks


def curve_auc(curves: np.ndarray, normalized: bool = True) -> np.ndarray:
    """Trapezoid area under each row of ``curves``; over x in [0, 1] when ``normalized``."""
    curves = np.asarray(curves, dtype=np.float64)
    area = curves.sum(-1) - curves[..., 0] / 2 - curves[..., -1] / 2
    return area / (curves.shape[-1] - 1) if normalized else area


def perturbation_curves(
    context: FaithfulnessBatch, maps: Tensor, mode: str, baseline: str, step: int, score: str
) -> np.ndarray:
    """``(B, n + 1)`` scores of the deletion or insertion images of every map (see the module)."""
    images = context.images
    height, width = context.size
    n_steps = -(-height * width // step)
    ranks = pixel_ranks(maps).int().to(images.device).view(-1, 1, height, width)
    base = baseline_images(images, baseline)
    start, end = (images, base) if mode == "deletion" else (base, images)

    def build(rows: slice) -> Tensor:
        parts = []  # per image of the slice: its steps broadcast against one copy of the image
        for image in range(rows.start // (n_steps + 1), (rows.stop - 1) // (n_steps + 1) + 1):
            first = max(rows.start - image * (n_steps + 1), 0)
            last = min(rows.stop - image * (n_steps + 1), n_steps + 1)
            k = torch.arange(first, last, device=images.device).view(-1, 1, 1, 1)
            parts.append(torch.where(ranks[image] < k * step, end[image], start[image]))
        return torch.cat(parts)

    count = len(images) * (n_steps + 1)
    logits = context.probe.perturbed_logits(count, build)
    classes = context.classes.repeat_interleave(n_steps + 1)
    return class_scores(logits, classes, score).numpy().reshape(len(images), n_steps + 1)


@METRICS.register("deletion_insertion")
class DeletionInsertion(ModelMetric):
    """Streaming deletion and insertion AUC; see the module docstring.

    Result keys ``deletion_insertion/deletion_auc``, ``.../insertion_auc`` (means over
    images), ``.../deletion_curve`` and ``.../insertion_curve`` (mean score per step)
    and ``.../num_images``; per image ``deletion_auc`` and ``insertion_auc``.

    Args:
        step: pixels changed per step (RISE: 224).
        deletion_baseline: ``"zero"`` (RISE) or ``"blur"``.
        insertion_baseline: ``"blur"`` (RISE) or ``"zero"``.
        score: ``"probability"`` (RISE), ``"logit"`` or ``"correct"``.
    """

    def __init__(
        self,
        step: int = 224,
        deletion_baseline: str = "zero",
        insertion_baseline: str = "blur",
        score: str = "probability",
    ) -> None:
        super().__init__()
        if step <= 0:
            raise ConfigError(f"deletion_insertion step must be positive, got {step}")
        for baseline in (deletion_baseline, insertion_baseline):
            if baseline not in BASELINES:
                known = ", ".join(BASELINES)
                raise ConfigError(f"deletion_insertion: unknown baseline {baseline!r} (known: {known})")
        self.step, self.score = step, check_score(score)
        self.baselines = {"deletion": deletion_baseline, "insertion": insertion_baseline}
        for mode in MODES:
            self._add_row(f"{mode}_auc", float)

    def score_batch(self, maps: Tensor, image_ids: list[str], context: FaithfulnessBatch) -> None:
        curves = {
            mode: perturbation_curves(context, maps, mode, self.baselines[mode], self.step, self.score)
            for mode in MODES
        }
        aucs = {f"{mode}_auc": curve_auc(curve) for mode, curve in curves.items()}
        self._append_with_curves(image_ids, {f"{m}_curve": c for m, c in curves.items()}, **aucs)

    def compute(self) -> dict[str, float | np.ndarray]:
        out: dict[str, float | np.ndarray] = {}
        n = len(self.rows("image_id"))
        for mode in MODES:
            aucs = self.rows(f"{mode}_auc")
            out[f"{mode}_auc"] = float(aucs.mean()) if n else float("nan")
            if n:
                out[f"{mode}_curve"] = self.curve(f"{mode}_curve").mean(0)
        out["num_images"] = float(n)
        return {f"deletion_insertion/{k}": v for k, v in out.items()}
