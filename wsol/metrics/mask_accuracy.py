"""Streaming PxAP and pIoU against object masks (OpenImages30k-style evaluation).

Definitions in :mod:`wsol.metrics.masks`. Reference: clovaai/wsolevaluation
(commit 96f4b88), ``evaluation.MaskEvaluator``. wsol additionally reports pIoU, counts
NaN/constant maps (evaluated as all-zero maps, as the reference does silently) and can
compute the unbinned PxAP (``exact=True``; its state holds every distinct score value,
so it grows with the data).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from wsol import keys
from wsol.data.sample import Sample
from wsol.errors import DataError
from wsol.metrics import METRICS
from wsol.metrics.base import MetricAccumulator, check_batch, image_size, threshold_grid
from wsol.metrics.masks import (
    average_precision,
    exact_pxap,
    mask_histograms,
    mask_label_map,
    pixel_iou,
    pr_curve,
    pxap_bin_edges,
    score_value_counts,
)
from wsol.metrics.scoremap import load_scoremap


@METRICS.register("pxap")
class MaskAccuracy(MetricAccumulator):
    """PxAP (binned, reference-exact), pIoU and optionally the unbinned PxAP.

    Args:
        cam_curve_interval: threshold grid step; bins are the thresholds plus [1, 2, 3].
        resolution: side of the square grid maps and masks are evaluated on. Masks are
            resized straight to it (nearest neighbour), whatever their resolution, as
            wsolevaluation's ``get_mask`` does; the ignore mask must share the mask's.
        exact: also compute the unbinned PxAP (``pxap_exact``).
        input_maps: ``"raw"`` or ``"prepared"``, as for :class:`~wsol.metrics.box_accuracy.BoxAccuracy`.
    """

    requires = frozenset({"masks"})

    def __init__(
        self,
        cam_curve_interval: float = 0.01,
        resolution: int = 224,
        exact: bool = False,
        input_maps: str = "raw",
    ) -> None:
        super().__init__()
        self.thresholds = threshold_grid(cam_curve_interval, resolution, input_maps)
        self.input_maps = input_maps
        self.resolution = resolution
        self.exact = exact
        self.edges = pxap_bin_edges(self.thresholds)
        self._add_config("thresholds", self.thresholds)
        self._add_config("resolution", np.array(resolution))
        for key in ("n_images", "n_nan_maps", "n_constant_maps"):
            self._add_sum(key)
        self._add_sum("pos_hist", (len(self.edges) - 1,))
        self._add_sum("neg_hist", (len(self.edges) - 1,))
        if exact:  # pooled (score value, foreground count, background count); order does not matter
            self._add_row("score_value", float)
            self._add_row("score_fg", int)
            self._add_row("score_bg", int)

    def update(
        self, maps: Sequence[Any], targets: Sequence[Sample], predictions: Sequence[int] | None = None
    ) -> None:
        """Histogram each prepared map's scores at object / background pixels (predictions unused)."""
        check_batch(maps, targets, predictions)
        prepared = [self._prepare(raw, target) for raw, target in zip(maps, targets, strict=True)]
        rows = {"image_id": [t.image_id for t in targets]}
        if self.exact:
            counts = [
                score_value_counts(scoremap, mask_label_map(target.mask, target.ignore, self.resolution))
                for _, scoremap, target in prepared
            ]
            for k, key in enumerate(("score_value", "score_fg", "score_bg")):
                rows[key] = np.concatenate([c[k] for c in counts])
        self._append_rows(**rows)  # first: rejects repeated images before any count changes
        for status, scoremap, target in prepared:
            pos, neg = mask_histograms(scoremap, target.mask, target.ignore, self.edges)
            self._sums["pos_hist"] += pos
            self._sums["neg_hist"] += neg
            if status != "ok":
                self._sums[f"n_{status}_maps"] += 1
            self._sums["n_images"] += 1

    def _prepare(self, raw: Any, target: Sample) -> tuple[str, np.ndarray, Sample]:
        """Map status, the prepared map and the checked target."""
        image_size(target)
        if target.mask is None:
            raise DataError(f"{target.image_id}: no object mask to evaluate against")
        shape = np.shape(target.mask)
        if len(shape) != 2 or 0 in shape:
            raise DataError(f"{target.image_id}: mask is {shape}, expected a non-empty (H, W) array")
        if target.ignore is not None and np.shape(target.ignore) != shape:
            raise DataError(f"{target.image_id}: ignore is {np.shape(target.ignore)}, the mask {shape}")
        try:
            prepared = load_scoremap(raw, self.resolution, self.input_maps)
        except ValueError as e:
            raise DataError(f"{target.image_id}: {e}") from None
        return prepared.status, prepared.scoremap, target

    def compute(self) -> dict[str, Any]:
        if int(self._sums["n_images"]) == 0:
            raise DataError("no image was evaluated")
        pos, neg = self._sums["pos_hist"], self._sums["neg_hist"]
        curve = pr_curve(pos, neg)
        piou = pixel_iou(pos, neg)
        try:
            out: dict[str, Any] = {"pxap": average_precision(curve)}
        except ValueError as e:
            raise DataError(str(e)) from None
        n = len(self.thresholds)
        with np.errstate(divide="ignore", invalid="ignore"):  # per threshold, ascending
            out[keys.CURVE_PRECISION] = (curve.tp / (curve.tp + curve.fp))[::-1][:n]
            out[keys.CURVE_RECALL] = (curve.tp / curve.positives)[::-1][:n]
        out.update(
            {
                "piou": piou.best,
                keys.PIOU_THRESHOLD: float(self.thresholds[piou.best_index]),
                keys.CURVE_PIOU: piou.curve * 100,
                keys.THRESHOLDS: self.thresholds.copy(),
            }
        )
        if self.exact:
            out["pxap_exact"] = exact_pxap(
                self.rows("score_value"), self.rows("score_fg"), self.rows("score_bg")
            )
        for key in ("n_images", "n_nan_maps", "n_constant_maps"):
            out[key] = int(self._sums[key])
        return out
