"""PC1 maps of a frozen pretrained backbone, signed and weighted by the centre prior (``pc1_center``)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from wsol.errors import ConfigError
from wsol.methods import METHODS
from wsol.methods.pc1 import PC1
from wsol.metrics.fixations import center_bias
from wsol.models.output import ModelOutput


@METHODS.register("pc1_center")
class PC1Center(PC1):
    """PC1 / DDT maps (:class:`~wsol.methods.pc1.PC1`) of a **frozen** backbone, read with the
    photographer's centre prior.

    With ``P`` the PC1 map of stage ``stage`` (``P_ij = v . (f_ij - mean)``, exact statistics
    over every training image) bilinearly resized to the input, and ``G`` the centred Gaussian
    :func:`~wsol.metrics.fixations.center_bias` with standard deviation ``sigma_frac`` of each
    side, the map of an image is

        ``M = max(s P, 0) * G``,  ``s = sign(sum_ij (P_ij - mean(P)) G_ij)``

    i.e. the component's sign is chosen per image so that the centre is positive (PCA's sign
    is arbitrary and, on real photos, the norm rule of :class:`PC1` can pick the background
    at a middle stage), its negative half is dropped and the rest is weighted by the prior.
    With ``positive`` false the negative half is kept, shifted: ``M = (s P - min(s P)) * G``
    (better for fixation AUCs, which count the ties of a zeroed half against the map).

    Training keeps the backbone in eval mode: its batch-norm layers use and keep their
    (ImageNet) statistics, and each step folds the batch's features (detached) into the PC1
    statistics (``momentum`` null, the default: the exact mean over the images seen) and
    returns the cross-entropy of the head on them, gradients flowing as for any method.
    With a negligible ``optim.lr`` (1e-12 in configs/pets/pc1_center.yaml) no weight changes: one epoch is a
    training-free fit of the component on the training images, under the train transform.
    Class-agnostic, image-level labels only.

    Differs from DDT (Wei et al., IJCAI 2017) and "CAM Back Again" (Yasuki & Taki, CVPR
    2024) by the per-image centre sign and the prior weight; the prior is the centre bias
    that saliency models add to their maps (e.g. Judd et al., ICCV 2009).
    """

    def __init__(
        self, stage: int = -2, momentum: float | None = None, sigma_frac: float = 0.2, positive: bool = True
    ) -> None:
        super().__init__(stage, momentum)
        if not sigma_frac > 0:
            raise ConfigError(f"method.sigma_frac: {sigma_frac} must be > 0")
        self.sigma_frac, self.positive = sigma_frac, positive

    def training_step(self, model: nn.Module, images: Tensor, labels: Tensor) -> tuple[Tensor, ModelOutput]:
        was_training = model.backbone.training
        model.backbone.eval()
        try:
            features = model.backbone(images)
        finally:
            model.backbone.train(was_training)
        model.head.component.update(features[self.stage])
        output = model.head.base(features)
        return self.loss(output, labels), output

    def localization_map(self, model: nn.Module, images: Tensor, targets: Tensor) -> tuple[Tensor, Tensor]:
        logits, maps = super().localization_map(model, images, targets)
        return logits, centered(maps, tuple(images.shape[-2:]), self.sigma_frac, self.positive)


def centered(maps: Tensor, size: tuple[int, int], sigma_frac: float, positive: bool = True) -> Tensor:
    """``M`` of :class:`PC1Center` for ``(B, h, w)`` PC1 maps ``P``, at ``size`` (H, W)."""
    maps = F.interpolate(maps[:, None].float(), size=size, mode="bilinear", align_corners=False)[:, 0]
    prior = torch.as_tensor(center_bias(size, sigma_frac), dtype=maps.dtype, device=maps.device)
    sign = torch.sign(((maps - maps.mean((1, 2), keepdim=True)) * prior).sum((1, 2)))
    sign = torch.where(sign == 0, torch.ones_like(sign), sign)
    signed = maps * sign[:, None, None]
    floor = 0.0 if positive else signed.amin((1, 2), keepdim=True)
    return (signed - floor).clamp_min(0) * prior
