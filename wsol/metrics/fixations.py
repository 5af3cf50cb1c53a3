"""Fixation points, fixation maps and the centre-bias baseline.

Fixations are ``(M, 2)`` arrays of ``(x, y)`` = (column, row) in 0-based pixel
coordinates of the image (fixation-map) grid. A real-valued point is assigned to the
pixel ``(floor(y), floor(x))``, so pixel ``i`` covers ``[i, i + 1)``; this equals
pysaliency's ``int(x)`` for the non-negative coordinates that are allowed. Integer
coordinates are used as they are. Points outside ``[0, W) x [0, H)`` are an error.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter

from wsol.errors import DataError
from wsol.metrics.maps import ArrayLike, as_numpy


def fixation_pixels(points: ArrayLike, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Row and column indices (int64) of each fixation, duplicates kept, order kept.

    Raises ``DataError`` for an empty list, a wrong shape, non-finite or out-of-image points.
    """
    pts = as_numpy(points)
    if pts.ndim != 2 or pts.shape[1] != 2:
        raise DataError(f"fixations must be an (M, 2) array of (x, y), got shape {pts.shape}")
    if len(pts) == 0:
        raise DataError("no fixations (empty fixation list)")
    pts = pts.astype(np.float64, copy=False)
    if not np.isfinite(pts).all():
        raise DataError("fixations contain NaN or inf")
    cols, rows = np.floor(pts[:, 0]).astype(np.int64), np.floor(pts[:, 1]).astype(np.int64)
    h, w = shape
    bad = (cols < 0) | (cols >= w) | (rows < 0) | (rows >= h)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"{int(bad.sum())} fixations lie outside the {w}x{h} image, "
            f"e.g. (x={pts[i, 0]:g}, y={pts[i, 1]:g})"
        )
    return rows, cols


def binary_fixation_map(points: ArrayLike, shape: tuple[int, int]) -> np.ndarray:
    """``(H, W)`` uint8 map with 1 at every fixated pixel (repeated fixations collapse)."""
    rows, cols = fixation_pixels(points, shape)
    out = np.zeros(shape, dtype=np.uint8)
    out[rows, cols] = 1
    return out


def fixation_map(points: ArrayLike, shape: tuple[int, int], sigma: float) -> np.ndarray:
    """Continuous fixation map: the binary fixation map blurred with a Gaussian.

    ``scipy.ndimage.gaussian_filter(binary, sigma, mode="reflect", truncate=4.0)`` on the
    float64 binary map: a separable kernel sampled at integer offsets up to
    ``round(4 * sigma)`` and normalised to sum 1, borders mirrored with the edge pixel
    repeated. The result is not rescaled. ``sigma`` is in pixels (the golden set uses
    ``W / 32``). Repeated fixations add no weight. This is the construction of the
    golden set's ``fixmap_cont``; the MIT benchmark itself blurs with ``antonioGaussian``
    (a cyclic Fourier-domain filter), which wsol does not reproduce.
    """
    if not sigma > 0:
        raise DataError(f"fixation_map: sigma must be > 0 pixels, got {sigma}")
    binary = binary_fixation_map(points, shape).astype(np.float64)
    return gaussian_filter(binary, sigma, mode="reflect", truncate=4.0)


def center_bias(shape: tuple[int, int], sigma_frac: float = 0.3) -> np.ndarray:
    """Centred Gaussian baseline of peak 1 for information gain.

    ``exp(-((r - (H-1)/2)^2 / (2 (s H)^2) + (c - (W-1)/2)^2 / (2 (s W)^2)))`` with
    ``s = sigma_frac`` (0.3 in the golden set); strictly positive everywhere.
    """
    if not sigma_frac > 0:
        raise DataError(f"center_bias: sigma_frac must be > 0, got {sigma_frac}")
    h, w = shape
    dr = (np.arange(h) - (h - 1) / 2) / (sigma_frac * h)
    dc = (np.arange(w) - (w - 1) / 2) / (sigma_frac * w)
    return np.exp(-0.5 * (dr[:, None] ** 2 + dc[None, :] ** 2))
