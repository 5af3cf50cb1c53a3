"""Squeeze-and-excitation blocks after backbone stages, then a CAM classifier."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from wsol.models.backbones.base import Backbone
from wsol.models.heads import HEADS
from wsol.models.heads._inserted import InsertedBlocksHead


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


class SEBlock(nn.Module):
    """``x * sigmoid(W2 relu(W1 GAP(x)))``: channel recalibration (no spatial map)."""

    def __init__(self, channels: int, reduction: int = 16) -> None:
        super().__init__()
        self.excitation = channel_mlp(channels, reduction)

    def forward(self, x: Tensor) -> Tensor:
        return x * torch.sigmoid(self.excitation(x.mean(dim=(2, 3), keepdim=True)))


@HEADS.register("se")
class SEHead(InsertedBlocksHead):
    """SE blocks after the ``stages`` of the backbone, then CAM (maps: CAM, ``map_kind="class"``).

    ``SE(x) = x * sigmoid(W2 delta(W1 z))`` with ``z = GAP(x)`` and hidden width
    ``C / reduction`` (Hu et al., "Squeeze-and-Excitation Networks", CVPR 2018; reference
    code github.com/hujie-frank/SENet). The paper puts a block in every residual unit before
    the identity addition; wsol inserts one block after each chosen stage (a pretrained
    backbone stays intact). SE has no spatial attention, so its maps are the CAM head's.
    """

    def __init__(
        self,
        in_channels: list[int],
        num_classes: int,
        backbone: Backbone | None = None,
        stages: Sequence[int] = (-3, -2, -1),
        reduction: int = 16,
        pooling: str = "gap",
    ) -> None:
        super().__init__(
            in_channels, num_classes, backbone, stages, lambda c: SEBlock(c, reduction), pooling=pooling
        )
