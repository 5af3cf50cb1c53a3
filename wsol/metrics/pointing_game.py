"""Pointing game (Zhang et al., ECCV 2016) and energy-based pointing game (Wang et al., CVPR-W 2020).

With ``h`` the map resized to the original image (OpenCV bilinear), ``p = argmax h``
(the first maximum in row-major order) and ``G`` the ground-truth region (the union of
the image's boxes, inclusive ends, or its object mask)::

    hit    = any pixel g of G with |g - p|^2 < tolerance^2        pointing_game/accuracy = mean(hit) in %
    energy = sum(h+ * G) / sum(h+)       (h+ = max(h, 0))          energy_pointing_game/energy = mean(energy)

Pointing game ("Top-down neural attention by excitation backprop", ECCV 2016): a hit
is a maximum within ``tolerance`` (15) pixels of the object; reference TorchRay
``torchray/benchmark/pointing_game.py`` (``PointingGame.evaluate``: Euclidean distance,
strict ``<``; several boxes of the class are one union mask). Zhang et al. skip images
whose object covers most of the image ("difficult" set); wsol evaluates every image.
Quantus' ``PointingGame`` is the ``tolerance=1`` case (the maximum inside the mask).

Energy-based pointing game (Wang et al., "Score-CAM", CVPR-W 2020, Sec. 4.2): the
share of the map's energy inside the box. Quantus' ``AttributionLocalisation`` (with
``weighted=False``) computes the same share of positive attribution inside the mask.
Maps without positive mass are counted in ``num_empty_maps`` and left out of the mean.

Both are registered twice, against boxes (``pointing_game``, ``energy_pointing_game``)
and against masks (``..._mask``). Like the model-based faithfulness metrics they also
require the pseudo ground-truth ``"faithfulness"``, so they run when faithfulness
evaluation is asked for.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from wsol.data.sample import Sample
from wsol.errors import ConfigError, DataError
from wsol.metrics import METRICS
from wsol.metrics.base import MetricAccumulator, check_batch, image_size, map_at_image_size


def region_mask(target: Sample, region: str) -> np.ndarray:
    """``(H, W)`` bool ground-truth region: the union of the boxes, or the object mask."""
    width, height = image_size(target)
    if region == "mask":
        if target.mask is None:
            raise DataError(f"{target.image_id}: no object mask for the pointing game")
        return np.asarray(target.mask).astype(bool)
    if len(target.boxes) == 0:
        raise DataError(f"{target.image_id}: no boxes for the pointing game")
    mask = np.zeros((height, width), dtype=bool)
    for x0, y0, x1, y1 in np.asarray(target.boxes):
        mask[int(y0) : int(y1) + 1, int(x0) : int(x1) + 1] = True
    return mask


def pointing_hit(heatmap: np.ndarray, region: np.ndarray, tolerance: float) -> bool:
    """Whether the first maximum of ``heatmap`` lies closer than ``tolerance`` pixels to ``region``."""
    y, x = np.unravel_index(int(np.argmax(heatmap)), heatmap.shape)
    rows, cols = np.nonzero(region)
    return bool(np.any((rows - y) ** 2 + (cols - x) ** 2 < tolerance**2))


def energy_share(heatmap: np.ndarray, region: np.ndarray) -> float:
    """Share of the positive part of ``heatmap`` inside ``region`` (NaN without positive mass)."""
    positive = np.maximum(heatmap, 0.0)
    total = float(positive.sum())
    return float(positive[region].sum()) / total if total > 0 else float("nan")


class _RegionMetric(MetricAccumulator):
    region = "boxes"

    def _maps_and_regions(self, maps: Sequence[Any], targets: Sequence[Sample]) -> list[tuple[Any, Any]]:
        out = []
        for raw, target in zip(maps, targets, strict=True):
            region = region_mask(target, self.region)
            heatmap = map_at_image_size(raw, target.size)
            if region.shape != heatmap.shape:
                raise DataError(f"{target.image_id}: mask is {region.shape}, image is {heatmap.shape}")
            if np.isnan(heatmap).any():
                raise DataError(f"{target.image_id}: heatmap has NaN values")
            out.append((heatmap, region))
        return out


@METRICS.register("pointing_game")
class PointingGame(_RegionMetric):
    """Pointing-game accuracy against the boxes; see the module docstring.

    Result keys ``pointing_game/accuracy`` (in %) and ``pointing_game/num_images``; per image ``hit``.

    Args:
        tolerance: pixels (at the original resolution) the maximum may lie off the object (15).
    """

    requires = frozenset({"faithfulness", "boxes"})
    key = "pointing_game"

    def __init__(self, tolerance: float = 15) -> None:
        super().__init__()
        if tolerance <= 0:
            raise ConfigError(f"{self.key} tolerance must be positive, got {tolerance}")
        self.tolerance = tolerance
        self._add_config("tolerance", np.array(float(tolerance)))
        self._add_row("hit", bool)

    def update(
        self, maps: Sequence[Any], targets: Sequence[Sample], predictions: Sequence[int] | None = None
    ) -> None:
        check_batch(maps, targets, predictions)
        hits = [pointing_hit(h, r, self.tolerance) for h, r in self._maps_and_regions(maps, targets)]
        self._append_rows(image_id=[t.image_id for t in targets], hit=hits)

    def compute(self) -> dict[str, float]:
        hits = self.rows("hit")
        accuracy = 100.0 * float(hits.mean()) if hits.size else float("nan")
        return {f"{self.key}/accuracy": accuracy, f"{self.key}/num_images": float(hits.size)}


@METRICS.register("pointing_game_mask")
class PointingGameMask(PointingGame):
    """:class:`PointingGame` against the object mask (result keys ``pointing_game_mask/...``)."""

    requires = frozenset({"faithfulness", "masks"})
    region, key = "mask", "pointing_game_mask"


@METRICS.register("energy_pointing_game")
class EnergyPointingGame(_RegionMetric):
    """Energy-based pointing game against the boxes; see the module docstring.

    Result keys ``energy_pointing_game/energy`` (mean share, in [0, 1]),
    ``.../num_images`` and ``.../num_empty_maps``; per image ``energy``.
    """

    requires = frozenset({"faithfulness", "boxes"})
    key = "energy_pointing_game"

    def __init__(self) -> None:
        super().__init__()
        self._add_row("energy", float)

    def update(
        self, maps: Sequence[Any], targets: Sequence[Sample], predictions: Sequence[int] | None = None
    ) -> None:
        check_batch(maps, targets, predictions)
        shares = [energy_share(h, r) for h, r in self._maps_and_regions(maps, targets)]
        self._append_rows(image_id=[t.image_id for t in targets], energy=shares)

    def compute(self) -> dict[str, float]:
        energy = self.rows("energy")
        valid = np.isfinite(energy)
        return {
            f"{self.key}/energy": float(energy[valid].mean()) if valid.any() else float("nan"),
            f"{self.key}/num_images": float(energy.size),
            f"{self.key}/num_empty_maps": float(np.count_nonzero(~valid)),
        }


@METRICS.register("energy_pointing_game_mask")
class EnergyPointingGameMask(EnergyPointingGame):
    """:class:`EnergyPointingGame` against the object mask (keys ``energy_pointing_game_mask/...``)."""

    requires = frozenset({"faithfulness", "masks"})
    region, key = "mask", "energy_pointing_game_mask"
