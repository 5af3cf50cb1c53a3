"""Spatial transformer head: hard attention by sampling a learned window of the feature map."""

from __future__ import annotations

import math
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from wsol.errors import ConfigError
from wsol.models.heads import HEADS
from wsol.models.heads._localisation import LocalisationNet
from wsol.models.heads._options import check_choice
from wsol.models.heads._windows import affine_window_box, affine_window_map, cell_centres
from wsol.models.heads.cam import CAMHead
from wsol.models.output import ModelOutput

TRANSFORMS = ("affine", "crop", "window")
CENTRES = ("regress", "centroid")
_IDENTITY = {"affine": (1.0, 0.0, 0.0, 0.0, 1.0, 0.0), "crop": (1.0, 1.0, 0.0, 0.0)}
WINDOW_START = 0.95  # the "window" transform's first window: this share of each side, centred


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
    image. ``"window"`` is ``"crop"`` bounded: ``s = min_scale + (1 - min_scale) sigmoid(a)``
    and ``t = (1 - s) tanh(b)`` per axis, so the window stays inside the image and each side
    keeps at least ``min_scale`` of the image's (it starts centred at 95 % of each side).
    Unbounded windows can collapse: on SynthParts the ``affine`` STN learns thin slivers
    through the discriminative cue, often too thin to cover a cell of the map, which read as
    empty maps (docs/results.md, heads table).

    ``centre`` says where a ``"window"`` sits. ``"regress"``: ``b`` comes from the
    localisation net (pooled to a ``grid x grid`` summary, then fully connected), as in the
    paper. ``"centroid"``: the centre is the soft-argmax of a learned saliency map,
    ``c = sum_ij softmax(w^T f)_ij p_ij`` over the feature cells' centres ``p_ij`` in
    ``[-1, 1]^2``, and ``t = (1 - s) c``, so the window stays inside the image and always
    contains ``c`` (``|c - t| = s |c| <= s``); only the scales are regressed. A regressed
    translation can saturate (``tanh`` at +-1) and park the window in a corner, from where
    the classifier still reads the cue through the features' receptive field
    (docs/attention.md, "Heads that train"); the centroid follows the cells whose features
    carry the evidence, and its gradient never vanishes with the window's position.

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
        min_scale: float = 0.25,
        centre: str = "regress",
    ) -> None:
        super().__init__()
        self.transform = check_choice(transform, TRANSFORMS, "transform")
        self.centre = check_choice(centre, CENTRES, "centre")
        if not 0.0 < min_scale < WINDOW_START:
            raise ConfigError(f"model.head.min_scale: {min_scale} is not in (0, {WINDOW_START})")
        if centre == "centroid" and transform != "window":
            raise ConfigError(f"model.head.centre: 'centroid' needs transform 'window', not {transform!r}")
        self.map_size, self.min_scale = map_size, min_scale
        self.localisation = LocalisationNet(in_channels[-1], self.initial_parameters(), hidden, grid)
        self.saliency = self.centroid_saliency(in_channels[-1]) if centre == "centroid" else None
        self.cam = CAMHead(in_channels, num_classes, pooling=pooling)

    def initial_parameters(self) -> tuple[float, ...]:
        """The localisation net's output at initialisation: the identity, or the 95 % window."""
        if self.transform != "window":
            return _IDENTITY[self.transform]
        share = (WINDOW_START - self.min_scale) / (1 - self.min_scale)
        logit = math.log(share / (1 - share))
        return (logit, logit) if self.centre == "centroid" else (logit, logit, 0.0, 0.0)

    @staticmethod
    def centroid_saliency(channels: int) -> nn.Conv2d:
        """The 1x1 convolution scoring each cell; zero at the start: a uniform softmax, centred window."""
        conv = nn.Conv2d(channels, 1, kernel_size=1)
        nn.init.zeros_(conv.weight)
        nn.init.zeros_(conv.bias)
        return conv

    def centroid(self, feats: Tensor) -> tuple[Tensor, Tensor]:
        """``(c_x, c_y)``, each ``(B,)``: the soft-argmax of the saliency map in ``[-1, 1]``."""
        weights = torch.softmax(self.saliency(feats).flatten(1), dim=1).view(-1, *feats.shape[-2:])
        ys, xs = (cell_centres(n, feats.device, feats.dtype) * 2 - 1 for n in feats.shape[-2:])
        return (weights.sum(dim=1) * xs).sum(dim=1), (weights.sum(dim=2) * ys).sum(dim=1)

    def window(self, feats: Tensor, params: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """``(s_x, s_y, t_x, t_y)`` of the bounded ``"window"`` transform."""
        scales = self.min_scale + (1 - self.min_scale) * torch.sigmoid(params[:, :2])
        sx, sy = scales.unbind(dim=1)
        cx, cy = self.centroid(feats) if self.saliency is not None else torch.tanh(params[:, 2:]).unbind(1)
        return sx, sy, (1 - sx) * cx, (1 - sy) * cy

    def theta(self, feats: Tensor) -> Tensor:
        """``(B, 2, 3)`` window transform of each image."""
        params = self.localisation(feats)
        if self.transform == "affine":
            return params.view(-1, 2, 3)
        sx, sy, tx, ty = params.unbind(dim=1) if self.transform == "crop" else self.window(feats, params)
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
