"""The BACKBONES contract (module docstring of :mod:`wsol.models.backbones`), on every registered
member and on the timm families wsol's configs and docs use (any other timm name takes the
same :class:`~wsol.models.backbones.timm_backbone.TimmBackbone` path).

Checked: one ``(B, C_i, H_i, W_i)`` map per stage, finest first, with ``channels`` and a
power-of-two stride; ``stage_modules`` produce exactly those maps; ``feature_stage``
truncates; a stride-one stage doubles the resolution of itself and every later stage (and of
the last returned stage for ``-1``, also when truncated); bad indices are config errors;
``insert_after`` changes the stage it follows.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from wsol.config.schema import BackboneConfig
from wsol.errors import ConfigError
from wsol.models.backbones import BACKBONES, create_backbone
from wsol.models.backbones.base import Backbone

TIMM_FAMILIES = ["resnet10t", "efficientnet_lite0", "densenet121"]  # strided convs, pools
ALL = [*BACKBONES.list(), *TIMM_FAMILIES]
HEIGHT, WIDTH = 64, 96


def build(name: str, **fields) -> Backbone:
    torch.manual_seed(0)
    return create_backbone(BackboneConfig(name=name, **fields)).eval()


def features(backbone: Backbone) -> list[torch.Tensor]:
    with torch.no_grad():
        return backbone(torch.randn(2, 3, HEIGHT, WIDTH, generator=torch.Generator().manual_seed(1)))


def sizes(maps: list[torch.Tensor]) -> list[tuple[int, int]]:
    return [tuple(m.shape[-2:]) for m in maps]


@pytest.fixture(scope="module")
def plain() -> dict[str, tuple[Backbone, list[torch.Tensor]]]:
    """Every backbone with default options and its features, built once."""
    out = {}
    for name in ALL:
        backbone = build(name)
        out[name] = backbone, features(backbone)
    return out


@pytest.mark.parametrize("name", ALL)
def test_one_map_per_stage_finest_first(name: str, plain: dict) -> None:
    backbone, maps = plain[name]
    assert isinstance(maps, list), "forward returns a list of maps"
    assert len(maps) == len(backbone.channels) == len(backbone.stage_modules) > 0
    assert [m.shape[:2] for m in maps] == [(2, c) for c in backbone.channels]
    previous = 1
    for height, width in sizes(maps):
        stride = HEIGHT // height
        assert stride * height == HEIGHT and stride * width == WIDTH, "same stride on both axes"
        assert stride & (stride - 1) == 0 and stride >= previous, f"strides not powers of two, rising: {maps}"
        previous = stride


@pytest.mark.parametrize("name", ALL)
def test_stage_modules_produce_the_returned_maps(name: str, plain: dict) -> None:
    backbone, maps = plain[name]
    owned = {id(m) for m in backbone.modules()}
    assert all(id(m) in owned for m in backbone.stage_modules), "a stage module is not part of the backbone"
    seen: list[torch.Tensor] = []
    handles = [m.register_forward_hook(lambda _m, _i, out: seen.append(out)) for m in backbone.stage_modules]
    try:
        features(backbone)
    finally:
        for handle in handles:
            handle.remove()
    assert len(seen) == len(maps), "every stage module runs once per forward"
    assert all(torch.equal(a, b) for a, b in zip(seen, maps, strict=True))


@pytest.mark.parametrize("name", ALL)
def test_feature_stage_truncates(name: str, plain: dict) -> None:
    full, maps = plain[name]
    cut = build(name, feature_stage=-2)
    assert cut.channels == full.channels[:-1] and len(cut.stage_modules) == len(full.stage_modules) - 1
    assert sizes(features(cut)) == sizes(maps[:-1])
    with pytest.raises(ConfigError, match="feature_stage"):
        build(name, feature_stage=len(full.channels))


@pytest.mark.parametrize("name", ALL)
def test_stride_one_stages_double_their_resolution(name: str, plain: dict) -> None:
    full, maps = plain[name]
    before = [(HEIGHT, WIDTH), *sizes(maps)]
    for stage in range(len(maps)):
        factor = before[stage][0] // before[stage + 1][0]  # the downsampling stage ``stage`` does
        changed = build(name, stride_one_stages=[stage])
        got = features(changed)
        assert changed.channels == full.channels, f"stage {stage}"
        expected = [(h * factor, w * factor) if i >= stage else (h, w) for i, (h, w) in enumerate(before[1:])]
        assert sizes(got) == expected, f"stride-one stage {stage}"
    with pytest.raises(ConfigError, match="stride_one_stages"):
        build(name, stride_one_stages=[len(maps)])


@pytest.mark.parametrize("name", ALL)
def test_negative_stages_count_from_the_last_returned_stage(name: str, plain: dict) -> None:
    _, maps = plain[name]
    last = sizes(features(build(name, feature_stage=-2, stride_one_stages=[-1])))[-1]
    height, width = sizes(maps)[-2]
    factor = sizes(maps)[-3][0] // height if len(maps) > 2 else HEIGHT // height
    assert last == (height * factor, width * factor)


def zeroing(channels: int) -> nn.Conv2d:
    conv = nn.Conv2d(channels, channels, 1)
    nn.init.zeros_(conv.weight)
    nn.init.zeros_(conv.bias)
    return conv


@pytest.mark.parametrize("name", ALL)
def test_insert_after_replaces_the_stage_output_for_what_follows(name: str, plain: dict) -> None:
    _, before = plain[name]
    first = build(name)
    first.insert_after(0, zeroing(first.channels[0]))
    after = features(first)
    assert after[0].abs().max() == 0
    assert all(not torch.equal(a, b) for a, b in zip(after[1:], before[1:], strict=True)), "later stages"
    last = build(name)
    last.insert_after(-1, zeroing(last.channels[-1]))
    after = features(last)
    assert all(torch.equal(a, b) for a, b in zip(after[:-1], before[:-1], strict=True))
    assert after[-1].abs().max() == 0 and before[-1].abs().max() > 0
    assert any(k.startswith("inserted.") for k in last.state_dict()), "the block is saved with the backbone"
