"""Convolutional block attention: a channel gate, then a spatial gate."""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import Tensor, nn

from wsol.models.layers import ATTENTION, AttentionOutput, MapName
from wsol.models.layers.se import channel_mlp


@ATTENTION.register("cbam")
class CBAM(nn.Module):
    """``F' = M_c(F) * F``, ``F'' = M_s(F') * F'``.

    Channel attention ``M_c(F) = sigmoid(MLP(AvgPool(F)) + MLP(MaxPool(F)))`` (one shared
    MLP, hidden width ``C / reduction``); spatial attention
    ``M_s(F) = sigmoid(BN(conv_kxk([AvgPool_c(F); MaxPool_c(F)])))`` over channel-wise pooling
    (Woo et al., "CBAM: Convolutional Block Attention Module", ECCV 2018; reference code
    github.com/Jongchan/attention-module ``MODELS/cbam.py``, whose BatchNorm after the
    spatial conv wsol keeps). Maps: ``channel = M_c(F)``, ``spatial = M_s(F')``; the output is
    exactly ``F * channel * spatial``.
    """

    maps: ClassVar[tuple[MapName, ...]] = ("spatial", "channel")

    def __init__(self, channels: int, reduction: int = 16, kernel_size: int = 7) -> None:
        super().__init__()
        self.mlp = channel_mlp(channels, reduction)
        self.spatial = nn.Sequential(
            nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2, bias=False), nn.BatchNorm2d(1)
        )

    def forward(self, x: Tensor) -> AttentionOutput:
        avg, peak = x.mean(dim=(2, 3), keepdim=True), x.amax(dim=(2, 3), keepdim=True)
        channel = torch.sigmoid(self.mlp(avg) + self.mlp(peak))
        x = x * channel
        pooled = torch.cat([x.mean(dim=1, keepdim=True), x.amax(dim=1, keepdim=True)], dim=1)
        spatial = torch.sigmoid(self.spatial(pooled))
        return AttentionOutput(x * spatial, spatial=spatial, channel=channel)
