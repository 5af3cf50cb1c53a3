"""The interface every training method implements."""

from __future__ import annotations

from typing import ClassVar

import torch.nn.functional as F
from torch import Tensor, nn

from wsol.models.output import ModelOutput


class Method:
    """Plain training: cross-entropy on the logits plus the head's auxiliary losses.

    ``is_cascade``: the method trains several models one after another (adversarial
    erasing); ``run_training`` hands such a method to :func:`wsol.engine.cascade.run_cascade`.
    """

    is_cascade: ClassVar[bool] = False

    def setup(self, model: nn.Module) -> None:
        """Adapt ``model`` before training (default: nothing)."""

    def training_step(self, model: nn.Module, images: Tensor, labels: Tensor) -> tuple[Tensor, ModelOutput]:
        output = model(images)
        return self.loss(output, labels), output

    def loss(self, output: ModelOutput, labels: Tensor) -> Tensor:
        loss = F.cross_entropy(output.logits, labels)
        for term in output.aux_losses.values():
            loss = loss + term
        return loss

    def localization_map(self, model: nn.Module, images: Tensor, targets: Tensor) -> tuple[Tensor, Tensor]:
        """``(logits, maps)``: logits ``(B, K)`` and ``(B, h, w)`` maps of ``targets``."""
        output = model(images)
        return output.logits, output.localization_map(targets)
