"""Where evaluated maps come from: the model's own method, a post-hoc explainer, or a baseline.

Each source is a map function ``(images, labels) -> (logits, maps)``: ``(B, K)`` float
logits (the classification scored as top-1) and ``(B, h, w)`` float maps of each image's
``labels`` class (wsolevaluation's GT-known protocol).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import torch
from torch import Tensor, nn

from wsol.errors import check_choice
from wsol.explainers import create_explainer
from wsol.methods.base import Method
from wsol.metrics.fixations import center_bias
from wsol.utils.precision import autocast

MapFn = Callable[[Tensor, Tensor], tuple[Tensor, Tensor]]
ExplainFn = Callable[[nn.Module, Tensor, Tensor], Tensor]
BASELINES = ("center",)


@dataclass
class MapSource:
    """A trained ``model`` and its ``method``; maps from the method unless ``explainer`` or ``baseline``."""

    model: nn.Module
    method: Method
    explainer: Mapping[str, Any] | None = None
    baseline: str | None = None

    def map_fn(self, amp: str, device: torch.device) -> MapFn:
        if self.baseline:
            return baseline_maps(self.model, self.baseline)
        if self.explainer:
            return explainer_maps(self.model, self.explainer)
        return method_maps(self.model, self.method, amp, device)

    def explain_fn(self, amp: str, device: torch.device) -> ExplainFn:
        """``(model, images, classes) -> maps`` of this source for ``model`` in place of
        ``self.model`` (e.g. a randomised copy, for :mod:`wsol.metrics.randomisation`)."""

        def explain(model: nn.Module, images: Tensor, classes: Tensor) -> Tensor:
            return replace(self, model=model).map_fn(amp, device)(images, classes)[1]

        return explain

    @property
    def label(self) -> str | None:
        """The baseline's or explainer's name (None for the method's own maps)."""
        return self.baseline or (self.explainer or {}).get("name")


def method_maps(model: nn.Module, method: Method, amp: str, device: torch.device) -> MapFn:
    """Maps from ``method.localization_map`` on ``model``, without gradients."""

    def compute(images: Tensor, labels: Tensor) -> tuple[Tensor, Tensor]:
        with torch.no_grad(), autocast(device, amp):
            logits, maps = method.localization_map(model, images, labels)
        return logits.float(), maps.float()

    return compute


def explainer_maps(model: nn.Module, spec: Mapping[str, Any]) -> MapFn:
    """Maps from a registered post-hoc explainer.

    For a :class:`~wsol.models.WSOLModel` the target layer defaults to the last backbone
    stage, and CAM's classifier to the head's ``classifier`` layer.
    """
    spec = dict(spec)
    if "target_layer" not in spec and hasattr(model, "backbone"):
        spec["target_layer"] = model.backbone.stage_modules[-1]
    if spec.get("name") == "cam" and "classifier" not in spec and hasattr(model.head, "classifier"):
        spec["classifier"] = model.head.classifier
    explainer = create_explainer(spec, model)

    def compute(images: Tensor, labels: Tensor) -> tuple[Tensor, Tensor]:
        with torch.no_grad():
            logits = model(images).logits
        return logits.float(), explainer(images, labels).detach().float()

    return compute


def baseline_maps(model: nn.Module, baseline: str, sigma_frac: float = 0.3) -> MapFn:
    """The model's logits with a map that ignores the image.

    ``center``: the centred Gaussian :func:`wsol.metrics.fixations.center_bias` (peak 1,
    standard deviation ``sigma_frac`` of each side) at the input's resolution, the same
    for every image; it tells how much of a score a map gets from photographers'
    centre bias alone.
    """
    check_choice(baseline, BASELINES, "baseline")

    def compute(images: Tensor, labels: Tensor) -> tuple[Tensor, Tensor]:
        with torch.no_grad():
            logits = model(images).logits.float()
        gaussian = torch.as_tensor(center_bias(tuple(images.shape[-2:]), sigma_frac), dtype=torch.float32)
        return logits, gaussian.to(images.device).expand(images.shape[0], -1, -1)

    return compute
