"""Context-bias diagnostic: how much of a heatmap's mass sits on a co-occurring context region.

A CAM can light up what co-occurs with the class instead of the object (the "boat" map on
the water). On datasets with a part mask of that context (SynthParts with
``context_share`` / ``context_eval_share`` on: the ``context`` band minus the objects), with
``h >= 0`` the heatmap at the original resolution, ``X`` the context mask and ``O`` the
object mask::

    context_share      = sum(h * X) / sum(h)     share of all heat on the context
    context_area_ratio = |X| / (H W)             what that share is for uniform heat
    context_object_share = sum(h * O) / sum(h)   share of all heat on the object (same images)

``context_index = mean(context_share) / mean(context_area_ratio)`` is 1 for uniform maps
and grows as the maps move onto the context. Only images whose context mask is not empty
count (``num_context_images``); maps without mass are counted in ``num_empty_maps`` and left
out. Keys start with ``partial/`` so they sit next to the partial-highlighting diagnostic
(:mod:`wsol.metrics.partial_highlighting`); a dataset without context regions reports
nothing. There is no reference implementation; this is wsol's own diagnostic.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from wsol.data.sample import Sample
from wsol.errors import DataError
from wsol.metrics import METRICS
from wsol.metrics.base import MetricAccumulator, check_batch, map_at_image_size

_FIELDS = ("context_share", "context_area_ratio", "context_object_share")


class ContextShare(NamedTuple):
    """Per-image shares (NaN where the map has no mass)."""

    context_share: float
    context_area_ratio: float
    context_object_share: float


def context_share(heatmap: np.ndarray, context_mask: np.ndarray, object_mask: np.ndarray) -> ContextShare:
    """Shares of ``heatmap`` (non-negative, same shape as the masks) on the context and the object."""
    if heatmap.shape != context_mask.shape or heatmap.shape != object_mask.shape:
        raise ValueError(
            f"heatmap {heatmap.shape} and masks {context_mask.shape}, {object_mask.shape} differ in shape"
        )
    if not np.all(heatmap >= 0):
        raise ValueError("heatmap has negative or NaN values")
    context, obj = context_mask.astype(bool), object_mask.astype(bool)
    ratio = np.count_nonzero(context) / context.size
    total = float(heatmap.sum(dtype=np.float64))
    if total <= 0:
        return ContextShare(float("nan"), ratio, float("nan"))
    on_context = float(heatmap[context].sum(dtype=np.float64))
    return ContextShare(on_context / total, ratio, float(heatmap[obj].sum(dtype=np.float64)) / total)


@METRICS.register("context_share")
class ContextShareMetric(MetricAccumulator):
    """Streaming :func:`context_share` over the images that have a context region.

    ``update`` resizes each raw map to its image's original size with OpenCV bilinear
    interpolation and clips negative values to 0, as the partial-highlighting diagnostic
    does. Images without a ``part`` mask, or with an empty one, are skipped.

    Args:
        part: name of the context mask in ``Sample.part_masks`` (default ``context``).
    """

    requires = frozenset({"parts"})

    def __init__(self, part: str = "context") -> None:
        super().__init__()
        self.part = part
        for name in _FIELDS:
            self._add_row(name, float)

    def update(
        self, maps: Sequence[Any], targets: Sequence[Sample], predictions: Sequence[int] | None = None
    ) -> None:
        check_batch(maps, targets, predictions)
        ids, shares = [], []
        for raw, target in zip(maps, targets, strict=True):
            context = target.part_masks.get(self.part)
            if context is None or not context.any():
                continue
            if target.mask is None:
                raise DataError(f"{target.image_id}: a {self.part!r} mask but no object mask")
            heatmap = map_at_image_size(raw, target.size)
            if np.isnan(heatmap).any():
                raise DataError(f"{target.image_id}: heatmap has NaN values")
            ids.append(target.image_id)
            shares.append(context_share(np.maximum(heatmap, 0.0), context, target.mask))
        self._append_rows(image_id=ids, **{f: [getattr(s, f) for s in shares] for f in _FIELDS})

    def per_image(self) -> dict[str, np.ndarray]:
        return {"image_id": self.rows("image_id"), **{f: self.rows(f) for f in _FIELDS}}

    def compute(self) -> dict[str, float]:
        rows = np.stack([self.rows(f) for f in _FIELDS], axis=1)
        if not len(rows):
            return {}
        valid = np.isfinite(rows[:, 0])
        means = {
            f: float(rows[valid, i].mean()) if valid.any() else float("nan") for i, f in enumerate(_FIELDS)
        }
        out = {
            **means,
            "context_index": means["context_share"] / means["context_area_ratio"],
            "num_context_images": float(len(rows)),
            "num_context_empty_maps": float(np.count_nonzero(~valid)),
        }
        return {f"partial/{k}": v for k, v in out.items()}
