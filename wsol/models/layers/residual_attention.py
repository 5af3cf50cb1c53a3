"""Residual attention: a bottom-up top-down soft mask reweights features as ``x (1 + M(x))``."""

from __future__ import annotations

from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from wsol.models.layers import ATTENTION, AttentionOutput, MapName


def _unit(cin: int, cout: int, kernel_size: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, kernel_size, padding=kernel_size // 2, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class MaskBranch(nn.Module):
    """Bottom-up top-down soft mask ``(B, C, h, w) -> (B, C, h, w)`` in (0, 1).

    1x1 reduction to ``C / reduction`` channels; ``depth`` times max-pool (3x3, stride 2)
    and a 3x3 unit; back up as many times by bilinear upsampling, adding the skip of the
    same scale, and a 3x3 unit; then ``BN-ReLU-1x1-BN-ReLU-1x1`` to ``C`` channels and a
    sigmoid. The last 1x1 convolution starts at zero, so every module starts as a uniform
    ``1.5 x`` rather than a random per-position gain (with a random mask after every stage,
    one seed of three trained 8.9 points below CAM at the main job's budget).
    """

    def __init__(self, channels: int, depth: int = 2, reduction: int = 4) -> None:
        super().__init__()
        width = max(1, channels // reduction)
        self.reduce = _unit(channels, width, 1)
        self.down = nn.ModuleList(_unit(width, width, 3) for _ in range(depth))
        self.up = nn.ModuleList(_unit(width, width, 3) for _ in range(depth))
        self.out = nn.Sequential(
            nn.BatchNorm2d(width),
            nn.ReLU(inplace=True),
            nn.Conv2d(width, channels, 1, bias=False),
            nn.BatchNorm2d(channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(channels, channels, 1),
        )
        nn.init.zeros_(self.out[-1].weight)  # M = 1/2 everywhere at the start: a uniform 1 + M
        nn.init.zeros_(self.out[-1].bias)

    def forward(self, x: Tensor) -> Tensor:
        y = self.reduce(x)
        skips = []
        for unit in self.down:
            skips.append(y)
            y = unit(F.max_pool2d(y, 3, stride=2, padding=1))
        for unit, skip in zip(self.up, reversed(skips), strict=True):
            y = unit(F.interpolate(y, size=skip.shape[-2:], mode="bilinear", align_corners=False) + skip)
        return torch.sigmoid(self.out(y))


@ATTENTION.register("residual_attention")
class ResidualAttention(nn.Module):
    """Attention module ``H(x) = (1 + M(x)) * T(x)`` with the trunk ``T(x) = x``.

    The soft mask ``M`` is the bottom-up top-down branch of :class:`MaskBranch`, a sigmoid
    per channel and position (the paper's "mixed attention"); attention residual learning
    ``(1 + M)`` keeps the trunk's features where the mask is 0 (Wang et al., "Residual
    Attention Network for Image Classification", CVPR 2017; reference code
    github.com/fwang91/residual-attention-network). The paper stacks modules whose trunk and
    mask have several residual units each; wsol's trunk is the identity (the layer follows
    a backbone stage) and its mask branch is lighter.

    Maps: ``spatial`` = the channel mean of ``M(x)``.
    """

    maps: ClassVar[tuple[MapName, ...]] = ("spatial",)

    def __init__(self, channels: int, depth: int = 2, reduction: int = 4) -> None:
        super().__init__()
        self.mask = MaskBranch(channels, depth, reduction)

    def forward(self, x: Tensor) -> AttentionOutput:
        mask = self.mask(x)
        return AttentionOutput(x * (1 + mask), spatial=mask.mean(dim=1, keepdim=True))
