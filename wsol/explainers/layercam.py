"""Layer-CAM (Jiang et al., IEEE TIP 2021, https://ieeexplore.ieee.org/document/9462463).

``ReLU(sum_k ReLU(dS_c/dA_k) ⊙ A_k)``: every location is weighted by its own positive
gradient. Same as pytorch-grad-cam's ``LayerCAM`` before its min-max normalisation and
resizing. The paper's fusion of several layers is left to the caller (explain each
layer and combine the normalised maps).
"""

from __future__ import annotations

import torch
from torch import Tensor

from wsol.explainers import EXPLAINERS
from wsol.explainers.base import GradientCAM


@EXPLAINERS.register("layercam")
class LayerCAM(GradientCAM):
    def combine(self, acts: Tensor, grads: Tensor) -> Tensor:
        return (torch.relu(grads) * acts).sum(1)
