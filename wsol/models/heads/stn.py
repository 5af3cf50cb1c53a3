"""Spatial transformer head: hard attention by sampling a learned window of the feature map."""

from __future__ import annotations

from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from wsol.models.heads import HEADS
from wsol.models.heads._localisation import LocalisationNet
from wsol.models.heads._options import check_choice
from wsol.models.heads._windows import affine_window_box, affine_window_map
from wsol.models.heads.cam import CAMHead
from wsol.models.output import ModelOutput

TRANSFORMS = ("affine", "crop")
_IDENTITY = {"affine": (1.0, 0.0, 0.0, 0.0, 1.0, 0.0), "crop": (1.0, 1.0, 0.0, 0.0)}


@HEADS.register("stn")
class STNHead(nn.Module):
    """A localisation net picks a window of the last feature map; the classifier sees only it.

    ``theta = f_loc(f)``, the 2x3 matrix ``[A | t]`` mapping the window's coordinates
    ``[-1, 1]^2`` to the feature map's; ``V = grid_sample(f, affine_grid(theta))`` at the
    feature map's own size, then a CAM head (GAP + linear, or its ``pooling``) on ``V``
    gives the logits (Jaderberg et al., "Spatial Transformer Networks", NeurIPS 2015; the
    authors released no code: this follows the paper and PyTorch's ``affine_grid`` /
    ``grid_sample``, as in the official PyTorch tutorial
    github.com/pytorch/tutorials ``intermediate_source/spatial_transformer_tutorial.py``).
    ``transform="affine"`` learns all 6 entries; ``"crop"`` learns ``A = diag(s_x, s_y)`` and
    ``t``, an axis-aligned window (the paper's CUB "attention" transform with one scale
    per axis). The last localisation layer starts at the identity: the window is the whole
    image.

    The transformer samples the last feature map rather than the image: the head only sees
    features, and since ``[-1, 1]`` spans the feature map and the image alike, the window is
    still a region of the image. Outputs (``map_kind="attention"``):

    * ``boxes``: the box around the window's corners in normalised image coordinates;
    * ``attention``: the window rasterised on a ``map_size x map_size`` grid over the image
      (1 inside the sampled parallelogram, 0 outside).
    """

    map_kind: ClassVar[str] = "attention"

    def __init__(
        self,
        in_channels: list[int],
        num_classes: int,
        transform: str = "affine",
        hidden: int = 64,
        grid: int = 4,
        map_size: int = 56,
        pooling: str = "gap",
    ) -> None:
        super().__init__()
        self.transform = check_choice(transform, TRANSFORMS, "transform")
        self.map_size = map_size
        self.localisation = LocalisationNet(in_channels[-1], _IDENTITY[transform], hidden, grid)
        self.cam = CAMHead(in_channels, num_classes, pooling=pooling)

    def theta(self, feats: Tensor) -> Tensor:
        """``(B, 2, 3)`` window transform of each image."""
        params = self.localisation(feats)
        if self.transform == "affine":
            return params.view(-1, 2, 3)
        sx, sy, tx, ty = params.unbind(dim=1)
        zero = torch.zeros_like(sx)
        return torch.stack([sx, zero, tx, zero, sy, ty], dim=1).view(-1, 2, 3)

    def forward(self, features: list[Tensor]) -> ModelOutput:
        feats = features[-1]
        theta = self.theta(feats)
        grid = F.affine_grid(theta, list(feats.shape), align_corners=False)
        window = F.grid_sample(feats, grid, align_corners=False)
        return ModelOutput(
            logits=self.cam([window]).logits,
            attention=affine_window_map(theta.detach(), self.map_size),
            boxes=affine_window_box(theta),
        )
