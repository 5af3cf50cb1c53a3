"""Score-map preparation: bit-exact against wsolevaluation's bicubic resize + normalisation."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays as np_arrays
from wsoleval_golden import GRIDS, arrays, box_case_input, cases, mask_case_input

from wsol.metrics.scoremap import (
    cam_thresholds,
    check_prepared_scoremap,
    normalize_scoremap,
    prepare_scoremap,
    target_class_map,
)

RAW_CASES = [(c, box_case_input) for c in cases()["box_cases"] if c["map"]["kind"] == "raw_cam"] + [
    (c, mask_case_input) for c in cases()["mask_cases"] if c["map"]["kind"] == "raw_cam"
]


@pytest.mark.parametrize(("case", "loader"), RAW_CASES, ids=[c["image_id"] for c, _ in RAW_CASES])
def test_raw_cam_preparation_is_bit_exact(case, loader):
    kind, raw = loader(case)
    assert kind == "raw" and raw.dtype == np.float32
    prepared = prepare_scoremap(raw, 224)
    digest = hashlib.sha256(np.ascontiguousarray(prepared.scoremap).tobytes()).hexdigest()
    assert digest == case["map"]["map_f64_sha256"]
    assert prepared.scoremap.dtype == np.float64 and prepared.scoremap.shape == (224, 224)
    if "nan" in case["tags"]:
        assert prepared.status == "nan" and not prepared.scoremap.any()
    elif "constant" in case["tags"]:
        assert prepared.status == "constant" and not prepared.scoremap.any()
    else:
        assert prepared.status == "ok"
        assert prepared.scoremap.min() == 0.0 and prepared.scoremap.max() == 1.0


@pytest.mark.parametrize("grid", GRIDS)
def test_threshold_grid_matches_reference(grid):
    interval = cases()["cam_curve_intervals"][grid]
    assert np.array_equal(cam_thresholds(interval), arrays(f"box_{grid}")["thresholds"])


def test_float32_float64_and_torch_inputs_give_identical_maps():
    raw = np.random.default_rng(0).normal(size=(14, 14)).astype(np.float32)
    reference = prepare_scoremap(raw).scoremap
    for same in (raw.astype(np.float64), torch.from_numpy(raw), torch.from_numpy(raw).double()):
        assert np.array_equal(prepare_scoremap(same).scoremap, reference)


def test_target_class_map_selects_the_class():
    maps = torch.arange(2 * 3 * 4, dtype=torch.float32).reshape(2, 3, 4)
    out = target_class_map(maps, 1)
    assert out.dtype == np.float64 and np.array_equal(out, maps[1].numpy())


@settings(max_examples=60, deadline=None)
@given(
    np_arrays(np.float64, st.tuples(st.integers(1, 12), st.integers(1, 12)), elements=st.floats(-1e3, 1e3))
)
def test_normalised_maps_span_zero_to_one_or_are_zero(cam):
    before = cam.copy()
    prepared = normalize_scoremap(cam)
    if cam.min() == cam.max():
        assert prepared.status == "constant" and not prepared.scoremap.any()
    else:
        assert prepared.status == "ok"
        assert prepared.scoremap.min() == 0.0 and prepared.scoremap.max() == 1.0
    assert np.array_equal(cam, before)  # the input is not modified in place


@pytest.mark.parametrize(
    ("scoremap", "message"),
    [
        (np.zeros((10, 10)), "must be 224x224"),
        (np.full((224, 224), np.nan), "NaN"),
        (np.full((224, 224), 1.5), r"\[0, 1\]"),
    ],
)
def test_prepared_maps_are_checked(scoremap, message):
    with pytest.raises(ValueError, match=message):
        check_prepared_scoremap(scoremap, 224)


def test_raw_maps_must_be_two_dimensional():
    with pytest.raises(ValueError, match="2-D"):
        prepare_scoremap(np.zeros((2, 7, 7)))


def test_constant_raw_map_with_rounding_noise_is_normalised_like_the_reference():
    """Bicubic resizing of a constant 0.3 map leaves 1-ulp noise; the reference normalises it."""
    prepared = prepare_scoremap(np.full((7, 7), 0.3))
    assert prepared.status == "ok" and prepared.scoremap.max() == 1.0
