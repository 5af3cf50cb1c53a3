"""Adversarial erasing: an offline cascade of classifiers, each trained on what the previous ones left."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from wsol.errors import ConfigError
from wsol.methods import METHODS
from wsol.methods.base import CascadeMethod
from wsol.methods.erasing import fill_images, normalize_maps
from wsol.models.output import ModelOutput


@METHODS.register("adversarial_erasing")
class AdversarialErasing(CascadeMethod):
    """AE (Wei et al., "Object Region Mining with Adversarial Erasing: A Simple
    Classification to Semantic Segmentation Approach", CVPR 2017).

    A :class:`~wsol.methods.base.CascadeMethod` (run by :func:`wsol.engine.cascade.run_cascade`): stage 0
    is a plain classifier; stage ``k`` trains a fresh classifier on the training images
    with the regions found by stages ``0..k-1`` erased. Erasing is cumulative, as in the
    paper: stage ``j`` computes its CAM of the ground-truth class on the image already
    erased by stages ``< j``, the CAM is resized bilinearly to the input and min-max
    normalised, and pixels with value ``>= erase_threshold`` are set to ``fill``. The
    paper fills with the mean pixel; on wsol's normalised inputs that is 0 (the default).

    The cascade runs ``num_stages`` stages, or stops early when a stage's top-1 accuracy
    on the erased validation images falls below ``min_accuracy`` (%); that stage is then
    dropped (the paper stops when the classifier no longer learns the erased images).
    Erasing happens on the fly, in the training step, at the training resolution after
    augmentation, with the earlier stages frozen in eval mode (rather than in a dataset
    wrapper or a per-image cache: the frozen stages run batched on the training device,
    erased pixels follow every crop and flip exactly, and the same code erases the
    validation and test images at evaluation).

    Localization map (the cascade's output): the maximum over stages of each stage's
    min-max normalised CAM at feature resolution, stage ``k`` looking at the image as
    erased by the stages before it (using the ground-truth class, the GT-known protocol
    of the maps); classification uses stage 0's logits on the unerased image.

    No official code was found: ``num_stages`` 3, ``erase_threshold`` 0.5 and
    ``min_accuracy`` 0 (no early stop) are wsol's defaults, not the paper's values.
    """

    def __init__(
        self, num_stages: int = 3, erase_threshold: float = 0.5, min_accuracy: float = 0.0, fill: float = 0.0
    ) -> None:
        if num_stages < 1:
            raise ConfigError(f"method.num_stages: need at least 1, got {num_stages}")
        if not 0.0 <= erase_threshold <= 1.0:
            raise ConfigError(f"method.erase_threshold: {erase_threshold} is not in [0, 1]")
        super().__init__()
        self.num_stages, self.erase_threshold = num_stages, erase_threshold
        self.min_accuracy, self.fill = min_accuracy, fill

    def inputs_for_next(self, images: Tensor, labels: Tensor) -> Tensor:
        """``images`` erased by every frozen stage in turn, with the maps of ``labels``."""
        with torch.no_grad():
            for stage in self.stages:
                _, _, images = self._stage_step(stage, images, labels)
        return images

    def training_step(self, model: nn.Module, images: Tensor, labels: Tensor) -> tuple[Tensor, ModelOutput]:
        return super().training_step(model, self.inputs_for_next(images, labels), labels)

    def localization_map(self, model: nn.Module, images: Tensor, targets: Tensor) -> tuple[Tensor, Tensor]:
        stages = [*self.stages, model]
        logits, fused, current = self._stage_step(stages[0], images, targets)
        for stage in stages[1:]:
            _, maps, current = self._stage_step(stage, current, targets)
            fused = torch.maximum(fused, maps)
        return logits, fused

    def _stage_step(self, stage: nn.Module, images: Tensor, classes: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """``(logits, normalised CAMs of classes, images erased where the CAM is high)``."""
        output = stage(images)
        cams = output.localization_map(classes).float()
        upsampled = F.interpolate(cams[:, None], size=images.shape[-2:], mode="bilinear", align_corners=False)
        erase = normalize_maps(upsampled[:, 0]) >= self.erase_threshold
        return output.logits, normalize_maps(cams), fill_images(images, erase, self.fill)
