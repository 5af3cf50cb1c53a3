"""Base class of the streaming metric accumulators (see :mod:`wsol.metrics` for the contract)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import cv2
import numpy as np

from wsol.data.sample import Sample
from wsol.errors import ConfigError, DataError, WSOLError, check_choice
from wsol.metrics.scoremap import INPUT_MAPS, cam_thresholds


class MetricAccumulator(ABC):
    """Streams ``update`` calls into additive state; ``compute`` reports the numbers.

    The state has three parts, all numpy arrays so that it can be sent between
    processes: *config* (must be equal to merge, e.g. the threshold grid), *sums*
    (integer counts and histograms, added on merge) and *rows* (per-image values or
    pooled multisets, concatenated on merge; the image ids are in ``rows/image_id`` and
    an image may be evaluated only once). Integer sums make a sharded evaluation give the same numbers
    as a single pass, to the last bit. Subclasses declare their arrays in ``__init__``
    with :meth:`_add_config`, :meth:`_add_sum` and :meth:`_add_row`.
    """

    requires: ClassVar[frozenset[str]] = frozenset()

    def __init__(self) -> None:
        self._config: dict[str, np.ndarray] = {}
        self._sums: dict[str, np.ndarray] = {}
        self._rows: dict[str, list[np.ndarray]] = {}
        self._row_types: dict[str, type] = {}
        self._seen: set[str] = set()
        self._add_row("image_id", str)

    @abstractmethod
    def update(
        self, maps: Sequence[Any], targets: Sequence[Sample], predictions: Sequence[int] | None = None
    ) -> None:
        """Add a batch of raw ``(h, w)`` maps with their ground truth (and predicted classes)."""

    @abstractmethod
    def compute(self) -> dict[str, Any]:
        """Flat dict of named numbers (floats) and curves (numpy arrays)."""

    def state(self) -> dict[str, np.ndarray]:
        """All state as numpy arrays, keyed ``config/...``, ``sums/...`` and ``rows/...``."""
        out = {f"config/{k}": v.copy() for k, v in self._config.items()}
        out.update({f"sums/{k}": v.copy() for k, v in self._sums.items()})
        out.update({f"rows/{k}": self.rows(k) for k in self._rows})
        return out

    def merge_state(self, state: Mapping[str, np.ndarray]) -> None:
        """Add the state of another accumulator built with the same options."""
        name = type(self).__name__
        mismatch = set(state) ^ set(self.state())
        if mismatch:
            raise WSOLError(f"{name}: cannot merge a state with different keys {sorted(mismatch)}")
        for key, value in self._config.items():
            if not np.array_equal(value, state[f"config/{key}"]):
                raise WSOLError(f"{name}: cannot merge a state built with a different {key!r}")
        self._register_images(state["rows/image_id"].tolist())
        for key, total in self._sums.items():
            total += np.asarray(state[f"sums/{key}"], dtype=total.dtype)
        for key, parts in self._rows.items():
            parts.append(np.asarray(state[f"rows/{key}"], dtype=self._row_types[key]))

    def reset(self) -> None:
        """Forget every update and merge (the config is kept)."""
        for total in self._sums.values():
            total[...] = 0
        for key in self._rows:
            self._rows[key] = [np.zeros(0, dtype=self._row_types[key])]
        self._seen.clear()

    def rows(self, key: str) -> np.ndarray:
        """All values of the per-image row ``key``, in the order the images were added."""
        return np.concatenate(self._rows[key])

    def _add_config(self, key: str, value: np.ndarray) -> None:
        self._config[key] = np.asarray(value)

    def _add_sum(self, key: str, shape: tuple[int, ...] = ()) -> None:
        self._sums[key] = np.zeros(shape, dtype=np.int64)

    def _add_row(self, key: str, dtype: type) -> None:
        self._rows[key] = [np.zeros(0, dtype=dtype)]
        self._row_types[key] = dtype

    def _append_rows(self, **values: Sequence[Any]) -> None:
        """Append one batch of values to every row (``image_id`` included)."""
        self._register_images(list(values["image_id"]))
        for key, parts in self._rows.items():
            parts.append(np.asarray(values[key], dtype=self._row_types[key]))

    def _register_images(self, image_ids: list[str]) -> None:
        new: set[str] = set()
        for image_id in image_ids:
            if image_id in self._seen or image_id in new:
                raise DataError(f"{image_id}: image evaluated twice")
            new.add(image_id)
        self._seen |= new


def check_batch(maps: Sequence[Any], targets: Sequence[Sample], predictions: Sequence[int] | None) -> None:
    """Equal batch lengths, else a one-line error."""
    if len(maps) != len(targets):
        raise WSOLError(f"got {len(maps)} maps for {len(targets)} targets")
    if predictions is not None and len(predictions) != len(targets):
        raise WSOLError(f"got {len(predictions)} predictions for {len(targets)} targets")


def image_size(target: Sample) -> tuple[int, int]:
    """``(W, H)`` of the original image, validated."""
    width, height = (int(v) for v in target.size)
    if width <= 0 or height <= 0:
        raise DataError(f"{target.image_id}: invalid image size {target.size}")
    return width, height


def threshold_grid(cam_curve_interval: float, resolution: int, input_maps: str) -> np.ndarray:
    """Validate the options shared by the map metrics; return the threshold grid."""
    if resolution <= 0:
        raise ConfigError(f"resolution must be positive, got {resolution}")
    check_choice(input_maps, INPUT_MAPS, "input_maps")
    try:
        return cam_thresholds(cam_curve_interval)
    except ValueError as e:
        raise ConfigError(str(e)) from None


def map_at_image_size(raw: Any, size: tuple[int, int]) -> np.ndarray:
    """``raw`` (numpy or torch, ``(h, w)``) as float64 resized bilinearly to ``size`` (W, H)."""
    if hasattr(raw, "detach"):
        raw = raw.detach().cpu().numpy()
    heatmap = np.asarray(raw, dtype=np.float64)
    if heatmap.ndim != 2:
        raise ValueError(f"expected an (h, w) map, got shape {heatmap.shape}")
    if (heatmap.shape[1], heatmap.shape[0]) != tuple(size):
        heatmap = cv2.resize(heatmap, tuple(size), interpolation=cv2.INTER_LINEAR)
    return heatmap


def finite_map_at_image_size(raw: Any, target: Sample) -> np.ndarray:
    """:func:`map_at_image_size` at ``target``'s size; a map with NaN is a DataError naming the image."""
    heatmap = map_at_image_size(raw, target.size)
    if np.isnan(heatmap).any():
        raise DataError(f"{target.image_id}: heatmap has NaN values")
    return heatmap


class PartShareAccumulator(MetricAccumulator):
    """Per-image shares of a heatmap on a named part mask (``Sample.part_masks[part]``).

    Subclasses name their per-image columns in ``fields`` and compute one image's values,
    in that order, in :meth:`_share`; ``update`` appends them with the image ids, and
    ``per_image`` returns every row.
    """

    fields: ClassVar[tuple[str, ...]] = ()

    def __init__(self, part: str) -> None:
        super().__init__()
        self.part = part
        for name in self.fields:
            self._add_row(name, float)

    def update(
        self, maps: Sequence[Any], targets: Sequence[Sample], predictions: Sequence[int] | None = None
    ) -> None:
        check_batch(maps, targets, predictions)
        shares = [self._share(raw, target) for raw, target in zip(maps, targets, strict=True)]
        columns = {f: [share[i] for share in shares] for i, f in enumerate(self.fields)}
        self._append_rows(image_id=[t.image_id for t in targets], **columns)

    @abstractmethod
    def _share(self, raw: Any, target: Sample) -> tuple[float, ...]:
        """One image's values of ``fields``, from its raw map and ground truth."""

    def per_image(self) -> dict[str, np.ndarray]:
        return {"image_id": self.rows("image_id"), **{f: self.rows(f) for f in self.fields}}
