"""The HEADS contract (module docstring of :mod:`wsol.models.heads`) where ``test_models.py`` and
``test_heads.py`` leave gaps, on every registered member: the maps a head returns are the ones
its ``map_kind`` declares, with their documented shapes, and a head that needs the backbone
says so in a config error when built without one."""

from __future__ import annotations

import pytest
import torch
from token_models import backbone_for

from wsol.config.schema import BackboneConfig
from wsol.errors import ConfigError
from wsol.models import WSOLModel
from wsol.models.backbones import create_backbone
from wsol.models.backbones.base import Backbone
from wsol.models.heads import HEADS

ALL = HEADS.list()
NUM_CLASSES = 5
IMAGES = torch.randn(2, 3, 64, 48, generator=torch.Generator().manual_seed(0))


def tiny_backbone(head: str = "cam") -> Backbone:
    """The tiny convnet; a tiny DeiT for heads that read a transformer's attention (TS-CAM)."""
    torch.manual_seed(0)
    convnet = BackboneConfig(name="convnet", options={"width": 8, "blocks": 1})
    return create_backbone(backbone_for(head, convnet))


@pytest.fixture(scope="module")
def features() -> tuple[list[int], list[torch.Tensor]]:
    backbone = tiny_backbone().eval()
    with torch.no_grad():
        return backbone.channels, backbone(IMAGES)


@pytest.mark.parametrize("name", ALL)
def test_returned_maps_are_those_map_kind_declares(name: str) -> None:
    backbone = tiny_backbone(name)
    head = HEADS.build(name, in_channels=backbone.channels, num_classes=NUM_CLASSES, backbone=backbone)
    out = WSOLModel(backbone, head)(IMAGES)  # a head that runs the backbone itself is called with both
    assert out.logits.shape == (2, NUM_CLASSES)
    if head.map_kind == "class":
        assert out.class_maps is not None and out.class_maps.ndim == 4, "class heads return (B, K, h, w) maps"
        assert out.class_maps.shape[:2] == (2, NUM_CLASSES)
    else:
        assert head.map_kind == "attention", f"{name}: map_kind {head.map_kind!r}"
        assert out.class_maps is None and out.attention is not None, "attention heads return attention only"
        assert out.attention.ndim == 4 and out.attention.shape[0] == 2 and out.attention.shape[1] >= 1
    assert out.boxes is None or out.boxes.shape == (2, 4)


@pytest.mark.parametrize("name", ALL)
def test_built_without_a_backbone_it_works_or_asks_for_one(name: str, features: tuple) -> None:
    channels, maps = features
    try:
        head = HEADS.build(name, key="model.head", in_channels=channels, num_classes=NUM_CLASSES)
    except ConfigError as error:
        assert "backbone" in str(error) and "\n" not in str(error), str(error)
        return
    if getattr(head, "runs_backbone", False):  # called as head(backbone, images)
        backbone = tiny_backbone(name).eval()
        assert head.eval()(backbone, IMAGES).logits.shape == (2, NUM_CLASSES)
        return
    assert head.eval()(maps).logits.shape == (2, NUM_CLASSES)
