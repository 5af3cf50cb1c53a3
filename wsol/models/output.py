"""What every WSOL model returns: logits plus the maps that localize."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor


@dataclass
class ModelOutput:
    """Output of :class:`wsol.models.WSOLModel` (and of every head).

    Attributes:
        logits: ``(B, K)`` class scores.
        class_maps: ``(B, K, h, w)`` per-class activation maps (CAM-style heads), or None.
        attention: ``(B, A, h, w)`` class-agnostic attention maps, or None.
        boxes: ``(B, 4)`` predicted boxes ``[x0, y0, x1, y1]`` in normalised image
            coordinates (0..1), for heads whose attention is a window (STN, glimpse).
        aux_losses: extra loss terms the head or method adds to the classification loss.
    """

    logits: Tensor
    class_maps: Tensor | None = None
    attention: Tensor | None = None
    boxes: Tensor | None = None
    aux_losses: dict[str, Tensor] = field(default_factory=dict)

    def localization_map(self, targets: Tensor) -> Tensor:
        """``(B, h, w)`` map for each image's target class.

        The target class's map if the head has per-class maps, else the mean of the
        class-agnostic attention maps.
        """
        if self.class_maps is not None:
            index = targets.view(-1, 1, 1, 1).expand(-1, 1, *self.class_maps.shape[-2:])
            return self.class_maps.gather(1, index).squeeze(1)
        if self.attention is not None:
            return self.attention.mean(dim=1)
        raise ValueError("the model output has neither class maps nor attention maps")

    def to(self, device: torch.device | str) -> ModelOutput:
        def move(t: Tensor | None) -> Tensor | None:
            return None if t is None else t.to(device)

        return ModelOutput(
            move(self.logits),
            move(self.class_maps),
            move(self.attention),
            move(self.boxes),
            {k: v.to(device) for k, v in self.aux_losses.items()},
        )
