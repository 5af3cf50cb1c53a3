"""Residual attention: a soft-mask branch reweights a backbone stage as ``x (1 + M(x))``."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from wsol.models.backbones.base import Backbone
from wsol.models.heads import HEADS
from wsol.models.heads._inserted import InsertedBlocksHead


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
    sigmoid.
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

    def forward(self, x: Tensor) -> Tensor:
        y = self.reduce(x)
        skips = []
        for unit in self.down:
            skips.append(y)
            y = unit(F.max_pool2d(y, 3, stride=2, padding=1))
        for unit, skip in zip(self.up, reversed(skips), strict=True):
            y = unit(F.interpolate(y, size=skip.shape[-2:], mode="bilinear", align_corners=False) + skip)
        return torch.sigmoid(self.out(y))


class ResidualAttentionBlock(nn.Module):
    """``x (1 + M(x))``; records ``spatial_map`` = the channel mean of ``M(x)`` on forward."""

    def __init__(self, channels: int, depth: int = 2, reduction: int = 4) -> None:
        super().__init__()
        self.mask = MaskBranch(channels, depth, reduction)
        self.spatial_map: Tensor | None = None

    def forward(self, x: Tensor) -> Tensor:
        mask = self.mask(x)
        self.spatial_map = mask.mean(dim=1, keepdim=True)
        return x * (1 + mask)


@HEADS.register("residual_attention")
class ResidualAttentionHead(InsertedBlocksHead):
    """Attention modules ``H(x) = (1 + M(x)) * T(x)`` after the ``stages``, then CAM.

    The trunk ``T`` is the backbone itself (the stage's output ``x``); the soft mask ``M``
    is the bottom-up top-down branch of :class:`MaskBranch` with a per-channel, per-position
    sigmoid (the paper's "mixed attention"). Attention residual learning ``(1 + M)`` keeps
    the trunk's features where the mask is 0 (Wang et al., "Residual Attention Network
    for Image Classification", CVPR 2017; reference code
    github.com/fwang91/residual-attention-network). The paper stacks modules whose trunk
    and mask have several residual units each; wsol inserts a lighter mask branch after
    chosen stages of a (pretrained) backbone.

    ``maps="attention"`` (default, ``map_kind="attention"``): the heatmap is the mask,
    averaged over channels, one map per stage (stacked as in
    :class:`~wsol.models.heads._inserted.InsertedBlocksHead`). ``maps="cam"``: the CAM
    head's class maps.
    """

    def __init__(
        self,
        in_channels: list[int],
        num_classes: int,
        backbone: Backbone | None = None,
        stages: Sequence[int] = (-2,),
        depth: int = 2,
        reduction: int = 4,
        pooling: str = "gap",
        maps: str = "attention",
        resize: str = "finest",
    ) -> None:
        super().__init__(
            in_channels,
            num_classes,
            backbone,
            stages,
            lambda c: ResidualAttentionBlock(c, depth, reduction),
            pooling=pooling,
            maps=maps,
            resize=resize,
        )
