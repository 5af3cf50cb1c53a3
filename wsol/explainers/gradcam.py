"""Grad-CAM (Selvaraju et al., ICCV 2017, https://arxiv.org/abs/1610.02391).

``ReLU(sum_k w_k A_k)`` with ``w_k = mean_ij dS_c/dA_k,ij``: the channels are weighted
by their spatially averaged gradient (eq. 1-2 of the paper). Same as pytorch-grad-cam's
``GradCAM`` before its min-max normalisation and resizing.
"""

from __future__ import annotations

from torch import Tensor

from wsol.explainers import EXPLAINERS
from wsol.explainers.base import GradientCAM


@EXPLAINERS.register("gradcam")
class GradCAM(GradientCAM):
    def combine(self, acts: Tensor, grads: Tensor) -> Tensor:
        return (grads.mean((2, 3), keepdim=True) * acts).sum(1)
