"""DRAW-style Gaussian glimpse: an N x N grid of Gaussian filters reads the feature map."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor, nn

from wsol.models.heads import HEADS
from wsol.models.heads._localisation import LocalisationNet
from wsol.models.heads._windows import cell_centres
from wsol.models.heads.cam import CAMHead
from wsol.models.output import ModelOutput


@dataclass
class GlimpseWindow:
    """Glimpse parameters in normalised image coordinates (image side = 1), one row per image."""

    centre: Tensor  # (B, 2) x, y
    stride: Tensor  # (B,) distance between neighbouring filter centres
    sigma: Tensor  # (B,) filter standard deviation
    gamma: Tensor  # (B,) intensity

    def box(self, size: int) -> Tensor:
        """``(B, 4)`` box of the ``size x size`` filter cells, ``centre -/+ size * stride / 2``, clipped."""
        half = (size * self.stride / 2)[:, None]
        return torch.cat([self.centre - half, self.centre + half], dim=1).clamp(0, 1)


def filterbank(centre: Tensor, window: GlimpseWindow, size: int, cells: int) -> Tensor:
    """``(B, size, cells)``: filter ``i`` centred at ``centre + (i - (size - 1) / 2) stride``,
    a Gaussian over the ``cells`` cell centres of ``[0, 1]``, normalised to sum 1."""
    offsets = torch.arange(size, device=centre.device, dtype=centre.dtype) - (size - 1) / 2
    mu = centre[:, None] + offsets * window.stride[:, None]  # (B, size)
    u = cell_centres(cells, centre.device, centre.dtype)
    logits = -((u[None, None, :] - mu[:, :, None]) ** 2) / (2 * window.sigma[:, None, None] ** 2)
    return logits.softmax(dim=2)


@HEADS.register("glimpse")
class GlimpseHead(nn.Module):
    """A localisation net sets one Gaussian glimpse; the classifier sees only what it reads.

    DRAW's read (Gregor et al., "DRAW: A Recurrent Neural Network For Image Generation",
    ICML 2015; the authors released no code, a common reference is github.com/ericjang/draw):
    from the last feature map ``f (C, H, W)`` the localisation net emits
    ``(g~_x, g~_y, log sigma^2, log delta~, log gamma)`` and, in normalised coordinates,

    * centre ``g = (g~ + 1) / 2``, stride ``delta = delta~ / N``, ``sigma``, intensity ``gamma``;
    * filter means ``mu_i = g + (i - (N - 1) / 2) delta`` for ``i = 0..N-1``;
    * ``F_X[i, a] = exp(-(u_a - mu_X,i)^2 / (2 sigma^2)) / Z_i`` over the cell centres ``u_a``
      (likewise ``F_Y``);
    * glimpse ``G = gamma F_Y f F_X^T (C, N, N)``, classified by a CAM head (GAP + linear).

    wsol differs from DRAW in using normalised rather than pixel coordinates and
    ``delta = delta~ / N`` rather than ``(max(H, W) - 1) / (N - 1) delta~``: at ``delta~ = 1`` the
    ``N`` filter cells tile the whole image. The initial glimpse (zero last layer) is
    centred, covers the image and has ``sigma`` = half the stride.

    Outputs (``map_kind="attention"``): ``boxes``, the ``N x N`` filter cells' extent
    ``g -/+ N delta / 2`` (clipped to the image), and ``attention``, how much each point is
    read, ``gamma (sum_i F_Y[i]) (sum_j F_X[j])^T``, with the filters evaluated on a
    ``map_size x map_size`` grid over the image.
    """

    map_kind: ClassVar[str] = "attention"

    def __init__(
        self,
        in_channels: list[int],
        num_classes: int,
        glimpse_size: int = 4,
        hidden: int = 64,
        grid: int = 4,
        map_size: int = 56,
        pooling: str = "gap",
    ) -> None:
        super().__init__()
        self.size, self.map_size = glimpse_size, map_size
        init = (0.0, 0.0, 2 * math.log(1 / (2 * glimpse_size)), 0.0, 0.0)
        self.localisation = LocalisationNet(in_channels[-1], init, hidden, grid)
        self.cam = CAMHead(in_channels, num_classes, pooling=pooling)

    def window(self, feats: Tensor) -> GlimpseWindow:
        gx, gy, log_var, log_delta, log_gamma = self.localisation(feats).unbind(dim=1)
        return GlimpseWindow(
            centre=(torch.stack([gx, gy], dim=1) + 1) / 2,
            stride=log_delta.exp() / self.size,
            sigma=(log_var / 2).exp(),
            gamma=log_gamma.exp(),
        )

    def forward(self, features: list[Tensor]) -> ModelOutput:
        feats = features[-1]
        win = self.window(feats)
        cx, cy = win.centre.unbind(dim=1)
        fx = filterbank(cx, win, self.size, feats.shape[3])
        fy = filterbank(cy, win, self.size, feats.shape[2])
        glimpse = win.gamma[:, None, None, None] * torch.einsum("biy,bcyx,bjx->bcij", fy, feats, fx)
        heat_x = filterbank(cx, win, self.size, self.map_size).sum(dim=1)
        heat_y = filterbank(cy, win, self.size, self.map_size).sum(dim=1)
        heat = win.gamma[:, None, None] * heat_y[:, :, None] * heat_x[:, None, :]
        logits = self.cam([glimpse]).logits
        return ModelOutput(logits=logits, attention=heat[:, None], boxes=win.box(self.size))
