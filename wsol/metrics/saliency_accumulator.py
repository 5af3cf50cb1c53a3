"""Streaming evaluation of score maps against eye fixations (METRICS member ``"saliency"``)."""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import numpy as np

from wsol.data.sample import Sample
from wsol.errors import ConfigError, DataError, did_you_mean
from wsol.metrics import METRICS
from wsol.metrics.fixations import center_bias, fixation_map
from wsol.metrics.imresize import imresize
from wsol.metrics.maps import ArrayLike, as_map, min_max
from wsol.metrics.saliency import (
    Convention,
    auc_borji,
    auc_judd,
    cc,
    check_convention,
    info_gain,
    kld,
    nss,
    sim,
)

_POINT_METRICS = {"auc_judd": auc_judd, "auc_borji": auc_borji, "nss": nss}
_RANDOM_METRICS = frozenset({"auc_judd", "auc_borji"})
_MAP_METRICS = {"cc": cc, "kld": kld, "sim": sim}
SALIENCY_METRICS = (*_POINT_METRICS, *_MAP_METRICS, "info_gain")


@METRICS.register("saliency")
class SaliencyMetrics:
    """Per-image fixation metrics of :mod:`wsol.metrics.saliency`, averaged over images.

    For each image the raw map is resized once to the original image size ``(H, W)``
    with MATLAB bicubic ``imresize`` (as the MIT code does), optionally min-max
    normalised, and scored against the Sample's ``fixations`` (all point metrics) and
    continuous ``fixation_map`` (CC, KLD, SIM). Information gain uses the centred
    Gaussian :func:`~wsol.metrics.fixations.center_bias` baseline.

    Where wsol deliberately differs from the MIT benchmark scripts:

    * ``normalize`` (default True) min-max normalises each non-constant map to [0, 1]
      first, as wsol does for every CAM. Under the MIT convention every metric here
      except KLD is invariant to that (they min-max or standardise internally), and
      MIT's KLD is undefined (complex) for the negative values raw CAMs often have.
      Under the pysaliency convention SIM and IG change too (they use the values as a
      density without min-max).
    * A metric that is undefined for an image (NaN: a constant map under the MIT
      convention) is left out of that metric's mean and counted in ``<metric>_nan``
      (MATLAB's ``mean`` would return NaN for the whole set).
    * The random metrics use a generator seeded by ``(seed, crc32(image_id))``, so
      results do not depend on batch order or sharding.
    * A Sample without ``fixation_map`` gets :func:`~wsol.metrics.fixations.fixation_map`
      with ``fixation_sigma`` pixels (default ``W / 32``); the MIT benchmark instead
      ships maps made with its own blur.
    * Shuffled AUC is not offered: it needs the fixations of other images, which a
      single-pass accumulator does not see; call
      :func:`~wsol.metrics.saliency.auc_shuffled` directly.

    Args:
        metrics: which of ``auc_judd, auc_borji, nss, cc, kld, sim, info_gain`` to compute.
        convention: ``"mit"`` or ``"pysaliency"`` semantics (see :mod:`wsol.metrics.saliency`).
        normalize: min-max normalise each map first.
        fixation_sigma: blur (pixels) for Samples without a ``fixation_map``.
        center_bias_sigma: the baseline's sigma as a fraction of H and W.
        seed: seed of the random metrics.
    """

    requires = frozenset({"fixations"})

    def __init__(
        self,
        metrics: Sequence[str] = SALIENCY_METRICS,
        convention: Convention = "mit",
        normalize: bool = True,
        fixation_sigma: float | None = None,
        center_bias_sigma: float = 0.3,
        seed: int = 0,
    ) -> None:
        for name in metrics:
            if name not in SALIENCY_METRICS:
                hint = did_you_mean(name, SALIENCY_METRICS) or f" (known: {', '.join(SALIENCY_METRICS)})"
                raise ConfigError(f"metrics: unknown saliency metric {name!r}{hint}")
        check_convention(convention)
        self.metrics = tuple(metrics)
        self.convention = convention
        self.normalize = normalize
        self.fixation_sigma = fixation_sigma
        self.center_bias_sigma = center_bias_sigma
        self.seed = seed
        self._rows: dict[str, np.ndarray] = {}

    def update(
        self, maps: Sequence[ArrayLike], targets: Sequence[Sample], predictions: Sequence[int] | None = None
    ) -> None:
        """Score a batch of ``(h, w)`` maps against their Samples."""
        if len(maps) != len(targets):
            raise DataError(f"saliency metrics: {len(maps)} maps for {len(targets)} samples")
        for score_map, sample in zip(maps, targets, strict=True):
            if sample.image_id in self._rows:
                raise DataError(f"{sample.image_id}: image scored twice")
            try:
                self._rows[sample.image_id] = self._score(score_map, sample)
            except DataError as err:
                raise DataError(f"{sample.image_id}: {err}") from None

    def _score(self, score_map: ArrayLike, sample: Sample) -> np.ndarray:
        points = sample.fixations
        if points is None or len(points) == 0:
            raise DataError("no fixations")
        shape = _image_shape(sample)
        smap = imresize(as_map(score_map), shape)
        if self.normalize and smap.max() > smap.min():
            smap = min_max(smap)
        rng = np.random.default_rng([self.seed, zlib.crc32(sample.image_id.encode())])
        fmap = self._fixation_map(sample, shape) if set(self.metrics) & set(_MAP_METRICS) else None
        values = []
        for name in self.metrics:
            if name in _MAP_METRICS:
                values.append(_MAP_METRICS[name](smap, fmap, convention=self.convention))
            elif name == "info_gain":
                base = center_bias(shape, self.center_bias_sigma)
                values.append(info_gain(smap, points, base, convention=self.convention))
            else:
                extra = {"rng": rng} if name in _RANDOM_METRICS else {}
                values.append(_POINT_METRICS[name](smap, points, convention=self.convention, **extra))
        return np.array(values, dtype=np.float64)

    def _fixation_map(self, sample: Sample, shape: tuple[int, int]) -> np.ndarray:
        if sample.fixation_map is None:
            sigma = self.fixation_sigma if self.fixation_sigma is not None else shape[1] / 32
            return fixation_map(sample.fixations, shape, sigma)
        fmap = as_map(sample.fixation_map, "fixation map")
        if fmap.shape != shape:
            raise DataError(f"fixation map has shape {fmap.shape}, image is {shape}")
        return fmap

    def state(self) -> dict[str, np.ndarray]:
        """Per-image rows: ``image_ids`` (n,), ``values`` (n, len(metrics)), ``metrics``."""
        return {
            "image_ids": np.array(list(self._rows), dtype=str),
            "values": np.array(list(self._rows.values()), dtype=np.float64).reshape(-1, len(self.metrics)),
            "metrics": np.array(self.metrics, dtype=str),
        }

    def merge_state(self, state: dict[str, np.ndarray]) -> None:
        """Add the rows of another accumulator's ``state()`` (e.g. another process)."""
        if tuple(state["metrics"]) != self.metrics:
            theirs = tuple(state["metrics"])
            raise ConfigError(f"cannot merge saliency states over {theirs} into {self.metrics}")
        for image_id, row in zip(state["image_ids"], state["values"], strict=True):
            if str(image_id) in self._rows:
                raise DataError(f"{image_id}: image scored twice (in two merged states)")
            self._rows[str(image_id)] = np.asarray(row, dtype=np.float64)

    def reset(self) -> None:
        """Forget every image scored or merged."""
        self._rows = {}

    def per_image(self) -> dict[str, dict[str, float]]:
        """``{image_id: {metric: value}}`` for every image scored so far."""
        return {i: dict(zip(self.metrics, map(float, row), strict=True)) for i, row in self._rows.items()}

    def compute(self) -> dict[str, float]:
        """Mean of each metric over the images where it is defined, ``<metric>_nan`` counts
        the images where it is not, and ``n_images``."""
        values = self.state()["values"]
        out: dict[str, float] = {"n_images": float(len(values))}
        for j, name in enumerate(self.metrics):
            column = values[:, j]
            defined = column[~np.isnan(column)]
            out[name] = float(defined.mean()) if defined.size else float("nan")
            out[f"{name}_nan"] = float(column.size - defined.size)
        return out


def _image_shape(sample: Sample) -> tuple[int, int]:
    """``(H, W)`` of the original image: from ``size``, else from the fixation map."""
    if sample.size != (0, 0):
        return (int(sample.size[1]), int(sample.size[0]))
    if sample.fixation_map is not None:
        return tuple(np.shape(sample.fixation_map))
    raise DataError("unknown image size (no size, image or fixation map)")
