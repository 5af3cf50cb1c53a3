"""Hide-and-Seek: hide random grid patches of the training images."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from wsol.errors import ConfigError
from wsol.methods import METHODS
from wsol.methods.base import Method
from wsol.methods.erasing import fill_images
from wsol.models.output import ModelOutput


@METHODS.register("has")
class HideAndSeek(Method):
    """HaS (Singh & Lee, "Hide-and-Seek: Forcing a Network to be Meticulous for
    Weakly-supervised Object and Action Localization", ICCV 2017; github.com/kkanshul/Hide-and-Seek).

    Each training image is cut into a grid of ``g x g`` patches, ``g`` drawn per image
    from ``grid_sizes`` (0: no hiding), and every patch is hidden with probability
    ``hide_prob``. Hidden pixels get ``fill``; the paper fills them with the dataset's
    mean pixel, which on wsol's mean-subtracted, std-divided inputs is 0 (the default;
    wsol normalises with ImageNet's mean, as wsolevaluation does). Evaluation sees
    whole images: the method is the identity outside training.

    Defaults are the official code's "mixed" setting: ``grid_sizes`` 0, 16, 32, 44, 56
    and ``hide_prob`` 0.5. The sizes are in pixels of a ``reference_size`` (224) input and
    are scaled to the actual input side, ``round(g * H / reference_size)``, so the hidden
    share of the object does not depend on ``data.image_size`` (wsolevaluation's ``has``
    takes one grid size in pixels of the input, default 4).
    """

    def __init__(
        self,
        grid_sizes: Sequence[int] = (0, 16, 32, 44, 56),
        hide_prob: float = 0.5,
        reference_size: int = 224,
        fill: float = 0.0,
    ) -> None:
        if not grid_sizes or any(g < 0 for g in grid_sizes):
            raise ConfigError(f"method.grid_sizes: need non-negative sizes, got {list(grid_sizes)}")
        if not 0.0 <= hide_prob <= 1.0:
            raise ConfigError(f"method.hide_prob: {hide_prob} is not in [0, 1]")
        self.grid_sizes, self.hide_prob = list(grid_sizes), hide_prob
        self.reference_size, self.fill = reference_size, fill

    def training_step(self, model: nn.Module, images: Tensor, labels: Tensor) -> tuple[Tensor, ModelOutput]:
        side = images.shape[-2]
        sizes = [round(g * side / self.reference_size) for g in self.grid_sizes]
        choice = torch.randint(len(sizes), (images.shape[0],)).tolist()
        hidden = hide_patches(images, [sizes[c] for c in choice], self.hide_prob, self.fill)
        return super().training_step(model, hidden, labels)


def hide_patches(images: Tensor, grid_sizes: Sequence[int], hide_prob: float, fill: float = 0.0) -> Tensor:
    """A copy of ``images (B, C, H, W)`` with patches of image ``i``'s ``grid_sizes[i]``-pixel
    grid (aligned to the top-left corner; edge patches are cut by the border) set to
    ``fill``, each with probability ``hide_prob``. Grid size 0 leaves the image whole."""
    _, _, height, width = images.shape
    hide = torch.zeros(images.shape[0], height, width, dtype=torch.bool, device=images.device)
    for i, g in enumerate(grid_sizes):
        if g > 0:
            cells = torch.rand(math.ceil(height / g), math.ceil(width / g), device=images.device) < hide_prob
            hide[i] = cells.repeat_interleave(g, 0).repeat_interleave(g, 1)[:height, :width]
    return fill_images(images, hide, fill)
