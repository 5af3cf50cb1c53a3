"""EIL: a shared-weight erased branch from a middle backbone stage on."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from wsol.errors import ConfigError
from wsol.methods import METHODS
from wsol.methods.base import Method
from wsol.methods.erasing import channel_mean, keep_below_max_ratio
from wsol.models.output import ModelOutput


class ErasedBranch(nn.Module):
    """While ``active``: ``x -> cat([x, x * M])`` with ``M`` EIL's erasing mask.

    ``M`` keeps the locations whose channel mean ``a`` is below ``ratio * max(a)`` (per
    image) and zeroes the others, so the layers after this block run the unerased batch
    and its erased copy with the same weights. Identity while not active.
    """

    def __init__(self, ratio: float) -> None:
        super().__init__()
        self.ratio = ratio
        self.active = False

    def forward(self, features: Tensor) -> Tensor:
        if not self.active:
            return features
        keep = keep_below_max_ratio(channel_mean(features), self.ratio)
        return torch.cat([features, features * keep.to(features.dtype)])

    def extra_repr(self) -> str:
        return f"ratio={self.ratio}"


@METHODS.register("eil")
class EIL(Method):
    """EIL (Mai et al., "Erasing Integrated Learning: A Simple yet Effective Approach for
    Weakly Supervised Object Localization", CVPR 2020; github.com/Wayne-Mai/EIL).

    The backbone up to stage ``stage`` runs once; its output ``F`` and the erased
    ``F * M`` (``M``: locations with channel mean ``>= threshold * max`` zeroed, see
    :class:`ErasedBranch`) both go through the remaining stages and the head, with shared
    weights. Loss: ``CE(unerased) + erased_weight * CE(erased)`` plus the head's aux
    losses (computed on the doubled batch). Evaluation uses the unerased branch only, i.e. the
    plain model. Defaults follow the official VGG16 code: ``threshold`` 0.7 (its
    ``drop_thr``, relative to the maximum), ``erased_weight`` 1 (the paper's sigma),
    erasing before the last stage (VGG16: after pool4, before conv5).

    In wsol the two branches travel as one doubled batch, so batch-norm layers after
    the erasing point see both (the official VGG16 has no batch norm); stages before the
    erasing point are duplicated for heads that read several stages.
    """

    def __init__(self, threshold: float = 0.7, erased_weight: float = 1.0, stage: int = -2) -> None:
        if not 0.0 <= threshold <= 1.0:
            raise ConfigError(f"method.threshold: {threshold} is not in [0, 1]")
        self.threshold, self.erased_weight, self.stage = threshold, erased_weight, stage
        self.branch: ErasedBranch | None = None

    def setup(self, model: nn.Module) -> None:
        backbone = model.backbone
        if not -len(backbone.stage_modules) <= self.stage < len(backbone.stage_modules):
            raise ConfigError(f"method.stage: the backbone has no stage {self.stage}")
        self.branch = ErasedBranch(self.threshold)
        backbone.insert_after(self.stage, self.branch)
        backbone.register_forward_hook(_duplicate_early_stages)

    def training_step(self, model: nn.Module, images: Tensor, labels: Tensor) -> tuple[Tensor, ModelOutput]:
        with self._erasing():
            output = model(images)
        n = labels.shape[0]
        unerased = _first(output, n)
        loss = self.loss(unerased, labels) + self.erased_weight * F.cross_entropy(output.logits[n:], labels)
        return loss, unerased

    @contextlib.contextmanager
    def _erasing(self) -> Iterator[None]:
        if self.branch is None:
            raise RuntimeError("EIL.setup(model) must run before training")
        self.branch.active = True
        try:
            yield
        finally:
            self.branch.active = False


def _duplicate_early_stages(_module: nn.Module, _inputs: object, features: list[Tensor]) -> list[Tensor]:
    """Backbone forward hook: stages before the erasing point get the doubled batch size."""
    size = features[-1].shape[0]
    return [f if f.shape[0] == size else torch.cat([f, f]) for f in features]


def _first(output: ModelOutput, n: int) -> ModelOutput:
    """The first ``n`` images' part of a batched ``output`` (aux losses kept)."""

    def cut(t: Tensor | None) -> Tensor | None:
        return None if t is None else t[:n]

    return ModelOutput(
        logits=output.logits[:n],
        class_maps=cut(output.class_maps),
        attention=cut(output.attention),
        boxes=cut(output.boxes),
        aux_losses=output.aux_losses,
    )
