"""MATLAB-compatible bicubic ``imresize`` for 2-D maps.

The MIT saliency benchmark code (cvzoya/saliency, ``code_forMetrics``) resizes a
saliency map to the fixation-map size with MATLAB's ``imresize(map, [H W])``, whose
defaults are:

* Keys' cubic convolution kernel with a = -0.5:
  ``k(t) = 1.5|t|^3 - 2.5|t|^2 + 1`` for ``|t| <= 1``,
  ``-0.5|t|^3 + 2.5|t|^2 - 4|t| + 2`` for ``1 < |t| <= 2``, else 0;
* half-pixel centres: output pixel ``i`` (0-based) samples the source at
  ``(i + 0.5) / s - 0.5`` with ``s = out / in`` per axis;
* anti-aliasing when shrinking (``s < 1``): the kernel becomes ``s * k(s * t)`` and its
  support widens by ``1 / s``;
* each output pixel's weights normalised to sum to 1;
* borders extended by half-sample symmetric mirroring (``... c b a | a b c ...``);
* separable: each axis is resized on its own.

This is an independent numpy implementation of that algorithm. Each axis becomes a
dense ``(out, in)`` weight matrix, so a resize is two matrix products. Equal input and
output sizes give the identity exactly (weights ``[0, 1, 0, ...]``), which is why the
function returns the input unchanged then. Checked against GNU Octave's ``imresize``
(image package 2.14, which reproduces MATLAB's algorithm) to 1e-14 on the golden
cases; not checked against MATLAB itself.
"""

from __future__ import annotations

import numpy as np

from wsol.errors import DataError


def cubic_kernel(t: np.ndarray) -> np.ndarray:
    """Keys' cubic convolution kernel with a = -0.5 (MATLAB's ``cubic``)."""
    a = np.abs(t)
    a2, a3 = a * a, a * a * a
    near = (1.5 * a3 - 2.5 * a2 + 1.0) * (a <= 1)
    far = (-0.5 * a3 + 2.5 * a2 - 4.0 * a + 2.0) * ((a > 1) & (a <= 2))
    return near + far


def resize_weights(in_size: int, out_size: int) -> np.ndarray:
    """The ``(out_size, in_size)`` matrix that resizes one axis as MATLAB ``imresize`` does."""
    scale = out_size / in_size
    stretch = min(scale, 1.0)  # anti-aliasing: widen the kernel when shrinking
    width = 4.0 / stretch
    centres = (np.arange(out_size) + 0.5) / scale - 0.5
    taps = int(np.ceil(width)) + 2
    index = np.floor(centres - width / 2)[:, None].astype(np.int64) + np.arange(taps)
    weights = stretch * cubic_kernel(stretch * (centres[:, None] - index))
    weights /= weights.sum(axis=1, keepdims=True)
    period = 2 * in_size  # half-sample symmetric mirroring
    folded = np.mod(index, period)
    folded = np.where(folded >= in_size, period - 1 - folded, folded)
    matrix = np.zeros((out_size, in_size))
    np.add.at(matrix, (np.repeat(np.arange(out_size), taps), folded.ravel()), weights.ravel())
    return matrix


def imresize(image: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Resize a 2-D float array to ``shape = (rows, cols)`` like MATLAB ``imresize(image, shape)``.

    Returns float64. The input itself (as float64) is returned when the shapes match.
    """
    image = np.asarray(image, dtype=np.float64)
    out_h, out_w = (int(shape[0]), int(shape[1]))
    if image.ndim != 2 or min(image.shape) < 1 or out_h < 1 or out_w < 1:
        raise DataError(f"imresize: cannot resize an array of shape {image.shape} to {shape}")
    if image.shape == (out_h, out_w):
        return image
    rows = resize_weights(image.shape[0], out_h)
    cols = resize_weights(image.shape[1], out_w)
    return rows @ image @ cols.T
