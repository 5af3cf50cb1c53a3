"""Dynamic Capacity Network head: a coarse net everywhere, a fine net on the k most salient patches."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from wsol.errors import ConfigError
from wsol.models.backbones.convnet import ConvNet
from wsol.models.heads import HEADS
from wsol.models.heads.cam import CAMHead
from wsol.models.output import ModelOutput


def entropy(logits: Tensor) -> Tensor:
    """``(B,)`` entropy ``H = -sum_c p_c log p_c`` of ``softmax(logits)``."""
    log_p = logits.log_softmax(dim=1)
    return -(log_p.exp() * log_p).sum(dim=1)


@dataclass
class Selection:
    """The patches one forward re-reads: ``index (B, k)`` into the flattened ``(h, w)`` coarse
    grid and their ``saliency (B, k)``, on images of ``size (H, W)`` pixels."""

    index: Tensor
    saliency: Tensor
    grid: tuple[int, int]
    size: tuple[int, int]

    def centres(self) -> tuple[Tensor, Tensor]:
        """Pixel centres ``(x, y)``, each ``(B, k)``, of the selected cells."""
        (h, w), (height, width) = self.grid, self.size
        return (self.index % w + 0.5) * width / w, (self.index // w + 0.5) * height / h


@HEADS.register("dcn")
class DCNHead(nn.Module):
    """Dynamic Capacity Network (Almahairi et al., "Dynamic Capacity Networks", ICML 2016; no
    reference code was used: this follows the paper's description of the model).

    Called as ``head(backbone, images)`` (``runs_backbone = True``): the fine net reads image
    patches, so the head needs the images as well as the coarse features.

    * Coarse net ``f_c``: the backbone (configure it cheap), then a 1x1 conv to ``D`` channels:
      ``c = f_c(x) (D, h, w)``, coarse prediction ``o_c = g(c)``.
    * Top layers ``g``: 1x1 conv ``D -> D``, ReLU, then a CAM head (``pooling``: GAP by
      default, or any pooling of :class:`~wsol.models.heads.cam.CAMHead`). The ReLU makes
      the saliency position-dependent (through GAP + linear alone it would be constant).
    * Saliency: ``M_ij = || dH(o_c) / dc_ij ||_2`` with the entropy ``H = -sum_c p_c log p_c``;
      the ``k`` cells with the largest ``M_ij`` are selected (no gradient flows through the
      choice).
    * Fine net ``f_f``: a :class:`~wsol.models.backbones.convnet.ConvNet` (``fine_width``,
      ``fine_strides``, ``fine_blocks``, ``D`` = its last width) on the ``patch_size`` x
      ``patch_size`` image patch centred on each selected cell (zero padded at the border),
      averaged to one ``D`` vector.
    * Hybrid ``c~``: ``c`` with the selected cells replaced by their fine vectors; the logits
      are ``g(c~)``.

    Losses: cross-entropy on ``g(c~)`` (the method's) plus ``aux_losses``:
    ``dcn_hint = hint_weight * mean (c_ij - stop_grad(f_f(x_ij)))^2`` over the selected cells and channels,
    which trains only the coarse net to mimic the fine one (the paper's hint term), and
    ``dcn_coarse = coarse_weight * KL(stop_grad(p(c~)) || p(c))``. wsol differs from the paper
    here: the paper trains the coarse prediction on the label, but a head sees no labels, so
    the coarse prediction learns the hybrid's instead.

    Outputs (``map_kind="attention"``): ``attention``, each selected patch's square filled with
    a weight falling with its saliency rank (summed where patches overlap) on a ``map_size``
    grid over the image; ``boxes``, the box around all selected patches (normalised, clipped).
    """

    runs_backbone: ClassVar[bool] = True
    map_kind: ClassVar[str] = "attention"

    def __init__(
        self,
        in_channels: list[int],
        num_classes: int,
        k: int = 6,
        patch_size: int = 32,
        fine_width: int = 24,
        fine_strides: Sequence[int] = (2, 2, 2),
        fine_blocks: int = 2,
        hint_weight: float = 1.0,
        coarse_weight: float = 1.0,
        map_size: int = 56,
        pooling: str = "gap",
    ) -> None:
        super().__init__()
        if k < 1 or patch_size < 2:
            raise ConfigError(f"model.head: dcn needs k >= 1 and patch_size >= 2, got k={k}, {patch_size=}")
        self.k, self.patch_size, self.map_size = k, patch_size, map_size
        self.hint_weight, self.coarse_weight = hint_weight, coarse_weight
        self.fine = ConvNet(fine_width, list(fine_strides), fine_blocks)
        channels = self.fine.channels[-1]
        self.project = nn.Conv2d(in_channels[-1], channels, kernel_size=1)
        self.top = nn.Sequential(nn.Conv2d(channels, channels, kernel_size=1), nn.ReLU())
        self.cam = CAMHead([channels], num_classes, pooling=pooling)

    def top_logits(self, feats: Tensor) -> Tensor:
        """``g``: ``(B, D, h, w) -> (B, K)``."""
        return self.cam([self.top(feats)]).logits

    def saliency(self, coarse: Tensor) -> Tensor:
        """``(B, h, w)``: ``|| dH(g(c)) / dc_ij ||_2``, computed even under ``torch.no_grad``."""
        with torch.enable_grad():
            c = coarse.detach().requires_grad_(True)
            # g reads a view, not the leaf: module backward hooks (FlopCounterMode's) reject leaves
            (grad,) = torch.autograd.grad(entropy(self.top_logits(c.view_as(c))).sum(), c)
        return grad.norm(dim=1)

    def select(self, coarse: Tensor, size: tuple[int, int]) -> Selection:
        """The ``min(k, max(1, h * w // 4))`` most salient cells (at most a quarter of the grid, so
        the coarse net keeps a share of the image at any input size)."""
        h, w = coarse.shape[-2:]
        k = min(self.k, max(1, h * w // 4))
        saliency, index = self.saliency(coarse).flatten(1).topk(k, dim=1)
        return Selection(index, saliency, (h, w), size)

    def patches(self, images: Tensor, sel: Selection) -> Tensor:
        """``(B * k, 3, P, P)`` image patches centred on the selected cells (zero padded)."""
        p = self.patch_size
        windows = F.pad(images, (p, p, p, p)).unfold(2, p, 1).unfold(3, p, 1)  # a view
        cx, cy = sel.centres()
        x0, y0 = ((c - p / 2).floor().long() + p for c in (cx, cy))
        batch = torch.arange(images.shape[0], device=images.device)[:, None]
        return windows[batch, :, y0, x0].flatten(0, 1)  # (B, k, 3, P, P) -> (B * k, ...)

    def forward(self, backbone: nn.Module, images: Tensor) -> ModelOutput:
        coarse = self.project(backbone(images)[-1])
        sel = self.select(coarse, tuple(images.shape[-2:]))
        fine = self.fine(self.patches(images, sel))[-1].mean(dim=(2, 3))  # (B * k, D)
        fine = fine.view(*sel.index.shape, -1).transpose(1, 2)  # (B, D, k)
        index = sel.index[:, None, :].expand_as(fine)
        hybrid = coarse.flatten(2).scatter(2, index, fine).view_as(coarse)
        logits = self.top_logits(hybrid)
        aux = self.losses(coarse, fine, index, logits) if self.training else {}
        heat, boxes = self.heatmap(sel), self.boxes(sel)
        return ModelOutput(logits, attention=heat, boxes=boxes, aux_losses=aux)

    def losses(self, coarse: Tensor, fine: Tensor, index: Tensor, logits: Tensor) -> dict[str, Tensor]:
        chosen = coarse.flatten(2).gather(2, index)
        hint = (chosen - fine.detach()).pow(2).mean()
        coarse_log_p = self.top_logits(coarse).log_softmax(dim=1)
        target = logits.detach().log_softmax(dim=1)
        kl = F.kl_div(coarse_log_p, target, log_target=True, reduction="batchmean")
        return {"dcn_hint": self.hint_weight * hint, "dcn_coarse": self.coarse_weight * kl}

    def _extent(self, sel: Selection) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """Normalised ``x0, y0, x1, y1`` ``(B, k)`` of each selected patch."""
        (cx, cy), (height, width), half = sel.centres(), sel.size, self.patch_size / 2
        return (cx - half) / width, (cy - half) / height, (cx + half) / width, (cy + half) / height

    def heatmap(self, sel: Selection) -> Tensor:
        """``(B, 1, m, m)``: sum over the selected patches of ``(k - r) / k`` x the patch's indicator,
        ``r`` the patch's saliency rank (0 = most salient). Ranks, not raw saliencies: a confident
        coarse prediction has entropy gradients that underflow to 0, which would leave no map."""
        x0, y0, x1, y1 = (t[:, :, None] for t in self._extent(sel))
        u = (torch.arange(self.map_size, device=x0.device, dtype=x0.dtype) + 0.5) / self.map_size
        in_x = ((u >= x0) & (u < x1)).to(u.dtype)  # (B, k, m)
        in_y = ((u >= y0) & (u < y1)).to(u.dtype)
        k = sel.index.shape[1]
        weight = (k - torch.arange(k, device=u.device, dtype=u.dtype)) / k
        return torch.einsum("k,bky,bkx->byx", weight, in_y, in_x)[:, None]

    def boxes(self, sel: Selection) -> Tensor:
        """``(B, 4)``: the box around all selected patches, clipped to the image."""
        x0, y0, x1, y1 = self._extent(sel)
        return torch.stack([x0.amin(1), y0.amin(1), x1.amax(1), y1.amax(1)], dim=1).clamp(0, 1)
