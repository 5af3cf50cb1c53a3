"""Bottleneck attention: channel and spatial logits added into one 3-D gate."""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import Tensor, nn

from wsol.models.layers import ATTENTION, AttentionOutput, MapName
from wsol.models.layers.se import channel_mlp


def _conv_bn_relu(cin: int, cout: int, kernel_size: int, dilation: int = 1) -> list[nn.Module]:
    pad = dilation * (kernel_size // 2)
    conv = nn.Conv2d(cin, cout, kernel_size, padding=pad, dilation=dilation)
    return [conv, nn.BatchNorm2d(cout), nn.ReLU()]


@ATTENTION.register("bam")
class BAM(nn.Module):
    """``F' = F + F * sigmoid(M_c(F) + M_s(F))``.

    ``M_c(F) = MLP(AvgPool(F))`` (hidden width ``C / reduction``, BatchNorm) broadcast over
    space; ``M_s(F)``: a 1x1 reduction to ``C / reduction`` channels, two 3x3 convolutions of
    dilation ``dilation`` and a 1x1 conv to one channel, broadcast over channels (Park et
    al., "BAM: Bottleneck Attention Module", BMVC 2018; reference code
    github.com/Jongchan/attention-module ``MODELS/bam.py``). wsol adds ``M_c + M_s`` as the
    paper does; the reference code multiplies them. As in the reference, the channel MLP's
    BatchNorm sees one value per image: training batches need more than one image.

    Maps: ``spatial = sigmoid(M_s)`` and ``channel = sigmoid(M_c)``. At each position the
    applied gate ``sigmoid(M_c + M_s)`` of every channel increases with ``M_s``, so
    ``spatial`` ranks positions exactly as the channel mean of the applied gate would.
    """

    maps: ClassVar[tuple[MapName, ...]] = ("spatial", "channel")

    def __init__(self, channels: int, reduction: int = 16, dilation: int = 4) -> None:
        super().__init__()
        hidden = max(1, channels // reduction)
        self.channel = channel_mlp(channels, reduction, batch_norm=True)
        self.spatial = nn.Sequential(
            *_conv_bn_relu(channels, hidden, 1),
            *_conv_bn_relu(hidden, hidden, 3, dilation),
            *_conv_bn_relu(hidden, hidden, 3, dilation),
            nn.Conv2d(hidden, 1, kernel_size=1),
        )

    def forward(self, x: Tensor) -> AttentionOutput:
        channel = self.channel(x.mean(dim=(2, 3), keepdim=True))
        spatial = self.spatial(x)
        output = x * (1 + torch.sigmoid(channel + spatial))
        return AttentionOutput(output, spatial=torch.sigmoid(spatial), channel=torch.sigmoid(channel))
