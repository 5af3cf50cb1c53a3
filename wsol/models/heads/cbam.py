"""Convolutional block attention modules after backbone stages, then a CAM classifier."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from wsol.models.backbones.base import Backbone
from wsol.models.heads import HEADS
from wsol.models.heads._inserted import InsertedBlocksHead
from wsol.models.heads.se import channel_mlp


class CBAMBlock(nn.Module):
    """Channel then spatial attention; records ``spatial_map = M_s`` ``(B, 1, h, w)`` on forward."""

    def __init__(self, channels: int, reduction: int = 16, kernel_size: int = 7) -> None:
        super().__init__()
        self.mlp = channel_mlp(channels, reduction)
        self.spatial = nn.Sequential(
            nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2, bias=False), nn.BatchNorm2d(1)
        )
        self.spatial_map: Tensor | None = None

    def forward(self, x: Tensor) -> Tensor:
        avg, peak = x.mean(dim=(2, 3), keepdim=True), x.amax(dim=(2, 3), keepdim=True)
        x = x * torch.sigmoid(self.mlp(avg) + self.mlp(peak))
        pooled = torch.cat([x.mean(dim=1, keepdim=True), x.amax(dim=1, keepdim=True)], dim=1)
        self.spatial_map = torch.sigmoid(self.spatial(pooled))
        return x * self.spatial_map


@HEADS.register("cbam")
class CBAMHead(InsertedBlocksHead):
    """CBAM blocks after the ``stages`` of the backbone, then CAM.

    ``F' = M_c(F) * F``, ``F'' = M_s(F') * F'`` with the channel attention
    ``M_c(F) = sigmoid(MLP(AvgPool(F)) + MLP(MaxPool(F)))`` (one shared MLP, hidden width
    ``C / reduction``) and the spatial attention
    ``M_s(F) = sigmoid(conv_kxk([AvgPool_c(F); MaxPool_c(F)]))`` over channel-wise pooling
    (Woo et al., "CBAM: Convolutional Block Attention Module", ECCV 2018; reference code
    github.com/Jongchan/attention-module ``MODELS/cbam.py``, whose BatchNorm after the
    spatial conv wsol keeps). The paper puts CBAM in every residual unit; wsol inserts one
    after each chosen stage.

    ``maps="cam"`` (default, ``map_kind="class"``): CAM maps of the last stage.
    ``maps="attention"``: the blocks' spatial attentions ``M_s`` stacked (see
    :class:`~wsol.models.heads._inserted.InsertedBlocksHead`); they are class-agnostic.
    """

    def __init__(
        self,
        in_channels: list[int],
        num_classes: int,
        backbone: Backbone | None = None,
        stages: Sequence[int] = (-3, -2, -1),
        reduction: int = 16,
        kernel_size: int = 7,
        pooling: str = "gap",
        maps: str = "cam",
        resize: str = "finest",
    ) -> None:
        super().__init__(
            in_channels,
            num_classes,
            backbone,
            stages,
            lambda c: CBAMBlock(c, reduction, kernel_size),
            pooling=pooling,
            maps=maps,
            resize=resize,
        )
