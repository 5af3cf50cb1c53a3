"""Class activation mapping head with a choice of MIL pooling."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import ClassVar, Literal, get_args

import torch
from torch import Tensor, nn

from wsol.errors import ConfigError, check_choice
from wsol.models.heads import HEADS
from wsol.models.output import ModelOutput

Pooling = Literal["gap", "gmp", "lse", "topk"]  # checked when a config loads (Registry.check)
POOLINGS = get_args(Pooling)


@HEADS.register("cam")
class CAMHead(nn.Module):
    """CAM: features -> per-class maps -> MIL pooling -> logits.

    ``CAM_c(x, y) = sum_k w_ck f_k(x, y)`` for the last feature map ``f`` and the
    classifier weights ``w`` (Zhou et al., "Learning Deep Features for Discriminative
    Localization", CVPR 2016; reference code: github.com/zhoubolei/CAM and
    clovaai/wsolevaluation ``wsol/resnet.py``, which also omits the bias from the map).
    The logit of class c pools its map: ``s_c = pool(CAM_c) + b_c`` with

    * ``gap``: mean (then ``s = W . GAP(f) + b``, the usual GAP-linear classifier);
    * ``gmp``: max (Oquab et al., CVPR 2015);
    * ``lse``: ``(1/r) log mean exp(r * CAM_c)`` (Pinheiro & Collobert, CVPR 2015);
    * ``topk``: WILDCAT's ``mean of the k+ highest + alpha * mean of the k- lowest`` with
      ``k = topk_ratio * h * w`` (Durand et al., CVPR 2017; github.com/durandtibo/wildcat.pytorch).

    ``conv_channels`` puts 3x3 convolutions (each followed by a ReLU) with those output
    channels before the classifier, so that ``f`` is their output: wsolevaluation's VGG16
    CAM network has one of 1024 channels (its ``conv6``), and its ACoL classifiers two of
    1024 (``classifier_A``/``classifier_B``, whose final 1x1 convolution is this linear
    classifier: the same logits, and maps that differ by the bias, a per-map constant).

    Maps are returned raw (no ReLU, no normalisation); evaluation normalises them.
    """

    map_kind: ClassVar[str] = "class"

    def __init__(
        self,
        in_channels: list[int],
        num_classes: int,
        pooling: Pooling = "gap",
        lse_r: float = 5.0,
        topk_ratio: float = 0.2,
        topk_alpha: float = 0.7,
        conv_channels: Sequence[int] = (),
    ) -> None:
        super().__init__()
        check_choice(pooling, POOLINGS, "model.head.pooling")
        self.pooling, self.lse_r, self.topk_ratio, self.topk_alpha = pooling, lse_r, topk_ratio, topk_alpha
        if any(int(c) <= 0 for c in conv_channels):
            raise ConfigError(f"model.head.conv_channels: need positive widths, got {list(conv_channels)}")
        layers: list[nn.Module] = []
        width = in_channels[-1]
        for channels in conv_channels:
            layers += [nn.Conv2d(width, int(channels), 3, padding=1), nn.ReLU(inplace=False)]
            width = int(channels)
        self.convs = nn.Sequential(*layers)
        self.classifier = nn.Linear(width, num_classes)

    def forward(self, features: list[Tensor]) -> ModelOutput:
        feats = self.convs(features[-1])
        cams = torch.einsum("kc,bchw->bkhw", self.classifier.weight, feats)
        if self.pooling == "gap":
            logits = self.classifier(feats.mean(dim=(2, 3)))
        else:
            logits = self.pool(cams.flatten(2)) + self.classifier.bias
        return ModelOutput(logits=logits, class_maps=cams)

    def pool(self, maps: Tensor) -> Tensor:
        """Pool ``(B, K, N)`` maps over N."""
        if self.pooling == "gmp":
            return maps.amax(dim=2)
        if self.pooling == "lse":
            r = self.lse_r
            return (torch.logsumexp(r * maps, dim=2) - math.log(maps.shape[2])) / r
        k = max(1, round(self.topk_ratio * maps.shape[2]))
        ordered = maps.sort(dim=2, descending=True).values
        return ordered[..., :k].mean(dim=2) + self.topk_alpha * ordered[..., -k:].mean(dim=2)
