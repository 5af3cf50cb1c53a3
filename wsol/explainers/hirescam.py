"""HiResCAM (Draelos & Carin, 2020, https://arxiv.org/abs/2011.08891).

``ReLU(sum_k dS_c/dA_k ⊙ A_k)``: the element-wise product of gradients and activations,
without Grad-CAM's spatial averaging of the gradient, so that only locations the score
actually depends on light up. The final ReLU is Grad-CAM's, as in pytorch-grad-cam's
``HiResCAM``, which this equals before its min-max normalisation and resizing.
"""

from __future__ import annotations

from torch import Tensor

from wsol.explainers import EXPLAINERS
from wsol.explainers.base import GradientCAM


@EXPLAINERS.register("hirescam")
class HiResCAM(GradientCAM):
    def combine(self, acts: Tensor, grads: Tensor) -> Tensor:
        return (grads * acts).sum(1)
