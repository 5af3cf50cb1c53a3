"""BridgeGap: align foreground features with the class weight, shrink background features."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from wsol.errors import ConfigError
from wsol.methods import METHODS
from wsol.methods._classifier import class_activation, forward_with_features, linear_classifier
from wsol.methods.base import Method
from wsol.methods.erasing import normalize_maps
from wsol.models.output import ModelOutput


@METHODS.register("bridgegap")
class BridgeGap(Method):
    """BridgeGap (Kim et al., "Bridging the Gap between Classification and Localization for
    Weakly Supervised Object Localization", CVPR 2022; official code
    github.com/ejkim47/bridging-gap-wsol).

    CAM is ``w_c . f = |w_c| |f| cos(w_c, f)``: locations of the object whose features point
    away from the class weight stay dark. With ``A`` the label class's CAM min-max normalised
    per image (no gradient), foreground ``P = {A >= fg_threshold}`` and background
    ``Q = {A <= bg_threshold}``:

        ``L = CE + sim_weight * mean_P (1 - cos(f_ij, w_c)) + norm_weight * mean_Q |f_ij|``

    (feature direction alignment: foreground features turn towards ``w_c``; background
    features shrink so they do not activate any class). Localization maps are the plain CAM.

    Defaults are the official ResNet50/CUB config's (``sim_fg_thres`` 0.4, ``sim_bg_thres`` 0.2,
    ``loss_ratio_sim`` 0.5, ``loss_ratio_norm`` 0.05). Differs from the paper: its "consistency
    with attentive dropout" term is omitted, and so is the official code's warm-up of plain
    cross-entropy epochs (use a vanilla run's checkpoint as ``pretrained`` for that).
    """

    def __init__(
        self,
        fg_threshold: float = 0.4,
        bg_threshold: float = 0.2,
        sim_weight: float = 0.5,
        norm_weight: float = 0.05,
    ) -> None:
        if not 0.0 <= bg_threshold < fg_threshold <= 1.0:
            raise ConfigError(
                f"method.bg_threshold, fg_threshold: need 0 <= bg < fg <= 1, "
                f"got {bg_threshold}, {fg_threshold}"
            )
        self.fg_threshold, self.bg_threshold = fg_threshold, bg_threshold
        self.sim_weight, self.norm_weight = sim_weight, norm_weight

    def setup(self, model: nn.Module) -> None:
        linear_classifier(model, "bridgegap")

    def training_step(self, model: nn.Module, images: Tensor, labels: Tensor) -> tuple[Tensor, ModelOutput]:
        features, output = forward_with_features(model, images)
        classifier, fmap = model.head.classifier, features[-1]
        cam = normalize_maps(class_activation(classifier, fmap, labels).detach())
        cosine = F.cosine_similarity(fmap, classifier.weight[labels][:, :, None, None], dim=1)
        alignment = masked_mean(1 - cosine, cam >= self.fg_threshold)
        shrinking = masked_mean(fmap.norm(dim=1), cam <= self.bg_threshold)
        return self.loss(output, labels) + self.sim_weight * alignment + self.norm_weight * shrinking, output


def masked_mean(values: Tensor, mask: Tensor) -> Tensor:
    """Mean of ``values`` over the ``True`` entries of ``mask`` (0 when there are none)."""
    return (values * mask).sum() / mask.sum().clamp_min(1)
