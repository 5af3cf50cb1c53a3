"""Context-bias diagnostic: how much of a heatmap's mass sits on a co-occurring context region.

A CAM can light up what co-occurs with the class instead of the object (the "boat" map on
the water). On datasets with a part mask of that context (SynthParts with
``context_share`` / ``context_eval_share`` on: the ``context`` band minus the objects), with
``h >= 0`` the heatmap at the original resolution and ``X`` the context mask::

    context_share      = sum(h * X) / sum(h)     share of all heat on the context
    context_area_ratio = |X| / (H W)             what that share is for uniform heat

``context_index = mean(context_share) / mean(context_area_ratio)`` is 1 for uniform maps
and grows as the maps move onto the context. Only images whose context mask is not empty
count (``num_context_images``); maps without mass are counted in
``num_context_empty_maps`` and left out. It is the companion of the partial-highlighting
diagnostic (:mod:`wsol.metrics.partial_highlighting`: heat on a part of the object); its
keys start with ``context/`` rather than ``partial/`` so that the partial-highlighting
tables and summaries of datasets without context stay as they were. There is no reference
implementation; this is wsol's own diagnostic.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from wsol import keys
from wsol.data.sample import Sample
from wsol.errors import DataError
from wsol.metrics import METRICS
from wsol.metrics.base import PartShareAccumulator, finite_map_at_image_size

_FIELDS = ("context_share", "context_area_ratio")


class ContextShare(NamedTuple):
    """Per-image shares (``context_share`` NaN where the map has no mass)."""

    context_share: float
    context_area_ratio: float


def context_share(heatmap: np.ndarray, context_mask: np.ndarray) -> ContextShare:
    """Share of ``heatmap`` (non-negative, the mask's shape) on the context, and the context's area share."""
    if heatmap.shape != context_mask.shape:
        raise ValueError(f"heatmap {heatmap.shape} and context mask {context_mask.shape} differ in shape")
    if not np.all(heatmap >= 0):
        raise ValueError("heatmap has negative or NaN values")
    context = context_mask.astype(bool)
    ratio = np.count_nonzero(context) / context.size
    total = float(heatmap.sum(dtype=np.float64))
    if total <= 0:
        return ContextShare(float("nan"), ratio)
    return ContextShare(float(heatmap[context].sum(dtype=np.float64)) / total, ratio)


@METRICS.register("context_share")
class ContextShareMetric(PartShareAccumulator):
    """Streaming :func:`context_share` over a split; see the module docstring.

    ``update`` resizes each raw map to its image's original size with OpenCV bilinear
    interpolation and clips negative values to 0, as the partial-highlighting diagnostic
    does. Every image is counted once; one without a ``part`` mask, or with an empty one
    (no context in that image), has NaN rows and is left out of the means. An image with no
    part masks at all is a ``DataError``. Keys start with ``context/``; they are NaN for a
    split without context regions (the default SynthParts), and ``per_image`` lists only
    the images that have one.

    Args:
        part: name of the context mask in ``Sample.part_masks`` (default ``context``).
    """

    requires = frozenset({"parts"})

    fields = _FIELDS

    def __init__(self, part: str = "context") -> None:
        super().__init__(part)

    def _share(self, raw: Any, target: Sample) -> ContextShare:
        if not target.part_masks:
            raise DataError(f"{target.image_id}: no part masks (the context diagnostic reads {self.part!r})")
        context = target.part_masks.get(self.part)
        if context is None or not context.any():
            return ContextShare(float("nan"), float("nan"))
        heatmap = finite_map_at_image_size(raw, target)
        return context_share(np.maximum(heatmap, 0.0), context)

    def per_image(self) -> dict[str, np.ndarray]:
        keep = np.isfinite(self.rows("context_area_ratio"))
        return {name: column[keep] for name, column in super().per_image().items()}

    def compute(self) -> dict[str, float]:
        share, ratio = self.rows("context_share"), self.rows("context_area_ratio")
        valid = np.isfinite(share)
        mean_share = float(share[valid].mean()) if valid.any() else float("nan")
        mean_ratio = float(ratio[valid].mean()) if valid.any() else float("nan")
        out = {
            "context_share": mean_share,
            "context_area_ratio": mean_ratio,
            "context_index": mean_share / mean_ratio if valid.any() else float("nan"),
            "num_context_images": float(np.count_nonzero(np.isfinite(ratio))),
            "num_context_empty_maps": float(np.count_nonzero(np.isfinite(ratio) & ~valid)),
        }
        return {f"{keys.CONTEXT_PREFIX}{k}": v for k, v in out.items()}
