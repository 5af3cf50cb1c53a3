"""XGrad-CAM (Fu et al., BMVC 2020, https://arxiv.org/abs/2008.02312).

``ReLU(sum_k w_k A_k)`` with ``w_k = sum_ij (A_k,ij / sum_ab A_k,ab) dS_c/dA_k,ij``: the
gradient averaged with the activations' own spatial distribution as weights. A channel
whose activations sum to 0 gets weight 0; pytorch-grad-cam's ``XGradCAM`` instead adds
1e-7 to that denominator, a difference of relative size ``1e-7 / sum_ab A_k,ab`` (and
none for an all-zero post-ReLU channel, which contributes nothing either way).
"""

from __future__ import annotations

from torch import Tensor

from wsol.explainers import EXPLAINERS
from wsol.explainers.base import GradientCAM, safe_divide


@EXPLAINERS.register("xgradcam")
class XGradCAM(GradientCAM):
    def combine(self, acts: Tensor, grads: Tensor) -> Tensor:
        weights = safe_divide((grads * acts).sum((2, 3), keepdim=True), acts.sum((2, 3), keepdim=True))
        return (weights * acts).sum(1)
