"""Vanilla gradient saliency (Simonyan et al., ICLR Workshop 2014, https://arxiv.org/abs/1312.6034).

``M_ij = max_c |dS/dX_c,ij|``: the largest absolute derivative of the target logit over
the input's channels at each pixel (Sec. 3.1 of the paper). Input resolution,
non-negative; ``target_layer`` is ignored. The gradient goes down to the input with
``torch.autograd.grad``, so parameters' ``.grad`` are left alone.
"""

from __future__ import annotations

import torch
from torch import Tensor

from wsol.explainers import EXPLAINERS
from wsol.explainers.base import Explainer


@EXPLAINERS.register("saliency")
class Saliency(Explainer):
    space = "input"

    def explain(self, images: Tensor, targets: Tensor | None) -> Tensor:
        return self.gradient(images, targets).abs().amax(1)

    def gradient(self, images: Tensor, targets: Tensor | None) -> Tensor:
        """``(B, C, H, W)`` gradient of each image's target logit with respect to the image."""
        with torch.enable_grad():
            x = images if self.differentiable and images.requires_grad else images.detach().requires_grad_()
            logits = self.forward(x)
            return self.target_gradient(logits, self.resolve_targets(logits, targets), x, "the input")
