"""A trained model together with the method that turns it into maps: what evaluation scores."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from wsol.methods.base import CascadeMethod, Method


class Localizer(nn.Module):
    """``(images, targets) -> (logits, maps)``: ``model``'s classification and ``method``'s maps.

    ``model`` is the trained :class:`~wsol.models.WSOLModel` (explainers target its
    layers); a cascade method's frozen earlier stages are registered as submodules, so
    ``.to(device)`` and ``.eval()`` reach them. ``config`` and ``num_classes`` are the
    checkpoint's. Built by :func:`wsol.load_model`.
    """

    def __init__(
        self, model: nn.Module, method: Method, num_classes: int, config: dict[str, Any] | None = None
    ) -> None:
        super().__init__()
        self.model = model
        self.method = method
        self.stages = nn.ModuleList(method.stages if isinstance(method, CascadeMethod) else [])
        self.num_classes = num_classes
        self.config = config or {}

    def forward(self, images: Tensor, targets: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Logits ``(B, K)`` and ``(B, h, w)`` maps of ``targets`` (default: the predicted classes)."""
        if targets is None:  # the classes the method predicts (a cascade classifies with its first stage)
            with torch.no_grad():
                logits, _ = self.method.localization_map(
                    self.model, images, images.new_zeros(len(images)).long()
                )
            targets = logits.argmax(1)
        return self.method.localization_map(self.model, images, targets)
