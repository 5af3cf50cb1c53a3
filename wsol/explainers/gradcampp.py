"""Grad-CAM++ (Chattopadhay et al., WACV 2018, https://arxiv.org/abs/1710.11063).

``ReLU(sum_k w_k A_k)`` with ``w_k = sum_ij alpha_k,ij ReLU(g_k,ij)`` and, from eq. 19 of
the paper (the closed form for an exponentiated score, written with the gradients
``g = dS_c/dA`` of the logit)::

    alpha_k,ij = g_k,ij^2 / (2 g_k,ij^2 + sum_ab A_k,ab g_k,ij^3)

wsol evaluates it as ``1 / (2 + sum_ab A_k,ab g_k,ij)`` (equal for ``g != 0``; only
``g > 0`` enters ``w``), which cannot underflow when gradients are small, and uses 0
where that denominator vanishes. Differences from pytorch-grad-cam's ``GradCAMPlusPlus``:
it adds 1e-6 to the denominator of the first form, which changes ``alpha`` noticeably
wherever ``g^2`` is not much larger than 1e-6 (small gradients, as in a randomly
initialised network); wsol keeps the paper's exact value. Like pytorch-grad-cam (and
unlike the paper's ``exp(S_c)`` scaling of the weights, a per-image constant) the
gradients are those of the logit itself.
"""

from __future__ import annotations

import torch
from torch import Tensor

from wsol.explainers import EXPLAINERS
from wsol.explainers.base import GradientCAM, safe_divide


@EXPLAINERS.register("gradcampp")
class GradCAMPlusPlus(GradientCAM):
    def combine(self, acts: Tensor, grads: Tensor) -> Tensor:
        positive = torch.relu(grads)
        alpha = safe_divide(torch.ones_like(grads), 2 + acts.sum((2, 3), keepdim=True) * grads)
        weights = (positive * alpha).sum((2, 3), keepdim=True)
        return (weights * acts).sum(1)
