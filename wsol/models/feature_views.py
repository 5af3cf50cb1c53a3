"""A layer's per-channel maps and what weights each channel, for ``tools/show_features.py``.

What weights a layer's channels, in the order looked for:

1. **Channel attention**, when the named layer is an attention layer
   (:data:`wsol.models.layers.ATTENTION`, e.g. ``head.layers.2`` of the ``se`` / ``cbam`` /
   ``bam`` heads) whose :class:`~wsol.models.layers.AttentionOutput` has a ``channel`` map
   ``(B, C, 1, 1)``: the per-image gates weight the layer's output channels (the
   recalibrated maps ``AttentionOutput.output``). SK's ``branch_weights`` are not a channel
   weighting; an SK layer falls through to 2.
2. **CAM weights** of a chosen class: ``w_c`` of the CAM classifier, when the layer's
   channels are the ones it weights (``CAM_c = sum_k w_ck f_k``, Zhou et al., CVPR 2016).

The resulting :class:`FeatureView` holds the layer's maps, each image's channel weights,
the class map and the model's own localization map.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from wsol.errors import ConfigError, did_you_mean
from wsol.models.heads.cam import CAMHead
from wsol.models.layers import AttentionOutput
from wsol.models.wsol_model import WSOLModel


@dataclass
class FeatureView:
    """One batch seen through one layer.

    Attributes:
        maps: ``(B, C, h, w)`` the layer's output.
        weights: ``(B, C)`` what weights each channel (see the module docstring).
        source: how ``weights`` were obtained, for titles (``"channel attention"``, ``"CAM w[c]"``).
        cam: ``(B, h', w')`` class map of each image's class, ``sum_k w_ck f_k`` with the CAM
            classifier's weights on the features it classifies, or None without a CAM classifier.
        attention: ``(B, h'', w'')`` the model's own localization map of each image's class.
    """

    maps: Tensor
    weights: Tensor
    source: str
    cam: Tensor | None
    attention: Tensor

    def order(self) -> Tensor:
        """``(B, C)`` channel indices of each image, largest weight first."""
        return self.weights.argsort(dim=1, descending=True)


def find_layer(model: nn.Module, name: str) -> nn.Module:
    """The submodule ``name`` of ``model`` (``dict(model.named_modules())``), one-line error otherwise."""
    modules = dict(model.named_modules())
    if name not in modules:
        hint = did_you_mean(name, modules) or f" (e.g. {', '.join(list(modules)[1:6])})"
        raise ConfigError(f"--layer: no module {name!r} in the model{hint}")
    return modules[name]


def cam_head(model: WSOLModel) -> CAMHead | None:
    """The CAM classifier of ``model``'s head (the head itself or one it holds), if any."""
    return next((m for m in model.head.modules() if isinstance(m, CAMHead)), None)


@contextmanager
def recording(layer: nn.Module) -> Iterator[dict[str, Tensor]]:
    """Record ``layer``'s output maps (``["maps"]``) and, for an attention layer, its channel gates."""
    record: dict[str, Tensor] = {}

    def keep(_module: nn.Module, _inputs: tuple[Tensor, ...], output: Tensor | AttentionOutput) -> None:
        if isinstance(output, AttentionOutput):
            record["maps"] = output.output
            if output.channel is not None:
                record["channel_attention"] = output.channel
        else:
            record["maps"] = output

    handle = layer.register_forward_hook(keep)
    try:
        yield record
    finally:
        handle.remove()


@contextmanager
def capture_input(head: CAMHead | None) -> Iterator[list]:
    """The features list the CAM head is last called with (``[features]`` after the forward; empty
    without a CAM head): the maps its class maps weight, after any attention layers (for the
    STN and glimpse heads, the window they read)."""
    found: list = []
    if head is None:
        yield found
        return

    def keep(_module: nn.Module, inputs: tuple[list[Tensor], ...]) -> None:
        found[:] = [inputs[0]]  # the last call (DCN calls its top layers on coarse features first)

    handle = head.register_forward_pre_hook(keep)
    try:
        yield found
    finally:
        handle.remove()


def view_features(model: WSOLModel, layer_name: str, images: Tensor, classes: Tensor) -> FeatureView:
    """Run ``model`` on ``images`` and return ``layer_name``'s maps weighted for ``classes`` ``(B,)``."""
    layer = find_layer(model, layer_name)
    head = cam_head(model)
    with recording(layer) as record, capture_input(head) as last, torch.no_grad():
        output = model(images)
    maps = record["maps"]
    cam = None
    if head is not None and last:
        cam = torch.einsum("bc,bchw->bhw", head.classifier.weight[classes], last[0][-1]).detach()
    if "channel_attention" in record:
        weights, source = record["channel_attention"].flatten(1), "channel attention"
    elif head is not None and head.classifier.in_features == maps.shape[1]:
        weights, source = head.classifier.weight[classes], "CAM w[c]"
    else:
        raise ConfigError(
            f"--layer: {layer_name!r} ({maps.shape[1]} channels) has no channel attention and is "
            "not the layer the CAM classifier weights"
        )
    if weights.shape != maps.shape[:2]:
        raise ValueError(f"channel weights {tuple(weights.shape)} do not match {layer_name!r}'s maps")
    return FeatureView(maps, weights.detach(), source, cam, output.localization_map(classes))
