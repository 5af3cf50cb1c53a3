"""Stacking attention maps of several resolutions into one ``(B, A, h, w)`` tensor."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

RESIZE_MODES = ("finest", "coarsest")


def stack_maps(maps: list[Tensor], resize: str, preserve_mass: bool = False) -> Tensor:
    """Resize ``(B, 1, h_i, w_i)`` maps to the finest or coarsest of their sizes and stack them.

    Resizing is bilinear (antialiased when shrinking). With ``preserve_mass`` each resized
    map is multiplied by ``h_i w_i / (h w)``, so a map that summed to 1 over its own grid
    (a softmax attention) still sums to about 1 and maps of different resolutions keep
    comparable values when they are averaged.
    """
    pick = max if resize == "finest" else min
    size = pick((tuple(m.shape[-2:]) for m in maps), key=lambda s: s[0] * s[1])
    stacked = []
    for m in maps:
        if tuple(m.shape[-2:]) != size:
            resized = F.interpolate(m, size=size, mode="bilinear", align_corners=False, antialias=True)
            m = resized * (m.shape[-2] * m.shape[-1] / (size[0] * size[1])) if preserve_mass else resized
        stacked.append(m)
    return torch.cat(stacked, dim=1)
