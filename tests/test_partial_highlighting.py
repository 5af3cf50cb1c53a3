"""The partial-highlighting diagnostic: per-image shares and the streaming accumulator."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from wsol.data.sample import Sample
from wsol.errors import DataError
from wsol.metrics.partial_highlighting import PartialHighlighting, cue_share


def _target(image_id: str = "a.png", size: int = 16) -> Sample:
    obj = np.zeros((size, size), np.uint8)
    obj[4:12, 2:14] = 1  # 96 pixels
    cue = np.zeros_like(obj)
    cue[4:7, 10:14] = 1  # 12 pixels
    return Sample(
        image_id=image_id, image=None, label=0, size=(size, size), mask=obj, part_masks={"cue": cue}
    )


def test_uniform_heat_on_the_object_gives_the_area_ratio() -> None:
    t = _target()
    share = cue_share(t.mask.astype(float) * 3.0, t.part_masks["cue"], t.mask)
    assert share.cue_area_ratio == 12 / 96
    assert share.cue_share == pytest.approx(12 / 96) and share.object_share == pytest.approx(1.0)
    assert share.cue_share_in_object == pytest.approx(share.cue_area_ratio)


def test_heat_only_on_the_cue() -> None:
    t = _target()
    share = cue_share(t.part_masks["cue"].astype(float), t.part_masks["cue"], t.mask)
    assert (share.cue_share, share.object_share, share.cue_share_in_object) == (1.0, 1.0, 1.0)


def test_constant_map_gives_area_shares_of_the_image() -> None:
    t = _target()
    share = cue_share(np.ones((16, 16)), t.part_masks["cue"], t.mask)
    assert share.cue_share == pytest.approx(12 / 256) and share.object_share == pytest.approx(96 / 256)


def test_zero_map_gives_nan_shares() -> None:
    t = _target()
    share = cue_share(np.zeros((16, 16)), t.part_masks["cue"], t.mask)
    assert math.isnan(share.cue_share) and math.isnan(share.cue_share_in_object)
    assert share.cue_area_ratio == 12 / 96


def test_negative_heatmap_is_rejected() -> None:
    t = _target()
    with pytest.raises(ValueError, match="negative or NaN"):
        cue_share(-np.ones((16, 16)), t.part_masks["cue"], t.mask)


@settings(max_examples=40, deadline=None)
@given(
    arrays(np.float64, (8, 8), elements=st.floats(0, 10)),
    arrays(bool, (8, 8)),
    arrays(bool, (8, 8)),
)
def test_shares_are_ordered_fractions(heatmap: np.ndarray, obj: np.ndarray, cue: np.ndarray) -> None:
    cue &= obj
    share = cue_share(heatmap, cue, obj)
    if heatmap.sum() > 0:
        assert 0.0 <= share.cue_share <= share.object_share + 1e-12 <= 1.0 + 2e-12  # sums round differently
    if share.object_share > 0:
        assert 0.0 <= share.cue_share_in_object <= 1.0 + 1e-12


def test_accumulator_resizes_bilinearly_and_clips_negatives() -> None:
    t = _target()
    raw = np.random.default_rng(0).normal(size=(4, 4)).astype(np.float32)
    metric = PartialHighlighting()
    metric.update([torch.from_numpy(raw)], [t])
    resized = cv2.resize(raw.astype(np.float64), (16, 16), interpolation=cv2.INTER_LINEAR)
    expected = cue_share(np.maximum(resized, 0), t.part_masks["cue"], t.mask)
    result = metric.compute()
    assert result["partial/cue_share"] == pytest.approx(expected.cue_share, rel=1e-12)
    assert result["partial/object_share"] == pytest.approx(expected.object_share, rel=1e-12)
    assert len(metric.per_image()["image_id"]) == 1 and result["partial/num_empty_maps"] == 0


def test_merged_state_equals_one_pass() -> None:
    rng = np.random.default_rng(1)
    targets = [_target(f"{i}.png") for i in range(6)]
    maps = [rng.random((8, 8)) for _ in targets] + [np.zeros((8, 8))]
    targets.append(_target("empty.png"))
    whole, first, second = PartialHighlighting(), PartialHighlighting(), PartialHighlighting()
    whole.update(maps, targets)
    first.update(maps[:3], targets[:3])
    second.update(maps[3:], targets[3:])
    first.merge_state(second.state())
    assert first.compute() == whole.compute()
    assert whole.compute()["partial/num_empty_maps"] == 1
    assert list(first.state()["rows/image_id"]) == [t.image_id for t in targets]


def test_index_is_one_for_maps_spread_evenly_over_the_object() -> None:
    t = _target()
    metric = PartialHighlighting()
    metric.update([t.mask.astype(np.float64)], [t])
    assert metric.compute()["partial/partial_highlighting_index"] == pytest.approx(1.0)


def test_missing_part_mask_names_the_image() -> None:
    t = _target("bird.jpg")
    t.part_masks = {}
    with pytest.raises(DataError, match=r"bird\.jpg: no 'cue' part mask"):
        PartialHighlighting().update([np.ones((16, 16))], [t])
