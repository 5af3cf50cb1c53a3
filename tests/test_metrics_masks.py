"""Mask metrics: golden comparison with wsolevaluation (label maps, histograms, PxAP), pIoU, accumulator."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from wsoleval_golden import GRIDS, arrays, cases, mask_case_input, mask_sample

from wsol.data.sample import Sample
from wsol.errors import DataError
from wsol.metrics import METRICS
from wsol.metrics.mask_accuracy import MaskAccuracy
from wsol.metrics.masks import (
    exact_pxap,
    mask_histograms,
    mask_label_map,
    pixel_iou,
    pxap,
    pxap_bin_edges,
    resize_nearest,
    score_histograms,
    score_value_counts,
)
from wsol.metrics.scoremap import cam_thresholds, prepare_scoremap

MASK_CASES = cases()["mask_cases"]


def _prepared(case: dict) -> np.ndarray:
    kind, data = mask_case_input(case)
    return prepare_scoremap(data, 224).scoremap if kind == "raw" else data


@pytest.mark.parametrize("case", MASK_CASES, ids=[c["image_id"] for c in MASK_CASES])
def test_label_maps_match_the_reference(case):
    sample = mask_sample(case)
    label = mask_label_map(sample.mask, sample.ignore, 224)
    assert np.array_equal(label, arrays("mask_inputs")[case["gt224_key"]])
    counts = case["gt224_counts"]
    assert [(label == v).sum() for v in (1, 0, 255)] == [
        counts["positive"],
        counts["negative"],
        counts["ignored"],
    ]


@pytest.mark.parametrize("grid", GRIDS)
def test_histograms_and_pxap_match_the_reference(grid):
    ref = arrays("mask_hists")
    edges = pxap_bin_edges(cam_thresholds(cases()["cam_curve_intervals"][grid]))
    assert np.array_equal(edges, ref[f"mask_{grid}_bin_edges"])
    pos, neg = [], []
    for case in MASK_CASES:
        sample = mask_sample(case)
        p, n = score_histograms(_prepared(case), mask_label_map(sample.mask, sample.ignore, 224), edges)
        pos.append(p)
        neg.append(n)
    assert np.array_equal(np.stack(pos), ref[f"mask_{grid}_pos_hist_per_image"])
    assert np.array_equal(np.stack(neg), ref[f"mask_{grid}_neg_hist_per_image"])
    total_pos, total_neg = np.sum(pos, axis=0), np.sum(neg, axis=0)
    assert np.array_equal(total_pos.astype(np.float64), ref[f"mask_{grid}_pos_hist"])
    assert np.array_equal(total_neg.astype(np.float64), ref[f"mask_{grid}_neg_hist"])
    assert pxap(total_pos, total_neg) == cases()["expected"]["mask"][grid]["PxAP"]


@pytest.mark.parametrize("grid", GRIDS)
def test_accumulated_pxap_matches_the_reference(grid):
    interval = cases()["cam_curve_intervals"][grid]
    raw = MaskAccuracy(cam_curve_interval=interval, input_maps="raw")
    given_maps = MaskAccuracy(cam_curve_interval=interval, input_maps="prepared")
    for case in MASK_CASES:
        kind, data = mask_case_input(case)
        (raw if kind == "raw" else given_maps).update([data], [mask_sample(case)])
    given_maps.merge_state(raw.state())
    out = given_maps.compute()
    assert out["pxap"] == cases()["expected"]["mask"][grid]["PxAP"]
    assert out["n_images"] == len(MASK_CASES)
    assert 0 < out["piou"] <= 100 and out["curve_piou"].shape == (len(given_maps.thresholds),)


def test_pixel_iou_of_a_small_example():
    thresholds = np.array([0.0, 0.5])
    scores = np.array([0.9, 0.6, 0.2, 0.7, 0.1])
    labels = np.array([1, 1, 1, 0, 0])
    pos, neg = score_histograms(scores, labels, pxap_bin_edges(thresholds))
    result = pixel_iou(pos, neg)
    # t=0: everything predicted -> 3 / 5; t=0.5: TP 2, FP 1, FN 1 -> 2 / 4
    assert result.curve.tolist() == [0.6, 0.5]
    assert result.best == 60.0 and result.best_index == 0


def test_perfect_map_scores_full_pxap_and_piou():
    label = np.zeros((224, 224), dtype=np.uint8)
    label[50:120, 30:200] = 1
    pos, neg = score_histograms(label.astype(np.float64), label, pxap_bin_edges(cam_thresholds(0.01)))
    assert pxap(pos, neg) == 100.0 and pixel_iou(pos, neg).best == 100.0


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 99), st.booleans()), min_size=1, max_size=300))
def test_exact_pxap_equals_binned_pxap_when_scores_sit_on_bin_edges(points):
    thresholds = cam_thresholds(0.01)
    scores = thresholds[[k for k, _ in points]]
    labels = np.array([fg for _, fg in points], dtype=np.uint8)
    if not labels.any():
        return
    pos, neg = score_histograms(scores, labels, pxap_bin_edges(thresholds))
    values, fg, bg = score_value_counts(scores, labels)
    assert exact_pxap(values, fg, bg) == pytest.approx(pxap(pos, neg), abs=1e-12)


def _random_mask_batch(rng: np.random.Generator, n: int) -> tuple[list, list[Sample]]:
    maps, targets = [], []
    for i in range(n):
        w, h = (int(v) for v in rng.integers(30, 300, 2))
        mask = np.zeros((h, w), dtype=np.uint8)
        mask[rng.integers(0, h // 2) : h, rng.integers(0, w // 2) : w] = 1
        ignore = rng.random((h, w)) < 0.1
        maps.append(rng.normal(size=tuple(rng.integers(5, 20, 2))))
        targets.append(Sample(image_id=f"m{i}", image=None, label=0, size=(w, h), mask=mask, ignore=ignore))
    return maps, targets


def test_merged_shards_equal_a_single_pass():
    rng = np.random.default_rng(0)
    maps, targets = _random_mask_batch(rng, 12)
    whole = MaskAccuracy(exact=True)
    whole.update(maps, targets)
    merged = MaskAccuracy(exact=True)
    for j in range(3):
        shard = MaskAccuracy(exact=True)
        shard.update(maps[4 * j : 4 * j + 4], targets[4 * j : 4 * j + 4])
        merged.merge_state(shard.state())
    a, b = whole.compute(), merged.compute()
    assert a.keys() == b.keys()
    for key in a:
        assert np.array_equal(a[key], b[key], equal_nan=True), key
    assert abs(a["pxap_exact"] - a["pxap"]) < 5


def test_bad_masks_name_the_image():
    accumulator = METRICS.build({"name": "pxap"})
    assert accumulator.requires == frozenset({"masks"})
    flat = Sample(image_id="oi/x.jpg", image=None, label=0, size=(40, 30), mask=np.zeros(40, np.uint8))
    with pytest.raises(DataError, match=r"oi/x\.jpg: mask is \(40,\)"):
        accumulator.update([np.zeros((7, 7))], [flat])
    ignore = np.zeros((15, 20), np.uint8)
    wrong = Sample("oi/z.jpg", None, 0, size=(40, 30), mask=np.zeros((30, 40), np.uint8), ignore=ignore)
    with pytest.raises(DataError, match=r"oi/z\.jpg: ignore is \(15, 20\), the mask \(30, 40\)"):
        accumulator.update([np.zeros((7, 7))], [wrong])
    missing = Sample(image_id="oi/y.jpg", image=None, label=0, size=(40, 30))
    with pytest.raises(DataError, match=r"oi/y\.jpg: no object mask"):
        accumulator.update([np.zeros((7, 7))], [missing])


@settings(max_examples=100, deadline=None)
@given(
    st.integers(0, 2**32 - 1),
    st.sampled_from([0.001, 0.01, 0.05, 0.3]),
    st.sampled_from([np.float64, np.float32]),
)
def test_score_histograms_equal_numpy_histograms(seed, interval, dtype):
    """The one-pass binning equals np.histogram, with scores on the edges, at 1.0, outside and NaN."""
    rng = np.random.default_rng(seed)
    edges = pxap_bin_edges(cam_thresholds(interval))
    scores = rng.random((17, 23))
    on_edges = rng.random(scores.shape) < 0.3
    specials = np.append(edges, [-0.5, np.nextafter(1.0, 0.0), 3.5, np.nan])
    scores[on_edges] = rng.choice(specials, on_edges.sum())
    scores = scores.astype(dtype)
    labels = rng.choice(np.array([0, 1, 255], dtype=np.uint8), scores.shape)
    pos, neg = score_histograms(scores, labels, edges)
    assert np.array_equal(pos, np.histogram(scores[labels == 1], bins=edges)[0])
    assert np.array_equal(neg, np.histogram(scores[labels == 0], bins=edges)[0])


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 700), st.integers(1, 700), st.sampled_from([7, 100, 224, 301]), st.integers(0, 2**31))
def test_resize_nearest_picks_the_pixels_opencv_picks(height, width, resolution, seed):
    import cv2

    values = np.random.default_rng(seed).permutation(height * width).reshape(height, width).astype(np.float32)
    expected = cv2.resize(values, (resolution, resolution), interpolation=cv2.INTER_NEAREST)
    assert np.array_equal(resize_nearest(values, (resolution, resolution)), expected)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 90), st.integers(1, 90), st.booleans(), st.integers(0, 2**31))
def test_mask_histograms_equal_histograms_of_the_label_map(height, width, with_ignore, seed):
    """The fused pass (sampling masks while binning) equals label map + histograms."""
    rng = np.random.default_rng(seed)
    mask = (rng.random((height, width)) < 0.4).astype(np.uint8)
    ignore = rng.random((height, width)) < 0.3 if with_ignore else None
    scoremap = rng.random((32, 32))
    edges = pxap_bin_edges(cam_thresholds(0.01))
    fused = mask_histograms(scoremap, mask, ignore, edges)
    labels = mask_label_map(mask, ignore, 32)
    for got, expected in zip(fused, score_histograms(scoremap, labels, edges), strict=True):
        assert np.array_equal(got, expected)
    assert sum(h.sum() for h in fused) == np.count_nonzero(labels != 255)


def test_masks_at_another_resolution_go_straight_to_the_grid():
    """wsolevaluation's get_mask: nearest resize of the mask file to 224 x 224, whatever the image size."""
    rng = np.random.default_rng(0)
    mask = (rng.random((37, 53)) > 0.6).astype(np.uint8)
    scoremap = rng.random((224, 224))
    direct = METRICS.build({"name": "pxap", "input_maps": "prepared"})
    direct.update([scoremap], [Sample("a.jpg", None, 0, size=(500, 333), mask=mask)])
    expected = METRICS.build({"name": "pxap", "input_maps": "prepared"})
    grid = cv2.resize(mask.astype(np.float32), (224, 224), interpolation=cv2.INTER_NEAREST) > 0.5
    expected.update([scoremap], [Sample("a.jpg", None, 0, size=(224, 224), mask=grid.astype(np.uint8))])
    assert direct.compute()["pxap"] == expected.compute()["pxap"]


def test_constant_prepared_maps_are_counted():
    mask = np.zeros((8, 8), np.uint8)
    mask[2:5, 2:5] = 1
    accumulator = METRICS.build({"name": "pxap", "input_maps": "prepared", "resolution": 8})
    maps = [np.zeros((8, 8)), np.full((8, 8), 0.4), np.linspace(0, 1, 64).reshape(8, 8)]
    targets = [Sample(f"{i}.jpg", None, 0, size=(8, 8), mask=mask) for i in range(3)]
    accumulator.update(maps, targets)
    out = accumulator.compute()
    assert (out["n_constant_maps"], out["n_nan_maps"], out["n_images"]) == (2, 0, 3)
