"""SPG: self-produced guidance, pixel-level masks from the network's own maps."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from wsol.errors import ConfigError
from wsol.methods import METHODS
from wsol.methods.base import Method
from wsol.methods.erasing import normalize_maps
from wsol.models.output import ModelOutput

IGNORE = 255  # mask value of the pixels a guidance loss skips (wsolevaluation's)
DEFAULT_THRESHOLDS = ((0.7, 0.01), (0.5, 0.05), (0.7, 0.1))  # wsolevaluation's config.py spg_threshold_*


def spg_mask(
    attention: Tensor, high: float, low: float, min_foreground: int = 30, fallback_ratio: float = 0.7
) -> Tensor:
    """Self-produced guidance of ``attention (B, H, W)``: 1 object, 0 background, ``IGNORE`` else.

    Object: ``a > high``, or ``a > fallback_ratio * max(a)`` for an image with fewer than
    ``min_foreground`` pixels above ``high``; background: ``a < low`` (it wins over object).
    wsolevaluation ``wsol/method/spg.py`` (``get_mask``, ``mask_fg``, ``mask_bg``).
    """
    foreground = attention > high
    few = foreground.flatten(1).sum(1) < min_foreground
    fallback = attention > fallback_ratio * attention.flatten(1).amax(1)[:, None, None]
    foreground = torch.where(few[:, None, None], fallback, foreground)
    mask = torch.full(attention.shape, IGNORE, dtype=torch.uint8, device=attention.device)
    mask[foreground] = 1
    mask[attention < low] = 0
    return mask


def guidance_loss(logits: Tensor, mask: Tensor) -> Tensor:
    """Binary cross-entropy of ``logits (B, H, W)`` on the pixels of ``mask`` that are not ``IGNORE``.

    The mean over those pixels of the whole batch, 0 if there is none (wsolevaluation's
    mean over an empty set would be NaN).
    """
    keep = mask != IGNORE
    if not keep.any():
        return logits.sum() * 0.0
    return F.binary_cross_entropy_with_logits(logits[keep], mask[keep].to(logits.dtype))


class SPGHead(nn.Module):
    """The model's head plus SPG's branches B1, B2 (sharing their last layers) and C.

    ``forward(features)`` returns the base head's output; in training mode inside
    :meth:`guided_by`, it adds the three guidance losses (``aux_losses``): with ``up`` the
    bilinear resize to ``mask_size`` and ``m(a, h, l)`` :func:`spg_mask`,

    * ``spg_b2``: B2's logits on ``m(normalise(up(CAM_y)), h1, l1)``;
    * ``spg_b1``: B1's logits on ``m(sigmoid(up(B2)), h2, l2)``;
    * ``spg_c``: C's logits on ``m((sigmoid(up(B1)) + sigmoid(up(B2))) / 2, h3, l3)``;

    where ``CAM_y`` is the base head's map of the ground-truth class ``y``. Every branch's
    logits are resized with ``up`` too.
    """

    map_kind: ClassVar[str] = "class"

    def __init__(
        self, base: nn.Module, in_channels: list[int], stages: tuple[int, int, int], method: SPG
    ) -> None:
        super().__init__()
        self.base = base
        self.stages = stages
        width = method.branch_channels
        self.b1 = _conv_relu(in_channels[stages[0]], width)
        self.b2 = _conv_relu(in_channels[stages[1]], width)
        self.shared = nn.Sequential(*_conv_relu(width, width), nn.Conv2d(width, 1, 1))
        self.c = nn.Sequential(*_conv_relu(in_channels[stages[2]], method.c_channels))
        self.c.append(nn.Conv2d(method.c_channels, 1, 1))
        for module in (self.b1, self.b2, self.shared, self.c):
            _xavier(module)
        self.method = (method,)  # a tuple: options, not a submodule
        self.labels: Tensor | None = None

    def forward(self, features: list[Tensor]) -> ModelOutput:
        out = self.base(features)
        if not self.training or self.labels is None:
            return out
        b1_at, b2_at, c_at = self.stages
        logits_b1 = self.shared(self.b1(features[b1_at]))
        logits_b2 = self.shared(self.b2(features[b2_at]))
        logits_c = self.c(features[c_at])
        aux = {**out.aux_losses, **self.method[0].losses(out, self.labels, logits_b1, logits_b2, logits_c)}
        return ModelOutput(logits=out.logits, class_maps=out.class_maps, aux_losses=aux)

    @contextlib.contextmanager
    def guided_by(self, labels: Tensor) -> Iterator[None]:
        """Compute the guidance losses for ``labels`` inside the block."""
        self.labels = labels
        try:
            yield
        finally:
            self.labels = None


def _conv_relu(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1), nn.ReLU(inplace=True))


def _xavier(module: nn.Module) -> None:
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)


@METHODS.register("spg")
class SPG(Method):
    """SPG (Zhang et al., "Self-produced Guidance for Weakly-supervised Object Localization",
    ECCV 2018; github.com/xiaomengyc/SPG), as wsolevaluation trains it (``wsol/method/spg.py``,
    the ``*Spg`` networks of ``wsol/vgg.py``, ``resnet.py``, ``inception.py``).

    ``setup`` wraps the model's head into an :class:`SPGHead` whose branches read backbone
    stages ``b1_stage`` and ``b2_stage`` (B1, B2: a 3x3 convolution of ``branch_channels``
    each, then a shared 3x3 convolution and a 1x1 convolution to one channel) and
    ``c_stage`` (C: a 3x3 convolution of ``c_channels`` and a 1x1 to one channel). The
    loss is ``CE + spg_b2 + spg_b1 + spg_c`` (see :class:`SPGHead`); the localization map
    is the head's CAM, as in wsolevaluation.

    ``thresholds`` are ``[[h1, l1], [h2, l2], [h3, l3]]``, default wsolevaluation's
    ``config.py`` ((0.7, 0.01), (0.5, 0.05), (0.7, 0.1)); ``mask_size`` 224, ``min_foreground``
    30 and ``fallback_ratio`` 0.7 are constants of its code. Stages for the ``wsoleval_*``
    backbones: VGG16 (variant ``spg``) and InceptionV3 (1, 2, -1), ResNet50 (2, 3, -1) with
    ``branch_channels`` 1024; by default B1 and B2 read the third- and second-to-last stages
    (the first stage if the backbone has fewer) and C the last. Differs from the reference
    only where a batch has no pixel left by a mask: that loss is 0 (NaN in the reference).
    """

    def __init__(
        self,
        thresholds: Sequence[Sequence[float]] = DEFAULT_THRESHOLDS,
        b1_stage: int | None = None,
        b2_stage: int | None = None,
        c_stage: int = -1,
        branch_channels: int = 512,
        c_channels: int = 512,
        mask_size: int = 224,
        min_foreground: int = 30,
        fallback_ratio: float = 0.7,
    ) -> None:
        pairs = [tuple(float(v) for v in pair) for pair in thresholds]
        if len(pairs) != 3 or any(len(p) != 2 or not 0.0 <= p[1] <= p[0] <= 1.0 for p in pairs):
            raise ConfigError(f"method.thresholds: need three [high, low] pairs in [0, 1], got {thresholds}")
        self.thresholds = pairs
        self.b1_stage, self.b2_stage, self.c_stage = b1_stage, b2_stage, c_stage
        self.branch_channels, self.c_channels = branch_channels, c_channels
        self.mask_size, self.min_foreground, self.fallback_ratio = mask_size, min_foreground, fallback_ratio
        self.head: SPGHead | None = None

    def setup(self, model: nn.Module) -> None:
        if model.map_kind != "class":
            raise ConfigError(f"method: spg needs a head with class maps, got map_kind {model.map_kind!r}")
        if getattr(model.head, "runs_backbone", False):
            raise ConfigError(
                "method: spg needs a head that takes features; model.head runs the backbone itself"
            )
        channels = model.backbone.channels
        n = len(channels)
        chosen = {
            "b1_stage": max(n - 3, 0) if self.b1_stage is None else self.b1_stage,
            "b2_stage": max(n - 2, 0) if self.b2_stage is None else self.b2_stage,
            "c_stage": self.c_stage,
        }
        for option, stage in chosen.items():
            if not -n <= stage < n:
                raise ConfigError(f"method.{option}: the backbone has no stage {stage}")
        self.head = SPGHead(model.head, channels, tuple(chosen.values()), self)
        model.head = self.head

    def training_step(self, model: nn.Module, images: Tensor, labels: Tensor) -> tuple[Tensor, ModelOutput]:
        if self.head is None:
            raise RuntimeError("SPG.setup(model) must run before training")
        with self.head.guided_by(labels):
            output = model(images)
        return self.loss(output, labels), output

    def losses(
        self, out: ModelOutput, labels: Tensor, logits_b1: Tensor, logits_b2: Tensor, logits_c: Tensor
    ) -> dict[str, Tensor]:
        """The three guidance losses (see :class:`SPGHead`)."""
        (h1, l1), (h2, l2), (h3, l3) = self.thresholds
        up = self._upsample
        cam = up(out.class_maps.detach().float())
        attention = normalize_maps(cam[torch.arange(len(labels)), labels])
        b1, b2, c = up(logits_b1)[:, 0], up(logits_b2)[:, 0], up(logits_c)[:, 0]
        b2_prob = torch.sigmoid(b2.detach())
        fused = (torch.sigmoid(b1.detach()) + b2_prob) / 2
        return {
            "spg_b2": guidance_loss(b2, self._mask(attention, h1, l1)),
            "spg_b1": guidance_loss(b1, self._mask(b2_prob, h2, l2)),
            "spg_c": guidance_loss(c, self._mask(fused, h3, l3)),
        }

    def _upsample(self, maps: Tensor) -> Tensor:
        return F.interpolate(
            maps, size=(self.mask_size, self.mask_size), mode="bilinear", align_corners=False
        )

    def _mask(self, attention: Tensor, high: float, low: float) -> Tensor:
        return spg_mask(attention, high, low, self.min_foreground, self.fallback_ratio)
