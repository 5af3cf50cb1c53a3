"""Eigen-CAM (Muhammad & Yeasin, IJCNN 2020, https://arxiv.org/abs/2008.00299).

The projection of the target layer's activations on their first principal direction:
with ``M`` the ``(h*w, C)`` matrix of an image's activations and ``M = U S V^T`` its SVD,
the map is ``M v_1 = s_1 u_1``, reshaped to ``(h, w)``. Class-agnostic (``targets`` are
ignored). The singular vector's sign is arbitrary; wsol picks the one that makes the
map sum to a non-negative value (for non-negative activations the map is then
non-negative everywhere, by Perron-Frobenius).

Differences from pytorch-grad-cam's ``EigenCAM``: it centres each channel before the
SVD, keeps whatever sign the SVD returns and clips negatives, so its map can come out
inverted and then zeroed; wsol follows the paper (no centring) with the sign rule above
and no clipping. ``s_1 u_1`` is computed, batched on the device, from the
eigendecomposition of the smaller Gram matrix (``M M^T`` or ``M^T M``): the same first
component as the SVD up to float rounding, and cheaper than a batched SVD.
"""

from __future__ import annotations

import torch
from torch import Tensor

from wsol.explainers import EXPLAINERS
from wsol.explainers.base import Explainer


@EXPLAINERS.register("eigencam")
class EigenCAM(Explainer):
    non_negative = False

    def explain(self, images: Tensor, targets: Tensor | None) -> Tensor:
        _, acts = self.capture(images)
        b, c, h, w = acts.shape
        matrix = acts.reshape(b, c, h * w).mT
        if h * w <= c:
            values, vectors = torch.linalg.eigh(matrix @ matrix.mT)
            projection = vectors[..., -1] * values[..., -1:].clamp(min=0).sqrt()
        else:
            vectors = torch.linalg.eigh(matrix.mT @ matrix).eigenvectors
            projection = (matrix @ vectors[..., -1:])[..., 0]
        sign = torch.where(projection.sum(1, keepdim=True) < 0, -1.0, 1.0)
        return (sign * projection).view(b, h, w)
