"""Attention windows in normalised image coordinates: boxes and rasterised heatmaps.

Coordinates follow ``torch.nn.functional.affine_grid`` with ``align_corners=False``:
``[-1, 1]`` spans the feature map, hence the image, edge to edge. Boxes are returned as
``[x0, y0, x1, y1]`` in ``[0, 1]`` (``ModelOutput.boxes``).
"""

from __future__ import annotations

import torch
from torch import Tensor

_CORNERS = ((-1.0, -1.0), (1.0, -1.0), (-1.0, 1.0), (1.0, 1.0))


def cell_centres(size: int, device: torch.device, dtype: torch.dtype) -> Tensor:
    """``(size,)`` centres of ``size`` equal cells of ``[0, 1]``."""
    return (torch.arange(size, device=device, dtype=dtype) + 0.5) / size


def affine_window_box(theta: Tensor) -> Tensor:
    """``(B, 4)`` box around the window ``theta (B, 2, 3)`` samples, clipped to the image."""
    corners = torch.tensor(_CORNERS, device=theta.device, dtype=theta.dtype)
    mapped = corners @ theta[:, :, :2].transpose(1, 2) + theta[:, None, :, 2]  # (B, 4, 2) in [-1, 1]
    box = torch.cat([mapped.amin(dim=1), mapped.amax(dim=1)], dim=1)
    return ((box + 1) / 2).clamp(0, 1)


def affine_window_map(theta: Tensor, size: int) -> Tensor:
    """``(B, 1, size, size)``: 1 at the cells whose centre the window ``theta`` covers, else 0.

    A point ``p`` of the image is in the window when ``A^+ (p - t)`` lies in ``[-1, 1]^2``
    (``theta = [A | t]``; the pseudo-inverse keeps degenerate windows finite).
    """
    centres = cell_centres(size, theta.device, theta.dtype) * 2 - 1
    ys, xs = torch.meshgrid(centres, centres, indexing="ij")
    points = torch.stack([xs, ys], dim=-1).view(1, -1, 2) - theta[:, None, :, 2]  # (B, size^2, 2)
    local = points @ torch.linalg.pinv(theta[:, :, :2]).transpose(1, 2)
    inside = local.abs().amax(dim=2) <= 1
    return inside.to(theta.dtype).view(-1, 1, size, size)
