"""Small tensor helpers: batch slices, a division safe at zero, per-map min-max scaling."""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import Tensor


def chunks(n: int, size: int) -> Iterator[slice]:
    """Consecutive slices of at most ``size`` covering ``range(n)``."""
    for start in range(0, n, size):
        yield slice(start, min(start + size, n))


def safe_divide(num: Tensor, den: Tensor) -> Tensor:
    """``num / den`` where ``den != 0``, else 0 (with finite gradients everywhere)."""
    nonzero = den != 0
    return torch.where(nonzero, num / torch.where(nonzero, den, torch.ones_like(den)), 0.0)


def min_max_normalize(maps: Tensor) -> Tensor:
    """Scale each ``(..., H, W)`` map to [0, 1]; a constant map becomes 0."""
    flat = maps.flatten(-2)
    low = flat.amin(-1, keepdim=True)
    return safe_divide(flat - low, flat.amax(-1, keepdim=True) - low).view_as(maps)
