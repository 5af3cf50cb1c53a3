"""The small network that regresses window parameters (STN, glimpse) from a feature map."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn


class LocalisationNet(nn.Module):
    """``f (B, C, h, w) -> (B, len(init))`` parameters.

    1x1 conv to ``hidden`` channels, ReLU, adaptive average pooling to ``grid x grid`` (so
    any input size works and coarse position survives), then ``Linear -> ReLU -> Linear``.
    The last layer starts with zero weights and bias ``init``, so every image initially gets
    the parameters ``init`` (the identity initialisation of Jaderberg et al., 2015).
    """

    def __init__(self, in_channels: int, init: Sequence[float], hidden: int = 64, grid: int = 4) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, hidden, kernel_size=1),
            nn.ReLU(inplace=True),
            nn.AdaptiveAvgPool2d(grid),
            nn.Flatten(),
            nn.Linear(hidden * grid * grid, hidden),
            nn.ReLU(inplace=True),
        )
        self.out = nn.Linear(hidden, len(init))
        nn.init.zeros_(self.out.weight)
        with torch.no_grad():
            self.out.bias.copy_(torch.tensor(list(init), dtype=torch.float32))

    def forward(self, feats: Tensor) -> Tensor:
        return self.out(self.features(feats))
