"""Bottleneck attention modules after backbone stages, then a CAM classifier."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from wsol.models.backbones.base import Backbone
from wsol.models.heads import HEADS
from wsol.models.heads._inserted import InsertedBlocksHead
from wsol.models.heads.se import channel_mlp


def _conv_bn_relu(cin: int, cout: int, kernel_size: int, dilation: int = 1) -> list[nn.Module]:
    pad = dilation * (kernel_size // 2)
    conv = nn.Conv2d(cin, cout, kernel_size, padding=pad, dilation=dilation)
    return [conv, nn.BatchNorm2d(cout), nn.ReLU()]


class BAMBlock(nn.Module):
    """``x * (1 + sigmoid(M_c + M_s))``; records ``spatial_map = sigmoid(M_s)`` on forward."""

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
        self.spatial_map: Tensor | None = None

    def forward(self, x: Tensor) -> Tensor:
        channel = self.channel(x.mean(dim=(2, 3), keepdim=True))
        spatial = self.spatial(x)
        self.spatial_map = torch.sigmoid(spatial)
        return x * (1 + torch.sigmoid(channel + spatial))


@HEADS.register("bam")
class BAMHead(InsertedBlocksHead):
    """BAM blocks after the ``stages`` of the backbone, then CAM.

    ``F' = F + F * sigmoid(M_c(F) + M_s(F))`` with ``M_c(F) = MLP(AvgPool(F))`` (hidden width
    ``C / reduction``, BatchNorm) broadcast over space and ``M_s(F)`` a 1x1 reduction to
    ``C / reduction`` channels, two 3x3 convolutions of dilation ``dilation`` and a 1x1 conv
    to one channel, broadcast over channels (Park et al., "BAM: Bottleneck Attention
    Module", BMVC 2018; reference code github.com/Jongchan/attention-module
    ``MODELS/bam.py``). wsol adds ``M_c + M_s`` as the paper does; the reference code
    multiplies them. The default ``stages`` are the paper's places, the bottlenecks between
    ResNet stages (after stages 1, 2 and 3 of 4). As in the reference, the channel MLP's
    BatchNorm sees one value per image: training batches need more than one image.

    ``maps="cam"`` (default, ``map_kind="class"``): CAM maps of the last stage.
    ``maps="attention"``: ``sigmoid(M_s)`` of the blocks, stacked. At each position the
    3-D attention ``sigmoid(M_c + M_s)`` of every channel increases with ``M_s``, so this
    map ranks positions exactly as the channel mean of the applied attention would.
    """

    def __init__(
        self,
        in_channels: list[int],
        num_classes: int,
        backbone: Backbone | None = None,
        stages: Sequence[int] = (-4, -3, -2),
        reduction: int = 16,
        dilation: int = 4,
        pooling: str = "gap",
        maps: str = "cam",
        resize: str = "finest",
    ) -> None:
        super().__init__(
            in_channels,
            num_classes,
            backbone,
            stages,
            lambda c: BAMBlock(c, reduction, dilation),
            pooling=pooling,
            maps=maps,
            resize=resize,
        )
