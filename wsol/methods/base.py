"""The interface every training method implements."""

from __future__ import annotations

import abc
from collections.abc import Iterable
from typing import ClassVar

import torch.nn.functional as F
from torch import Tensor, nn

from wsol.models.output import ModelOutput


class Method:
    """Plain training: cross-entropy on the logits plus the head's auxiliary losses.

    ``is_cascade``: the method trains several models one after another (a
    :class:`CascadeMethod`); :func:`wsol.engine.train` hands such a method to
    :func:`wsol.engine.cascade.run_cascade`. ``fits_statistics``: after the last epoch the
    engine calls :meth:`fit` with the training split (eval transform), e.g. PC1's feature
    statistics.
    """

    is_cascade: ClassVar[bool] = False
    fits_statistics: ClassVar[bool] = False

    def setup(self, model: nn.Module) -> None:
        """Adapt ``model`` before training (default: nothing)."""

    def fit(self, model: nn.Module, images: Iterable[Tensor]) -> None:
        """Fit dataset statistics on batches of training ``images`` (only if ``fits_statistics``)."""

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


class CascadeMethod(Method, abc.ABC):
    """A method that trains ``num_stages`` models in turn, each on what the earlier ones left.

    The engine trains stage ``k`` as an ordinary run with this one method object, which
    holds the frozen stages before ``k`` (``stages``); after each stage it asks
    :meth:`inputs_for_next` for the validation images the next stage would see, and stops
    when a new stage's top-1 on them falls below ``min_accuracy`` (%). Evaluation
    rebuilds the same object from the stage checkpoints (:func:`wsol.load_model`).
    """

    is_cascade = True
    num_stages: int
    min_accuracy: float

    def __init__(self) -> None:
        self.stages: list[nn.Module] = []

    def add_stage(self, model: nn.Module) -> None:
        """Freeze a trained stage and append it to the stages that shape the next one's input."""
        model.eval().requires_grad_(False)
        self.stages.append(model)

    @abc.abstractmethod
    def inputs_for_next(self, images: Tensor, labels: Tensor) -> Tensor:
        """``images`` as the next stage sees them, given the frozen ``stages``."""
