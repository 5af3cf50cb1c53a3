"""ADL: attention-based dropout blocks inserted after backbone stages."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from wsol.errors import ConfigError
from wsol.methods import METHODS
from wsol.methods.base import Method
from wsol.methods.erasing import channel_mean, keep_below_max_ratio


class AttentionDropout(nn.Module):
    """One ADL block: in training, multiply the features by a drop mask or an importance map.

    With ``a`` the channel mean of the ``(B, C, h, w)`` input, the drop mask keeps the
    locations with ``a < gamma * max(a)`` (per image) and zeroes the others; the
    importance map is ``sigmoid(a)``. One draw per batch picks the drop mask with
    probability ``drop_rate``, else the importance map. Identity in eval mode.
    """

    def __init__(self, drop_rate: float = 0.75, gamma: float = 0.9) -> None:
        super().__init__()
        self.drop_rate, self.gamma = drop_rate, gamma

    def forward(self, features: Tensor) -> Tensor:
        if not self.training:
            return features
        attention = channel_mean(features)
        if torch.rand(()).item() < self.drop_rate:
            return features * keep_below_max_ratio(attention, self.gamma).to(features.dtype)
        return features * torch.sigmoid(attention)

    def extra_repr(self) -> str:
        return f"drop_rate={self.drop_rate}, gamma={self.gamma}"


@METHODS.register("adl")
class ADL(Method):
    """ADL (Choe & Shim, "Attention-based Dropout Layer for Weakly Supervised Object
    Localization", CVPR 2019; github.com/junsukchoe/ADL; wsolevaluation ``wsol/method/adl.py``).

    Inserts an :class:`AttentionDropout` block after each backbone stage in ``stages``
    (``backbone.insert_after``); training is plain cross-entropy. Defaults are
    wsolevaluation's: ``drop_rate`` 0.75, ``gamma`` 0.9 (its ``adl_threshold``).

    wsol inserts the blocks at stage outputs, by default after the last two stages;
    wsolevaluation's ResNet50 puts them after the first block of layer3 and after the first
    and last blocks of layer4, its VGG16 after pool3, conv4_3 and conv5_3, its InceptionV3
    after Mixed_5d, Mixed_6e and SPG_A3_2b. The ``wsoleval_*`` backbones end stages exactly
    there: ``stages`` (2, 4, 5), (0, 1, 2) and (0, 3, 4) reproduce the reference
    (configs/*/adl_*.yaml, tests/test_wsoleval_networks.py).
    """

    def __init__(self, drop_rate: float = 0.75, gamma: float = 0.9, stages: Sequence[int] = (-2, -1)) -> None:
        if not 0.0 <= drop_rate <= 1.0:
            raise ConfigError(f"method.drop_rate: {drop_rate} is not in [0, 1]")
        if not 0.0 <= gamma <= 1.0:
            raise ConfigError(f"method.gamma: {gamma} is not in [0, 1]")
        if not stages:
            raise ConfigError("method.stages: give at least one backbone stage")
        self.drop_rate, self.gamma, self.stages = drop_rate, gamma, list(stages)

    def setup(self, model: nn.Module) -> None:
        backbone = model.backbone
        for stage in self.stages:
            if not -len(backbone.stage_modules) <= stage < len(backbone.stage_modules):
                raise ConfigError(f"method.stages: the backbone has no stage {stage}")
            backbone.insert_after(stage, AttentionDropout(self.drop_rate, self.gamma))
