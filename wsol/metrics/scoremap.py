"""Score maps as wsolevaluation evaluates them: target-class map, resize, normalise.

Reference: clovaai/wsolevaluation (commit 96f4b88), ``inference.CAMComputer`` and
``inference.normalize_scoremap``: the raw CAM is cast to float64, resized to the
evaluation resolution with ``cv2.resize(..., interpolation=cv2.INTER_CUBIC)`` and
min-max normalised per image; a map containing NaN, or a constant map, becomes all
zeros. The threshold grid is ``np.arange(0, 1, cam_curve_interval)``.

wsol accepts float32/float64 numpy arrays and torch tensors; equal values give equal
numbers because every input is cast to float64 before the resize (the reference also
resizes float64, see ``util.t2n``). Unlike the reference, the NaN/constant cases are
reported (``PreparedMap.status``) so evaluations can count them.

Caveat kept for exactness: the zero-map rule applies to the *resized* map. For some
values, bicubic resizing of a constant raw map leaves 1-ulp rounding noise (e.g. 0.3 in
float64), which normalisation then stretches to [0, 1], as in the reference.

Maps prepared elsewhere (``input_maps="prepared"``, the reference's ``evaluate_wsol``
path that reads saved ``.npy`` maps) are used as given after the checks of
``util.check_scoremap_validity``: 2-D, no NaN, values in [0, 1]; wsol also requires the
evaluation resolution. A constant prepared map (all zeros, say) is scored as given, like
the reference, and reported as ``"constant"`` so that it counts in ``n_constant_maps``.
:func:`read_scoremap` reads a saved map, turning a truncated, empty or non-numeric
``.npy`` file into a one-line :class:`~wsol.errors.DataError` naming the file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Literal

import cv2
import numpy as np

from wsol.errors import DataError
from wsol.metrics.maps import as_numpy

MapStatus = Literal["ok", "nan", "constant"]
InputMaps = Literal["raw", "prepared"]
INPUT_MAPS = ("raw", "prepared")


@dataclass(frozen=True)
class PreparedMap:
    """A score map ready for evaluation.

    Attributes:
        scoremap: ``(R, R)`` float64 map with values in [0, 1].
        status: ``"ok"``, or ``"nan"`` / ``"constant"`` when a raw map became all zeros
            (or a prepared map is constant, which is scored as given).
    """

    scoremap: np.ndarray
    status: MapStatus


def cam_thresholds(interval: float) -> np.ndarray:
    """The reference threshold grid ``np.arange(0, 1, interval)`` (float64, 1 excluded)."""
    if not 0 < interval < 1:
        raise ValueError(f"cam_curve_interval must be in (0, 1), got {interval}")
    return np.arange(0, 1, interval)


def to_float64(raw: Any, copy: bool = True) -> np.ndarray:
    """A float64 numpy copy of a numpy array or torch tensor (any device, any float);
    with ``copy=False`` a float64 numpy array comes back as it is.

    Raises ``ValueError`` for non-numeric dtypes (dates, strings, objects), which numpy
    would otherwise convert into meaningless numbers.
    """
    array = as_numpy(raw)
    if not (array.dtype == np.bool_ or np.issubdtype(array.dtype, np.number)) or np.iscomplexobj(array):
        raise ValueError(f"a score map must be real numbers, got dtype {array.dtype}")
    return array.astype(np.float64, copy=copy)


def target_class_map(class_maps: Any, class_index: int) -> np.ndarray:
    """The ``(h, w)`` map of ``class_index`` from ``(K, h, w)`` per-class maps, as float64."""
    maps = to_float64(class_maps)
    if maps.ndim != 3:
        raise ValueError(f"per-class maps must be (K, h, w), got shape {maps.shape}")
    return maps[class_index]


def normalize_scoremap(scoremap: np.ndarray) -> PreparedMap:
    """Per-image min-max normalisation (``inference.normalize_scoremap``), in float64.

    ``(x - min) / max(x - min)``; a map with a NaN or a constant map becomes zeros.
    """
    cam = np.array(scoremap, dtype=np.float64)
    if np.isnan(cam).any():
        return PreparedMap(np.zeros_like(cam), "nan")
    if cam.min() == cam.max():
        return PreparedMap(np.zeros_like(cam), "constant")
    cam -= cam.min()
    cam /= cam.max()
    return PreparedMap(cam, "ok")


def prepare_scoremap(raw: Any, resolution: int = 224) -> PreparedMap:
    """Raw ``(h, w)`` map -> bicubic resize to ``resolution`` x ``resolution`` -> normalise.

    Args:
        raw: ``(h, w)`` numpy array or torch tensor, any float dtype and size.
        resolution: side of the evaluation grid (224 in wsolevaluation).
    """
    cam = to_float64(raw)
    if cam.ndim != 2 or cam.size == 0:
        raise ValueError(f"a score map must be a non-empty 2-D array, got shape {cam.shape}")
    resized = cv2.resize(cam, (resolution, resolution), interpolation=cv2.INTER_CUBIC)
    return normalize_scoremap(resized)


def check_prepared_scoremap(scoremap: Any, resolution: int = 224) -> PreparedMap:
    """A map prepared elsewhere, as float64, after ``check_scoremap_validity``'s checks.

    A float64 numpy map is used as given (not copied): the metrics only read it.
    """
    cam = to_float64(scoremap, copy=False)
    if cam.shape != (resolution, resolution):
        raise ValueError(f"a prepared score map must be {resolution}x{resolution}, got shape {cam.shape}")
    low, high = cam.min(), cam.max()  # NaN propagates into both
    if np.isnan(low) or np.isnan(high):
        raise ValueError("a prepared score map must not contain NaN")
    if low < 0 or high > 1:
        raise ValueError(f"a prepared score map must lie in [0, 1], got [{low}, {high}]")
    return PreparedMap(cam, "constant" if low == high else "ok")


def read_scoremap(path: str | os.PathLike) -> np.ndarray:
    """The score map saved at ``path`` (``.npy``), or a :class:`DataError` naming the file
    when it is missing, truncated, empty, not a ``.npy`` file or not real numbers."""
    try:
        array = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise DataError(f"score map not found: {path}") from None
    except (ValueError, EOFError, OSError) as err:  # numpy's messages for bad headers and data
        message = (str(err) or type(err).__name__).splitlines()[0]
        raise DataError(f"cannot read score map {path}: {message}") from None
    if not isinstance(array, np.ndarray):
        raise DataError(f"score map {path} holds several arrays (.npz); save one array with np.save")
    try:
        to_float64(array[:0])
    except ValueError as err:
        raise DataError(f"score map {path}: {err}") from None
    if array.ndim != 2 or array.size == 0:
        raise DataError(f"score map {path} must be a non-empty 2-D array, got shape {array.shape}")
    return array


def load_scoremap(map_: Any, resolution: int, input_maps: InputMaps) -> PreparedMap:
    """:func:`prepare_scoremap` for raw maps, :func:`check_prepared_scoremap` for prepared ones."""
    if input_maps == "raw":
        return prepare_scoremap(map_, resolution)
    return check_prepared_scoremap(map_, resolution)
