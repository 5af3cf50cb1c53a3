"""PSOL: pseudo boxes from DDT train a localizer separate from the classifier."""

from __future__ import annotations

import copy

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage
from torch import Tensor, nn

from wsol.errors import ConfigError
from wsol.methods import METHODS
from wsol.methods._classifier import forward_with_features
from wsol.methods.pc1 import PC1
from wsol.models.output import ModelOutput


class BoxLocalizer(nn.Module):
    """A backbone and a linear regressor on its pooled last features: ``(B, 4)`` boxes
    ``[x0, y0, x1, y1]`` in ``[0, 1]``, from a centre ``(cx, cy)`` and size ``(w, h)`` (sigmoid
    outputs) clipped to the image. At initialisation the box is about the image's central
    half, not a degenerate point."""

    def __init__(self, backbone: nn.Module, channels: int) -> None:
        super().__init__()
        self.backbone = backbone
        self.regressor = nn.Linear(channels, 4)

    def forward(self, images: Tensor) -> Tensor:
        centre, size = torch.sigmoid(self.regressor(self.backbone(images)[-1].mean(dim=(2, 3)))).split(2, 1)
        return torch.cat([centre - size / 2, centre + size / 2], dim=1).clamp(0, 1)


def pseudo_boxes(maps: Tensor) -> Tensor:
    """``(B, 4)`` normalised boxes of the largest 8-connected region where ``maps (B, h, w) > 0``
    (DDT's rule); the whole image when no location is positive."""
    boxes = []
    for positive in (maps > 0).cpu().numpy():
        labels, count = ndimage.label(positive, structure=np.ones((3, 3)))
        if not count:
            boxes.append([0.0, 0.0, 1.0, 1.0])
            continue
        largest = 1 + int(np.argmax(ndimage.sum_labels(positive, labels, range(1, count + 1))))
        rows, cols = np.nonzero(labels == largest)
        h, w = positive.shape
        boxes.append([cols.min() / w, rows.min() / h, (cols.max() + 1) / w, (rows.max() + 1) / h])
    return torch.tensor(boxes, dtype=maps.dtype, device=maps.device)


def box_maps(boxes: Tensor, size: tuple[int, int]) -> Tensor:
    """``(B, H, W)`` maps of normalised boxes: 0 at pixels whose centre lies outside the box,
    ``1 + r`` inside, ``r`` in ``[0, 1]`` the pixel's distance to the nearest box edge over the
    largest such distance. Any threshold between 0 and the edge value recovers the box, and a
    box covering the whole image does not give a constant map (which evaluation would
    normalise to zeros: no box at all)."""
    ys = (torch.arange(size[0], device=boxes.device, dtype=boxes.dtype) + 0.5) / size[0]
    xs = (torch.arange(size[1], device=boxes.device, dtype=boxes.dtype) + 0.5) / size[1]
    dy = torch.minimum(ys - boxes[:, 1:2], boxes[:, 3:4] - ys)  # (B, H): > 0 inside
    dx = torch.minimum(xs - boxes[:, 0:1], boxes[:, 2:3] - xs)  # (B, W)
    depth = torch.minimum(dy[:, :, None], dx[:, None, :])
    inside = depth >= 0
    ramp = depth.clamp(min=0) / depth.flatten(1).amax(1).clamp(min=1e-12)[:, None, None]
    return torch.where(inside, 1 + ramp, 0.0)


@METHODS.register("psol")
class PSOL(PC1):
    """PSOL (Zhang et al., "Rethinking the Route Towards Weakly Supervised Object Localization",
    CVPR 2020; official code github.com/tzzcl/PSOL).

    Localization and classification are decoupled. A class-agnostic pseudo box per image
    comes from DDT: the largest connected region where the PC1 map of the classifier's stage
    ``stage`` features is positive (:class:`~wsol.methods.pc1.PC1`, :func:`pseudo_boxes`). A
    separate localizer (:class:`BoxLocalizer`: a copy of the model's backbone, taken at setup,
    so pretrained if the model is, and a box regressor) learns them:

        ``L = CE(classifier) + box_weight * MSE(localizer(x), pseudo_box(x))``

    (the paper's mean squared error on normalised box coordinates). Maps at evaluation: the
    localizer's box drawn at the input resolution (:func:`box_maps`: 0 outside, rising from 1
    at the edges inside); the classifier gives the logits.

    Differs from the paper: PSOL runs DDT once, before training, on an ImageNet-pretrained
    network and trains the localizer afterwards; wsol runs DDT on the classifier's backbone
    as it trains (running statistics; or exact ones from :meth:`fit`), computing pseudo boxes
    on each augmented batch, and trains classifier and localizer together, so a random-init
    model (SynthParts) gets useful boxes once its features are.
    """

    def __init__(self, stage: int = -1, momentum: float | None = 0.1, box_weight: float = 1.0) -> None:
        super().__init__(stage, momentum)
        if box_weight <= 0:
            raise ConfigError(f"method.box_weight: {box_weight} must be positive")
        self.box_weight = box_weight

    def setup(self, model: nn.Module) -> None:
        model.localizer = BoxLocalizer(copy.deepcopy(model.backbone), model.backbone.channels[-1])
        super().setup(model)

    def training_step(self, model: nn.Module, images: Tensor, labels: Tensor) -> tuple[Tensor, ModelOutput]:
        _, output = forward_with_features(model, images)
        target = pseudo_boxes(output.attention[:, 0].detach())
        predicted = model.localizer(images)
        loss = self.loss(output, labels) + self.box_weight * F.mse_loss(predicted, target)
        return loss, ModelOutput(
            output.logits, attention=output.attention, boxes=predicted, aux_losses=output.aux_losses
        )

    def localization_map(self, model: nn.Module, images: Tensor, targets: Tensor) -> tuple[Tensor, Tensor]:
        return model(images).logits, box_maps(model.localizer(images), tuple(images.shape[-2:]))
