"""BAS: background activation suppression with a foreground prediction map."""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import Tensor, nn

from wsol.errors import ConfigError
from wsol.methods import METHODS
from wsol.methods._classifier import class_activation, forward_with_features, linear_classifier
from wsol.methods.base import Method
from wsol.models.output import ModelOutput


class BASHead(nn.Module):
    """The model's CAM head plus BAS's generator: class maps become foreground prediction maps.

    ``forward(features)``: the base head's logits (and aux losses) and, as class maps,
    ``M = sigmoid(G(F))``: a 1x1 convolution ``G`` from the last features ``F`` to one map per
    class. ``classifier`` is the base head's (so CAM explainers still find it).
    """

    map_kind: ClassVar[str] = "class"

    def __init__(self, base: nn.Module, channels: int, num_classes: int) -> None:
        super().__init__()
        self.base = base
        self.generator = nn.Conv2d(channels, num_classes, kernel_size=1)

    @property
    def classifier(self) -> nn.Linear:
        return self.base.classifier

    def forward(self, features: list[Tensor]) -> ModelOutput:
        out = self.base(features)
        maps = torch.sigmoid(self.generator(features[-1]))
        return ModelOutput(logits=out.logits, class_maps=maps, aux_losses=out.aux_losses)


@METHODS.register("bas")
class BAS(Method):
    """BAS (Wu et al., "Background Activation Suppression for Weakly Supervised Object
    Localization", CVPR 2022; official code github.com/wpy1999/BAS).

    A generator predicts a foreground map ``M_c in [0, 1]`` (:class:`BASHead`). With ``F`` the
    last features and ``A_c = ReLU(w_c . F)`` the activation of the label class ``c`` at each
    location, the background activation is ``S_bg = sum (1 - M_c) A_c`` (the activation of
    ``(1 - M_c) ⊙ F``, the classifier being linear) and the whole image's ``S = sum A_c``:

        ``L = CE(logits) + bas_weight * S_bg / S + area_weight * mean(M_c)``

    (the Activation Map Constraint ``S_bg / S`` and the area constraint). The classifier
    learns from the whole image. Localization maps are ``M`` of the target class.

    Differs from the paper: the generator is one 1x1 convolution on the last stage (the paper
    branches a few convolutions off the backbone), the foreground-guidance term and the
    fusion of the top-k classes' maps at inference are omitted, and ``A_c`` is ReLU'd so the
    ratio stays in [0, 1]. Defaults ``bas_weight`` 1, ``area_weight`` 1 are wsol's.
    """

    def __init__(self, bas_weight: float = 1.0, area_weight: float = 1.0) -> None:
        if bas_weight < 0 or area_weight < 0:
            raise ConfigError(f"method.bas_weight, area_weight: need >= 0, got {bas_weight}, {area_weight}")
        self.bas_weight, self.area_weight = bas_weight, area_weight

    def setup(self, model: nn.Module) -> None:
        classifier = linear_classifier(model, "bas")
        model.head = BASHead(model.head, classifier.in_features, classifier.out_features)

    def training_step(self, model: nn.Module, images: Tensor, labels: Tensor) -> tuple[Tensor, ModelOutput]:
        features, output = forward_with_features(model, images)
        activation = torch.relu(class_activation(model.head.classifier, features[-1], labels))
        foreground = output.localization_map(labels)
        total = activation.flatten(1).sum(1)
        background = ((1 - foreground) * activation).flatten(1).sum(1)
        suppression = torch.where(total > 0, background / total.clamp_min(1e-12), 0.0).mean()
        area = foreground.mean()
        return self.loss(output, labels) + self.bas_weight * suppression + self.area_weight * area, output
