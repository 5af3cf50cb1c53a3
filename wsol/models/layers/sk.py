"""Selective kernel: a per-channel soft choice between convolutions of different reach."""

from __future__ import annotations

import math
from typing import ClassVar

import torch
from torch import Tensor, nn

from wsol.models.layers import ATTENTION, AttentionOutput, MapName


@ATTENTION.register("sk")
class SelectiveKernel(nn.Module):
    """``x + V`` with ``V = sum_m a_m * U_m``, the branch weights ``a`` chosen per channel.

    Split: ``U_m = ReLU(BN(conv_m(x)))`` for ``branches`` grouped 3x3 convolutions of
    dilation ``m + 1`` (the paper's 3x3 and "5x5 as dilated 3x3" kernels; ``groups`` is
    reduced to divide ``C``). Fuse: ``z = ReLU(BN(W_z GAP(sum_m U_m)))`` of width
    ``max(C / reduction, min_hidden)``. Select: ``a_m = softmax_m(A_m z)`` per channel (Li et
    al., "Selective Kernel Networks", CVPR 2019; reference code github.com/implus/SKNet).
    The paper uses SK convolution in place of the 3x3 convolution of a ResNeXt bottleneck;
    wsol applies it as the residual unit ``x + V``, so a pretrained path stays intact.

    Maps: ``branch_weights = a`` ``(B, M, C, 1, 1)``; the attention is over kernels, not
    positions, so there is no spatial map.
    """

    maps: ClassVar[tuple[MapName, ...]] = ("branch_weights",)

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

    def forward(self, x: Tensor) -> AttentionOutput:
        u = torch.stack([branch(x) for branch in self.branches], dim=1)  # (B, M, C, h, w)
        z = self.fuse(u.sum(dim=1).mean(dim=(2, 3), keepdim=True))
        a = self.select(z).view(x.shape[0], len(self.branches), x.shape[1], 1, 1).softmax(dim=1)
        return AttentionOutput(x + (a * u).sum(dim=1), branch_weights=a)
