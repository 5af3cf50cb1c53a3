"""Peak-in-part rate: how often a heatmap's maximum falls on a named part (and on the object).

A pointing-game style diagnostic (Zhang et al., "Top-down Neural Attention by
Excitation Backprop", ECCV 2016) measured on a part mask: per image, with ``h`` the
heatmap at the original resolution, ``p = argmax h`` (the first maximum in row-major
order), ``P`` the part mask and ``O`` the object mask::

    hit_part   = P[p]        peak_in_part/part_rate   = mean(hit_part)
    hit_object = O[p]        peak_in_part/object_rate = mean(hit_object)

in %. On the Oxford-IIIT Pet sample the part is the head box (``part_masks["cue"]``), so
``part_rate`` says how often a breed classifier's map peaks on the head. Differences
from the pointing game: no 15-pixel tolerance around the mask, and a hit needs the
single peak pixel inside the mask. A constant map peaks at pixel (0, 0). There is no
reference implementation; this is wsol's own diagnostic.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from wsol.data.sample import Sample
from wsol.errors import DataError
from wsol.metrics import METRICS
from wsol.metrics.base import MetricAccumulator, check_batch, map_at_image_size


def peak_hits(heatmap: np.ndarray, part_mask: np.ndarray, object_mask: np.ndarray) -> tuple[bool, bool]:
    """Whether the first maximum of ``heatmap`` lies in ``part_mask`` and in ``object_mask``."""
    if heatmap.shape != part_mask.shape or heatmap.shape != object_mask.shape:
        raise ValueError(
            f"heatmap {heatmap.shape} and masks {part_mask.shape}, {object_mask.shape} differ in shape"
        )
    if np.isnan(heatmap).any():
        raise ValueError("heatmap has NaN values")
    peak = np.unravel_index(int(np.argmax(heatmap)), heatmap.shape)
    return bool(part_mask[peak]), bool(object_mask[peak])


@METRICS.register("peak_in_part")
class PeakInPart(MetricAccumulator):
    """Streaming :func:`peak_hits` over a split; see the module docstring.

    ``update`` resizes each raw map to its image's original size (OpenCV bilinear) before
    taking the peak. Result keys: ``peak_in_part/part_rate`` and ``peak_in_part/object_rate``
    (in %), ``peak_in_part/num_images``; per image ``peak_in_part`` and ``peak_in_object``.

    Args:
        part: name of the part mask in ``Sample.part_masks`` (default ``cue``).
    """

    requires = frozenset({"parts", "masks"})

    def __init__(self, part: str = "cue") -> None:
        super().__init__()
        self.part = part
        self._add_row("peak_in_part", bool)
        self._add_row("peak_in_object", bool)

    def update(
        self, maps: Sequence[Any], targets: Sequence[Sample], predictions: Sequence[int] | None = None
    ) -> None:
        check_batch(maps, targets, predictions)
        hits = []
        for raw, target in zip(maps, targets, strict=True):
            part, obj = target.part_masks.get(self.part), target.mask
            if part is None or obj is None:
                raise DataError(f"{target.image_id}: no {self.part!r} part mask or no object mask")
            try:
                hits.append(peak_hits(map_at_image_size(raw, target.size), part, obj))
            except ValueError as err:
                raise DataError(f"{target.image_id}: {err}") from None
        self._append_rows(
            image_id=[t.image_id for t in targets],
            peak_in_part=[h[0] for h in hits],
            peak_in_object=[h[1] for h in hits],
        )

    def per_image(self) -> dict[str, np.ndarray]:
        return {k: self.rows(k) for k in ("image_id", "peak_in_part", "peak_in_object")}

    def compute(self) -> dict[str, float]:
        part, obj = self.rows("peak_in_part"), self.rows("peak_in_object")
        rate = (lambda hits: 100.0 * float(hits.mean())) if part.size else (lambda hits: float("nan"))
        return {
            "peak_in_part/part_rate": rate(part),
            "peak_in_part/object_rate": rate(obj),
            "peak_in_part/num_images": float(part.size),
        }
