"""Masks and fills shared by the erasing methods (ACoL, ADL, EIL, adversarial erasing).

Two thresholding rules occur in the reference code, and wsol keeps both:

* **normalised** (ACoL, adversarial erasing): a map is min-max normalised to ``[0, 1]``
  per image, then locations with value ``>= threshold`` are erased;
* **relative to the maximum** (ADL, EIL): locations with value ``>= ratio * max``
  are erased, without subtracting the minimum.

A constant map normalises to zeros (wsolevaluation's ``normalize_tensor`` would give
NaN there), so a flat map erases nothing for a positive threshold.
"""

from __future__ import annotations

import torch
from torch import Tensor


def normalize_maps(maps: Tensor) -> Tensor:
    """Min-max normalise each ``(..., h, w)`` map to ``[0, 1]`` (constant maps -> 0)."""
    flat = maps.flatten(-2)
    low = flat.amin(dim=-1, keepdim=True)
    span = flat.amax(dim=-1, keepdim=True) - low
    scaled = torch.where(span > 0, (flat - low) / span.clamp_min(torch.finfo(flat.dtype).tiny), 0.0)
    return scaled.view_as(maps)


def keep_below_normalized(maps: Tensor, threshold: float) -> Tensor:
    """Bool mask of ``(..., h, w)`` locations kept: normalised value ``< threshold``."""
    return normalize_maps(maps) < threshold


def keep_below_max_ratio(maps: Tensor, ratio: float) -> Tensor:
    """Bool mask of ``(..., h, w)`` locations kept: value ``< ratio * max`` of its map."""
    peak = maps.flatten(-2).amax(dim=-1)[..., None, None]
    return maps < ratio * peak


def channel_mean(features: Tensor) -> Tensor:
    """``(B, 1, h, w)`` self-attention map: the mean over channels (ADL, EIL)."""
    return features.mean(dim=1, keepdim=True)


def fill_images(images: Tensor, erase: Tensor, value: float = 0.0) -> Tensor:
    """``images (B, C, H, W)`` with the pixels where ``erase (B, H, W)`` is true set to ``value``."""
    return images.masked_fill(erase[:, None], value)
