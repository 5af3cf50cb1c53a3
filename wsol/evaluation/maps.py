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


def center_map(images: Tensor, sigma_frac: float = 0.3) -> Tensor:
    """``(B, H, W)`` copies of the centred Gaussian :func:`~wsol.metrics.fixations.center_bias`
    (peak 1, standard deviation ``sigma_frac`` of each side) at the input's resolution."""
    gaussian = torch.as_tensor(center_bias(tuple(images.shape[-2:]), sigma_frac), dtype=torch.float32)
    return gaussian.to(images.device).expand(images.shape[0], -1, -1)


def gradient_map(images: Tensor, sigma_frac: float = 0.04) -> Tensor:
    """``(B, H, W)`` blurred gradient magnitude of the images: a map made from the pixels alone.

    ``G = blur_s(|Sobel(I)|)``: ``I`` is the channel mean of the (normalised) input, ``|Sobel|``
    the Euclidean norm of its 3x3 Sobel derivatives (replicated border), ``blur_s`` a
    Gaussian of standard deviation ``s = sigma_frac * max(H, W)`` pixels (reflected border,
    truncated at 3 s). Edges and texture, where the eyes of observers and the edges of objects
    are, score high; flat sky and walls low. The classic low-level cue of saliency models
    (Itti, Koch & Niebur, PAMI 1998 use oriented contrast at several scales; this is one scale
    of one channel).
    """
    gray = images.float().mean(1, keepdim=True)
    sobel = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]], device=images.device)
    padded = nn.functional.pad(gray, (1, 1, 1, 1), mode="replicate")
    gx = nn.functional.conv2d(padded, sobel[None, None])
    gy = nn.functional.conv2d(padded, sobel.T[None, None])
    return _gaussian_blur(torch.sqrt(gx**2 + gy**2), sigma_frac * max(images.shape[-2:]))[:, 0]


def _gaussian_blur(maps: Tensor, sigma: float) -> Tensor:
    """Separable Gaussian blur of ``(B, 1, H, W)`` maps (reflected border, radius ``3 sigma``)."""
    h, w = maps.shape[-2:]
    radius = max(1, min(int(3 * sigma + 0.5), h - 1, w - 1))
    x = torch.arange(-radius, radius + 1, dtype=maps.dtype, device=maps.device)
    kernel = torch.exp(-0.5 * (x / sigma) ** 2)
    kernel = kernel / kernel.sum()
    rows = nn.functional.pad(maps, (radius, radius, 0, 0), mode="reflect")
    out = nn.functional.conv2d(rows, kernel[None, None, None])
    columns = nn.functional.pad(out, (0, 0, radius, radius), mode="reflect")
    return nn.functional.conv2d(columns, kernel[None, None, :, None])


BASELINES: dict[str, Callable[[Tensor], Tensor]] = {"center": center_map, "gradient": gradient_map}


def baseline_maps(model: nn.Module, baseline: str) -> MapFn:
    """The model's logits with a map that ignores the model (:data:`BASELINES`).

    ``center``: :func:`center_map`, the same for every image; it tells how much of a score a
    map gets from photographers' centre bias alone. ``gradient``: :func:`gradient_map`, how
    much a map gets from edges alone.
    """
    make_map = BASELINES[check_choice(baseline, sorted(BASELINES), "baseline")]

    def compute(images: Tensor, labels: Tensor) -> tuple[Tensor, Tensor]:
        with torch.no_grad():
            logits = model(images).logits.float()
            return logits, make_map(images)

    return compute
