"""Conversion and validation of score maps handed to metrics (numpy or torch, any float)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np

from wsol.errors import DataError

if TYPE_CHECKING:
    import torch

ArrayLike: TypeAlias = "np.ndarray | torch.Tensor"
"""What metrics accept for maps and point lists: a numpy array or a torch tensor."""


def as_numpy(array: Any) -> np.ndarray:
    """A numpy view/copy of a numpy array, torch tensor (any device) or array-like."""
    if hasattr(array, "detach"):  # torch.Tensor, without importing torch here
        array = array.detach().cpu()
        if array.is_floating_point():  # float16 / bfloat16 have no numpy equivalent
            array = array.double()
        array = array.numpy()
    return np.asarray(array)


def as_map(array: ArrayLike, name: str = "saliency map") -> np.ndarray:
    """``array`` as a finite 2-D float64 numpy array; ``DataError`` otherwise."""
    out = as_numpy(array)
    if out.ndim != 2 or out.size == 0:
        raise DataError(f"{name} must be a non-empty 2-D array, got shape {out.shape}")
    if not (
        np.issubdtype(out.dtype, np.floating) or np.issubdtype(out.dtype, np.integer) or out.dtype == np.bool_
    ):
        raise DataError(f"{name} must be numeric, got dtype {out.dtype}")
    out = out.astype(np.float64, copy=False)
    if not np.isfinite(out).all():
        raise DataError(f"{name} has {int((~np.isfinite(out)).sum())} non-finite values (NaN or inf)")
    return out


def min_max(values: np.ndarray) -> np.ndarray:
    """``(v - min) / (max - min)`` as a new array; callers handle constant maps first."""
    lo = values.min()
    out = values - lo
    out /= values.max() - lo
    return out
