"""Selective-kernel units after backbone stages, then a CAM classifier."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from wsol.models.backbones.base import Backbone
from wsol.models.heads import HEADS
from wsol.models.heads._inserted import InsertedBlocksHead


class SKBlock(nn.Module):
    """``x + sum_m a_m * U_m`` with the branch weights ``a`` chosen per channel (no spatial map)."""

    def __init__(
        self, channels: int, branches: int = 2, reduction: int = 16, min_hidden: int = 32, groups: int = 32
    ) -> None:
        super().__init__()
        groups = math.gcd(channels, groups)
        self.branches = nn.ModuleList(
            nn.Sequential(
                nn.Conv2d(channels, channels, 3, padding=m + 1, dilation=m + 1, groups=groups, bias=False),
                nn.BatchNorm2d(channels),
                nn.ReLU(inplace=True),
            )
            for m in range(branches)
        )
        hidden = max(channels // reduction, min_hidden)
        self.fuse = nn.Sequential(
            nn.Conv2d(channels, hidden, 1, bias=False), nn.BatchNorm2d(hidden), nn.ReLU(inplace=True)
        )
        self.select = nn.Conv2d(hidden, channels * branches, 1)

    def forward(self, x: Tensor) -> Tensor:
        u = torch.stack([branch(x) for branch in self.branches], dim=1)  # (B, M, C, h, w)
        z = self.fuse(u.sum(dim=1).mean(dim=(2, 3), keepdim=True))
        a = self.select(z).view(x.shape[0], len(self.branches), x.shape[1], 1, 1).softmax(dim=1)
        return x + (a * u).sum(dim=1)


@HEADS.register("sk")
class SKHead(InsertedBlocksHead):
    """Selective-kernel units after the ``stages`` of the backbone, then CAM (``map_kind="class"``).

    Split: ``U_m = ReLU(BN(conv_m(x)))`` for ``branches`` grouped 3x3 convolutions of
    dilation ``m + 1`` (the paper's 3x3 and "5x5 as dilated 3x3" kernels). Fuse:
    ``z = ReLU(BN(W_z GAP(sum_m U_m)))`` of width ``max(C / reduction, min_hidden)``.
    Select: ``a_m = softmax_m(A_m z)`` per channel and ``V = sum_m a_m U_m`` (Li et al.,
    "Selective Kernel Networks", CVPR 2019; reference code github.com/implus/SKNet). The
    paper uses SK convolution in place of the 3x3 convolution of a ResNeXt bottleneck; wsol
    inserts it after a stage as the residual unit ``x + V``, so a pretrained backbone keeps
    its path. The attention is over kernels, not positions: maps are the CAM head's.
    """

    def __init__(
        self,
        in_channels: list[int],
        num_classes: int,
        backbone: Backbone | None = None,
        stages: Sequence[int] = (-3, -2, -1),
        branches: int = 2,
        reduction: int = 16,
        min_hidden: int = 32,
        groups: int = 32,
        pooling: str = "gap",
    ) -> None:
        super().__init__(
            in_channels,
            num_classes,
            backbone,
            stages,
            lambda c: SKBlock(c, branches, reduction, min_hidden, groups),
            pooling=pooling,
        )
