"""CutMix as a WSOL baseline: paste a box of another training image, mix the labels."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from wsol.errors import ConfigError
from wsol.methods import METHODS
from wsol.methods.base import Method
from wsol.models.output import ModelOutput


@METHODS.register("cutmix")
class CutMix(Method):
    """CutMix (Yun et al., "CutMix: Regularization Strategy to Train Strong Classifiers
    with Localizable Features", ICCV 2019; github.com/clovaai/CutMix-PyTorch), trained as
    a WSOL method as in wsolevaluation (``wsol/method/cutmix.py``, ``main.py``).

    With probability ``prob`` a batch is mixed: ``lam ~ Beta(beta, beta)``, the batch is
    paired with a random permutation of itself, and the box reaching ``floor(S * sqrt(1 -
    lam)) // 2`` pixels to either side of a uniform random pixel (clipped to the image)
    is pasted from the partner. The loss is ``lam' CE(y_a) + (1 - lam') CE(y_b)`` with ``lam'`` the share of
    pixels left unpasted. Defaults are wsolevaluation's: ``prob`` 1.0, ``beta`` 1.0. All
    draws come from torch's generator (the reference mixes numpy and torch), so runs are
    reproducible under ``seed``. Evaluation is the plain model.
    """

    def __init__(self, beta: float = 1.0, prob: float = 1.0) -> None:
        if beta <= 0:
            raise ConfigError(f"method.beta: must be positive, got {beta}")
        if not 0.0 <= prob <= 1.0:
            raise ConfigError(f"method.prob: {prob} is not in [0, 1]")
        self.beta, self.prob = beta, prob

    def training_step(self, model: nn.Module, images: Tensor, labels: Tensor) -> tuple[Tensor, ModelOutput]:
        if torch.rand(()).item() >= self.prob:
            return super().training_step(model, images, labels)
        lam = torch.distributions.Beta(self.beta, self.beta).sample().item()
        partner = torch.randperm(images.shape[0]).to(images.device)
        box = cut_box(images.shape[-2], images.shape[-1], lam)
        mixed, kept = paste_box(images, partner, box)
        output = model(mixed)
        loss = kept * self.loss(output, labels) + (1.0 - kept) * self.loss(output, labels[partner])
        return loss, output


def cut_box(height: int, width: int, lam: float) -> tuple[int, int, int, int]:
    """``(y0, y1, x0, x1)`` (ends exclusive) of a random box covering about ``1 - lam`` of the image."""
    ratio = math.sqrt(1.0 - lam)
    half_h, half_w = int(height * ratio) // 2, int(width * ratio) // 2
    cy, cx = torch.randint(height, ()).item(), torch.randint(width, ()).item()
    return (
        max(cy - half_h, 0),
        min(cy + half_h, height),
        max(cx - half_w, 0),
        min(cx + half_w, width),
    )


def paste_box(images: Tensor, partner: Tensor, box: tuple[int, int, int, int]) -> tuple[Tensor, float]:
    """``images`` with ``box`` taken from ``images[partner]``, and the share of pixels kept."""
    y0, y1, x0, x1 = box
    mixed = images.clone()
    mixed[:, :, y0:y1, x0:x1] = images[partner, :, y0:y1, x0:x1]
    return mixed, 1.0 - (y1 - y0) * (x1 - x0) / (images.shape[-2] * images.shape[-1])
