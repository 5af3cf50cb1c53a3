"""ACoL: two classifier branches, the second trained on features the first one erased."""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator
from typing import ClassVar, Literal, get_args

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from wsol.errors import ConfigError, check_choice
from wsol.methods import METHODS
from wsol.methods.base import Method
from wsol.methods.erasing import keep_below_normalized, normalize_maps
from wsol.models.output import ModelOutput

EraseClass = Literal["predicted", "target"]  # checked when a config loads (Registry.check)
ERASE_CLASSES = get_args(EraseClass)


class ACoLHead(nn.Module):
    """Branch A (the model's head) and branch B (a fresh copy) on erased features.

    ``forward(features)``: branch A's class maps of the erasing class (``erase_classes``
    if set, else A's predicted class) are min-max normalised; the last feature map is
    zeroed where that attention is ``>= threshold`` and branch B classifies the result.
    Returns branch A's logits and, as class maps, the per-class maximum of both
    branches' min-max normalised maps. In training mode with ``erase_classes`` set, B's
    cross-entropy on those classes is added to ``aux_losses["acol_branch_b"]``.
    """

    map_kind: ClassVar[str] = "class"

    def __init__(self, branch_a: nn.Module, branch_b: nn.Module, threshold: float) -> None:
        super().__init__()
        self.branch_a, self.branch_b, self.threshold = branch_a, branch_b, threshold
        self.erase_classes: Tensor | None = None

    def forward(self, features: list[Tensor]) -> ModelOutput:
        out_a = self.branch_a(features)
        classes = self.erase_classes if self.erase_classes is not None else out_a.logits.argmax(1)
        keep = keep_below_normalized(out_a.localization_map(classes).detach(), self.threshold)
        erased = features[-1] * keep[:, None].to(features[-1].dtype)
        out_b = self.branch_b([*features[:-1], erased])
        maps = torch.maximum(normalize_maps(out_a.class_maps), normalize_maps(out_b.class_maps))
        aux = {**out_a.aux_losses, **{f"branch_b/{k}": v for k, v in out_b.aux_losses.items()}}
        if self.training and self.erase_classes is not None:
            aux["acol_branch_b"] = F.cross_entropy(out_b.logits, self.erase_classes)
        return ModelOutput(logits=out_a.logits, class_maps=maps, aux_losses=aux)

    @contextlib.contextmanager
    def erasing_with(self, classes: Tensor) -> Iterator[None]:
        """Erase with the maps of ``classes`` (instead of the predicted class) inside the block."""
        self.erase_classes = classes
        try:
            yield
        finally:
            self.erase_classes = None


@METHODS.register("acol")
class ACoL(Method):
    """ACoL (Zhang et al., "Adversarial Complementary Learning for Weakly Supervised
    Object Localization", CVPR 2018; github.com/xiaomengyc/ACoL; wsolevaluation
    ``wsol/method/acol.py``).

    ``setup`` wraps the model's head (branch A) into an :class:`ACoLHead` with a freshly
    initialised copy of it (branch B). Training erases with the ground-truth class's
    map of A and minimises ``CE(A) + CE(B)``; the localization map is the maximum of
    both branches' normalised maps, and classification uses A's logits, as in
    wsolevaluation. Default ``threshold`` (delta) 0.7 as in wsolevaluation.

    At evaluation the erasing class is A's prediction (``eval_erase_class: predicted``,
    as in the paper); wsolevaluation's inference passes the ground-truth label, which
    ``eval_erase_class: target`` reproduces. The branches have the architecture of the
    configured head: for the CAM head a 1x1 classifier, or, with ``conv_channels: [1024,
    1024]``, wsolevaluation's ACoL branches (two 3x3 convolutions of 1024 channels before
    it; configs/*/acol_*.yaml, equal to the reference in tests/test_wsoleval_networks.py).
    """

    def __init__(self, threshold: float = 0.7, eval_erase_class: EraseClass = "predicted") -> None:
        if not 0.0 <= threshold <= 1.0:
            raise ConfigError(f"method.threshold: {threshold} is not in [0, 1]")
        check_choice(eval_erase_class, ERASE_CLASSES, "method.eval_erase_class")
        self.threshold, self.eval_erase_class = threshold, eval_erase_class
        self.head: ACoLHead | None = None

    def setup(self, model: nn.Module) -> None:
        if model.map_kind != "class":
            raise ConfigError(f"method: acol needs a head with class maps, got map_kind {model.map_kind!r}")
        if getattr(model.head, "runs_backbone", False):
            raise ConfigError(
                "method: acol needs a head that takes features; model.head runs the backbone itself"
            )
        branch_b = copy.deepcopy(model.head)
        for module in branch_b.modules():
            if hasattr(module, "reset_parameters"):
                module.reset_parameters()
        self.head = ACoLHead(model.head, branch_b, self.threshold)
        model.head = self.head

    def training_step(self, model: nn.Module, images: Tensor, labels: Tensor) -> tuple[Tensor, ModelOutput]:
        with self._bound_head().erasing_with(labels):
            output = model(images)
        return self.loss(output, labels), output

    def localization_map(self, model: nn.Module, images: Tensor, targets: Tensor) -> tuple[Tensor, Tensor]:
        if self.eval_erase_class == "predicted":
            return super().localization_map(model, images, targets)
        with self._bound_head().erasing_with(targets):
            return super().localization_map(model, images, targets)

    def _bound_head(self) -> ACoLHead:
        if self.head is None:
            raise RuntimeError("ACoL.setup(model) must run before training or evaluation")
        return self.head
