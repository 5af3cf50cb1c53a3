"""Faster Score-CAM: Score-CAM over the ``n_channels`` channels of largest activation variance.

Definition. For each image, the target layer's channels ``A_k`` are ranked by the
variance of their activations over the ``h x w`` positions and only the top
``N = n_channels`` are scored as in Score-CAM (:mod:`wsol.explainers.scorecam`): the
map is ``ReLU(sum_{k in top-N} softmax_{top-N}(s)_k A_k)`` with ``s_k`` the target logit
of the image masked by the upsampled, min-max normalised ``A_k``. Channels with little
spatial variation carry little localization information and their masks change the
score little, so dropping them changes the map little while the cost falls from ``C``
to ``N`` forward passes per image (512 -> 10 for resnet18's last stage by default).
The numbers differ from Score-CAM's on purpose; ``benchmarks/bench_explainers.py``
measures how much (rank correlation of the maps and localization metrics against
exact Score-CAM). With ``n_channels >= C`` it is Score-CAM.

Reference: "Faster Score-CAM", Tabayashi, github.com/tabayashi0117/Score-CAM
(README section "Faster-Score-CAM"; variance ranking, default ``max_N = 10``), also
in tf-keras-vis as ``Scorecam(max_N=...)``. Where wsol differs: as wsol's Score-CAM
(softmax over the scored channels, ``align_corners=False`` upsampling, exact
normalisation, maps at the layer's resolution); ties in variance are broken by
channel index (``torch.topk``'s order).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from wsol.errors import ConfigError
from wsol.explainers import EXPLAINERS
from wsol.explainers.scorecam import ScoreCAM


@EXPLAINERS.register("faster_scorecam")
class FasterScoreCAM(ScoreCAM):
    """Score-CAM over each image's ``n_channels`` highest-variance channels.

    Args:
        n_channels: channels scored per image (``N``; default 10, the reference's).
        batch_size: as for Score-CAM.
    """

    def __init__(
        self,
        model: nn.Module,
        target_layer: nn.Module | str | None = None,
        n_channels: int = 10,
        batch_size: int | None = None,
        *,
        differentiable: bool = False,
    ) -> None:
        super().__init__(model, target_layer, batch_size, differentiable=differentiable)
        if n_channels < 1:
            raise ConfigError(f"faster_scorecam n_channels must be positive, got {n_channels}")
        self.n_channels = n_channels

    def select_channels(self, acts: Tensor) -> Tensor:
        variance = acts.flatten(2).var(dim=2)
        top = variance.topk(min(self.n_channels, acts.shape[1]), dim=1).indices
        return torch.zeros(acts.shape[:2], dtype=torch.bool, device=acts.device).scatter_(1, top, True)
