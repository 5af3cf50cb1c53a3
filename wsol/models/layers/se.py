"""Squeeze-and-excitation: a gate per channel from globally pooled features."""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import Tensor, nn

from wsol.models.layers import ATTENTION, AttentionOutput, MapName


def channel_mlp(channels: int, reduction: int, batch_norm: bool = False) -> nn.Sequential:
    """``(B, C, 1, 1) -> (B, C, 1, 1)``: 1x1 conv to ``max(1, C // reduction)``, [BN], ReLU, 1x1 conv back."""
    hidden = max(1, channels // reduction)
    norm: list[nn.Module] = [nn.BatchNorm2d(hidden)] if batch_norm else []
    return nn.Sequential(
        nn.Conv2d(channels, hidden, kernel_size=1),
        *norm,
        nn.ReLU(inplace=True),
        nn.Conv2d(hidden, channels, kernel_size=1),
    )


@ATTENTION.register("se")
class SqueezeExcitation(nn.Module):
    """``SE(x) = x * s`` with the channel gate ``s = sigmoid(W2 delta(W1 GAP(x)))``.

    Hidden width ``C / reduction`` (Hu et al., "Squeeze-and-Excitation Networks", CVPR 2018;
    reference code github.com/hujie-frank/SENet). Maps: ``channel = s``; SE has no spatial
    attention.
    """

    maps: ClassVar[tuple[MapName, ...]] = ("channel",)

    def __init__(self, channels: int, reduction: int = 16) -> None:
        super().__init__()
        self.excitation = channel_mlp(channels, reduction)

    def forward(self, x: Tensor) -> AttentionOutput:
        gate = torch.sigmoid(self.excitation(x.mean(dim=(2, 3), keepdim=True)))
        return AttentionOutput(x * gate, channel=gate)
