"""Partial-highlighting diagnostic: how much of a heatmap's mass sits on the cue part.

WSOL classifiers tend to highlight only the most discriminative part of an object
(Singh & Lee, "Hide-and-Seek", ICCV 2017; Choe & Shim, "ADL", CVPR 2019). On datasets
with a part mask for that part (SynthParts' ``cue``), this measures it per image. With
``h >= 0`` the heatmap at the original resolution, ``C`` the cue-part mask and ``O`` the
object mask::

    cue_share           = sum(h * C) / sum(h)         share of all heat on the cue part
    object_share        = sum(h * O) / sum(h)         share of all heat on the object
    cue_share_in_object = sum(h * C) / sum(h * O)     share of the object's heat on the cue
    cue_area_ratio      = |C| / |O|                   what that share is for uniform heat

A map spread evenly over the object has ``cue_share_in_object == cue_area_ratio``; partial
highlighting shows as ``cue_share_in_object`` far above ``cue_area_ratio``. The summary
``partial_highlighting_index = mean(cue_share_in_object) / mean(cue_area_ratio)`` is 1 for
evenly spread maps. There is no reference implementation; this is wsol's own diagnostic.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from wsol.data.sample import Sample
from wsol.errors import DataError
from wsol.metrics import METRICS
from wsol.metrics.base import PartShareAccumulator, finite_map_at_image_size

_FIELDS = ("cue_share", "object_share", "cue_area_ratio")


class CueShare(NamedTuple):
    """Per-image shares (NaN where the map, or its mass on the object, is zero)."""

    cue_share: float
    object_share: float
    cue_area_ratio: float

    @property
    def cue_share_in_object(self) -> float:
        return self.cue_share / self.object_share if self.object_share > 0 else float("nan")


def cue_share(heatmap: np.ndarray, cue_mask: np.ndarray, object_mask: np.ndarray) -> CueShare:
    """Shares of ``heatmap`` (non-negative, same shape as the masks) on the cue and object."""
    if heatmap.shape != cue_mask.shape or heatmap.shape != object_mask.shape:
        raise ValueError(
            f"heatmap {heatmap.shape} and masks {cue_mask.shape}, {object_mask.shape} differ in shape"
        )
    if not np.all(heatmap >= 0):
        raise ValueError("heatmap has negative or NaN values")
    cue, obj = cue_mask.astype(bool), object_mask.astype(bool)
    area = np.count_nonzero(obj)
    ratio = np.count_nonzero(cue) / area if area else float("nan")
    total = float(heatmap.sum(dtype=np.float64))
    if total <= 0:
        return CueShare(float("nan"), float("nan"), ratio)
    on_cue = float(heatmap[cue].sum(dtype=np.float64))
    on_object = float(heatmap[obj].sum(dtype=np.float64))
    return CueShare(on_cue / total, on_object / total, ratio)


@METRICS.register("partial_highlighting")
class PartialHighlighting(PartShareAccumulator):
    """Streaming :func:`cue_share` over a split; see the module docstring.

    ``update`` resizes each raw map to its image's original size with OpenCV bilinear
    interpolation, then clips negative values to 0. Images whose map has no mass (or no
    mass on the object) are counted in ``partial/num_empty_maps`` and left out of the
    means. Result keys start with ``partial/``.

    Args:
        part: name of the part mask in ``Sample.part_masks`` to measure (default ``cue``).
    """

    requires = frozenset({"parts", "masks"})  # the cue part mask and the object mask

    fields = _FIELDS

    def __init__(self, part: str = "cue") -> None:
        super().__init__(part)

    def _share(self, raw: Any, target: Sample) -> CueShare:
        cue, obj = target.part_masks.get(self.part), target.mask
        if cue is None or obj is None:
            raise DataError(f"{target.image_id}: no {self.part!r} part mask or no object mask")
        return cue_share(np.maximum(finite_map_at_image_size(raw, target), 0.0), cue, obj)

    def compute(self) -> dict[str, float]:
        rows = np.stack([self.rows(f) for f in _FIELDS], axis=1)
        in_object = np.array([CueShare(*row).cue_share_in_object for row in rows])
        valid = np.isfinite(in_object)
        means = {
            f: float(rows[valid, i].mean()) if valid.any() else float("nan") for i, f in enumerate(_FIELDS)
        }
        means["cue_share_in_object"] = float(in_object[valid].mean()) if valid.any() else float("nan")
        index = means["cue_share_in_object"] / means["cue_area_ratio"] if valid.any() else float("nan")
        out = {
            **means,
            "partial_highlighting_index": index,
            "num_empty_maps": float(np.count_nonzero(~valid)),
        }
        return {f"partial/{k}": v for k, v in out.items()}
