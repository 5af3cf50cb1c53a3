"""Box metrics: golden comparison with wsolevaluation, fast == OpenCV loop, accumulator behaviour."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from wsoleval_golden import GRIDS, arrays, box_case_input, box_sample, cases, expected_multi_boxes

from wsol.data.sample import Sample
from wsol.errors import ConfigError, DataError, WSOLError
from wsol.metrics import METRICS
from wsol.metrics.box_accuracy import BoxAccuracy
from wsol.metrics.boxes import (
    all_contour_best_iou,
    box_iou,
    contour_best_ious,
    rescale_gt_boxes,
    scoremap_boxes,
    scoremap_to_uint8,
    threshold_cuts,
)
from wsol.metrics.cut_components import boxes_per_cut
from wsol.metrics.scoremap import cam_thresholds, prepare_scoremap

BOX_CASES = cases()["box_cases"]
IOUS = (30, 50, 70)


def _prepared(case: dict) -> np.ndarray:
    kind, data = box_case_input(case)
    return prepare_scoremap(data, 224).scoremap if kind == "raw" else data


@pytest.fixture(scope="module")
def prepared_maps() -> list[np.ndarray]:
    return [_prepared(case) for case in BOX_CASES]


def test_gt_boxes_are_rescaled_like_the_reference():
    for case in BOX_CASES:
        got = rescale_gt_boxes(np.asarray(case["gt_boxes_orig"]), tuple(case["orig_size"]), 224)
        assert got.tolist() == case["gt_boxes_224"], case["image_id"]


@pytest.mark.parametrize("method", ["fast", "opencv"])
@pytest.mark.parametrize("grid", GRIDS)
def test_boxes_ious_and_counts_match_the_reference(grid, method, prepared_maps):
    ref = arrays(f"box_{grid}")
    thresholds = cam_thresholds(cases()["cam_curve_intervals"][grid])
    ref_multi = expected_multi_boxes(grid)
    best = {"multi": [], "single": []}
    for i, case in enumerate(BOX_CASES):
        boxes = scoremap_boxes(prepared_maps[i], thresholds, method)
        for k in range(len(thresholds)):
            assert np.array_equal(boxes.all_contour_boxes(k), ref_multi[i][k]), (case["image_id"], k)
            assert np.array_equal(boxes.largest_contour_box(k), ref["single_boxes"][i, k]), (
                case["image_id"],
                k,
            )
        gt = np.asarray(case["gt_boxes_224"])
        for mode in ("multi", "single"):
            best[mode].append(boxes.best_iou(gt, mode))
    for mode in ("multi", "single"):
        got = np.stack(best[mode])
        assert np.array_equal(got, ref[f"{mode}_best_iou"])
        counts = np.stack([(got >= d / 100).sum(axis=0).astype(np.float64) for d in IOUS])
        assert np.array_equal(counts, ref[f"{mode}_num_correct"])


@pytest.mark.parametrize("grid", GRIDS)
def test_union_find_sweep_matches_the_reference(grid, prepared_maps):
    """All-contour best IoUs without OpenCV, and the box multisets of every cut."""
    ref = arrays(f"box_{grid}")
    thresholds = cam_thresholds(cases()["cam_curve_intervals"][grid])
    ref_multi = expected_multi_boxes(grid)
    got = []
    for i, case in enumerate(BOX_CASES):
        got.append(all_contour_best_iou(prepared_maps[i], thresholds, np.asarray(case["gt_boxes_224"])))
        u8 = scoremap_to_uint8(prepared_maps[i])
        cuts, first = np.unique(threshold_cuts(u8, thresholds), return_index=True)
        for k, boxes in zip(first, boxes_per_cut(u8, cuts, reference=True), strict=True):
            expected = ref_multi[i][k]
            if not len(boxes):  # no contour: the reference's fallback box
                boxes = np.zeros((1, 4), dtype=np.int64)
            assert np.array_equal(boxes, expected[np.lexsort(expected.T[::-1])]), (case["image_id"], k)
    assert np.array_equal(np.stack(got), ref["multi_best_iou"])


def _golden_accumulators(grid: str, **options) -> BoxAccuracy:
    """Raw CAMs through wsol's own preparation, the other maps as given; states merged."""
    interval = cases()["cam_curve_intervals"][grid]
    raw = BoxAccuracy(cam_curve_interval=interval, input_maps="raw", **options)
    given_maps = BoxAccuracy(cam_curve_interval=interval, input_maps="prepared", **options)
    for case in BOX_CASES:
        kind, data = box_case_input(case)
        (raw if kind == "raw" else given_maps).update([data], [box_sample(case)])
    given_maps.merge_state(raw.state())
    return given_maps


@pytest.mark.parametrize("grid", GRIDS)
def test_all_contour_only_accumulator_matches_the_reference(grid):
    expected = cases()["expected"]["box"][grid]
    out = _golden_accumulators(grid, modes=["multi"]).compute()
    assert out["maxboxacc_v2"] == expected["MaxBoxAccV2"]
    assert [out[f"maxboxacc_v2_iou{d}"] for d in IOUS] == expected["multi_contour_acc_per_iou"]
    assert "maxboxacc" not in out and not any(key.startswith("curve_single") for key in out)


@pytest.mark.parametrize("grid", GRIDS)
def test_final_numbers_match_the_reference(grid):
    expected = cases()["expected"]["box"][grid]
    out = _golden_accumulators(grid).compute()
    assert out["maxboxacc"] == expected["MaxBoxAcc_V1"]
    assert out["maxboxacc_v2"] == expected["MaxBoxAccV2"]
    assert [out[f"maxboxacc_iou{d}"] for d in IOUS] == expected["single_contour_acc_per_iou"]
    assert [out[f"maxboxacc_v2_iou{d}"] for d in IOUS] == expected["multi_contour_acc_per_iou"]
    thresholds = cam_thresholds(cases()["cam_curve_intervals"][grid])
    for mode, name in (("single", "single_contour"), ("multi", "multi_contour")):
        best = [thresholds[k] for k in expected[f"{name}_best_threshold_index"]]
        assert [out[f"best_threshold_{mode}_iou{d}"] for d in IOUS] == best
    assert out["n_images"] == len(BOX_CASES) and out["n_nan_maps"] == 1
    assert out["n_constant_maps"] == _constant_cases() >= 2  # raw maps zeroed and prepared maps as given


def _constant_cases() -> int:
    """Golden cases whose map is constant: raw ones after resizing, prepared ones as given."""
    count = 0
    for case in BOX_CASES:
        kind, data = box_case_input(case)
        if kind == "raw":
            count += prepare_scoremap(data).status == "constant"
        else:
            count += bool(np.min(data) == np.max(data))
    return count


def test_narrow_window_case_depends_on_the_grid():
    """Case 46's GT region is isolated only by a cut the 0.01 grid never produces."""
    case = BOX_CASES[46]
    gt = np.asarray(case["gt_boxes_224"])
    found = {
        grid: all_contour_best_iou(_prepared(case), cam_thresholds(step), gt).max()
        for grid, step in cases()["cam_curve_intervals"].items()
    }
    assert found["t1000"] > found["t100"]


# --- fast path == plain OpenCV loop on random maps --------------------------------------

LEVELS = [0.0, 1 / 255, 0.2, 85 / 255, 86 / 255, 0.5, 0.5000076, 0.75, 254 / 255, 1.0]


@st.composite
def structured_maps(draw) -> np.ndarray:
    """Small maps with ties, plateaus, holes (rings), single pixels and border contact."""
    h, w = draw(st.integers(1, 20)), draw(st.integers(1, 20))
    levels = draw(st.lists(st.sampled_from(LEVELS), min_size=1, max_size=4))
    scoremap = np.array(
        draw(st.lists(st.sampled_from(levels), min_size=h * w, max_size=h * w)), dtype=np.float64
    )
    scoremap = scoremap.reshape(h, w)
    for _ in range(draw(st.integers(0, 3))):  # rectangles and rings (holes)
        y0, x0 = draw(st.integers(0, h - 1)), draw(st.integers(0, w - 1))
        y1, x1 = draw(st.integers(y0, h - 1)), draw(st.integers(x0, w - 1))
        scoremap[y0 : y1 + 1, x0 : x1 + 1] = draw(st.sampled_from(LEVELS))
        if draw(st.booleans()) and y1 - y0 >= 2 and x1 - x0 >= 2:
            scoremap[y0 + 1 : y1, x0 + 1 : x1] = draw(st.sampled_from(LEVELS))
    return scoremap


@settings(max_examples=150, deadline=None)
@given(
    structured_maps(),
    st.one_of(
        st.sampled_from([0.01, 0.05, 0.2]).map(cam_thresholds),
        st.lists(st.floats(-0.2, 1.2), min_size=1, max_size=12).map(np.asarray),
    ),
    st.sampled_from(["reference", "exact"]),
)
def test_fast_path_equals_the_opencv_loop(scoremap, thresholds, convention):
    fast = scoremap_boxes(scoremap, thresholds, "fast", convention)
    slow = scoremap_boxes(scoremap, thresholds, "opencv", convention)
    for k in range(len(thresholds)):
        assert np.array_equal(fast.all_contour_boxes(k), slow.all_contour_boxes(k))
        assert np.array_equal(fast.largest_contour_box(k), slow.largest_contour_box(k))


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_fast_path_equals_the_opencv_loop_on_smooth_noisy_maps(seed):
    rng = np.random.default_rng(seed)
    import cv2

    low = cv2.resize(rng.normal(size=(7, 7)), (64, 64), interpolation=cv2.INTER_CUBIC)
    scoremap = prepare_scoremap(low + rng.normal(0, 0.05, (64, 64)), 64).scoremap
    thresholds = cam_thresholds(0.01)
    fast, slow = scoremap_boxes(scoremap, thresholds, "fast"), scoremap_boxes(scoremap, thresholds, "opencv")
    for k in range(len(thresholds)):
        assert np.array_equal(fast.all_contour_boxes(k), slow.all_contour_boxes(k))
        assert np.array_equal(fast.largest_contour_box(k), slow.largest_contour_box(k))


# --- union-find sweep == OpenCV loop ------------------------------------------------------

TOPOLOGY_LEVELS = [0, 1, 2, 85, 86, 127, 128, 200, 254, 255]
SHAPES = ["rect", "ring", "pixel", "hline", "vline", "diagonal", "antidiagonal", "checker", "noise"]


@st.composite
def topology_maps(draw) -> np.ndarray:
    """uint8 maps with plateaus, nested rings (holes with islands), single pixels, border
    contact, thin lines, diagonal-only (8- but not 4-connected) chains and checkerboards."""
    h, w = draw(st.integers(1, 24)), draw(st.integers(1, 24))
    levels = st.sampled_from(TOPOLOGY_LEVELS)
    u8 = np.full((h, w), draw(levels), dtype=np.uint8)
    for _ in range(draw(st.integers(0, 6))):
        shape, value = draw(st.sampled_from(SHAPES)), draw(levels)
        y0, x0 = draw(st.integers(0, h - 1)), draw(st.integers(0, w - 1))
        y1, x1 = draw(st.integers(y0, h - 1)), draw(st.integers(x0, w - 1))
        window = u8[y0 : y1 + 1, x0 : x1 + 1]
        n = min(window.shape)
        if shape == "rect":
            window[:] = value
        elif shape == "ring":
            window[:] = value
            window[1:-1, 1:-1] = draw(levels)
        elif shape == "pixel":
            window[0, 0] = value
        elif shape == "hline":
            window[0] = value
        elif shape == "vline":
            window[:, 0] = value
        elif shape == "diagonal":
            window[np.arange(n), np.arange(n)] = value
        elif shape == "antidiagonal":
            window[np.arange(n), n - 1 - np.arange(n)] = value
        elif shape == "checker":
            window[np.add.outer(np.arange(window.shape[0]), np.arange(window.shape[1])) % 2 == 0] = value
        else:
            seed = draw(st.integers(0, 2**32 - 1))
            window[:] = np.random.default_rng(seed).choice(TOPOLOGY_LEVELS[:4], size=window.shape)
    return u8


def _cut_thresholds(u8: np.ndarray) -> np.ndarray:
    """Thresholds whose cuts hit every distinct foreground: each level, just below, -1, max."""
    top = max(int(u8.max()), 1)
    levels = np.unique(u8).astype(np.float64)
    return np.concatenate([[-1.0, 1.0], (levels + 0.5) / top, (levels - 0.5) / top])


@st.composite
def gt_boxes(draw, shape: tuple[int, int], convention: str) -> np.ndarray:
    boxes = []
    for _ in range(draw(st.integers(1, 3))):
        x0, y0 = draw(st.integers(0, shape[1] - 1)), draw(st.integers(0, shape[0] - 1))
        x1, y1 = draw(st.integers(x0, shape[1] - 1)), draw(st.integers(y0, shape[0] - 1))
        boxes.append([x0, y0, x1, y1])
    boxes = np.array(boxes, dtype=np.int64)
    return boxes if convention == "reference" else boxes + draw(st.sampled_from([0.0, 0.25, 0.5]))


def _assert_sweep_equals_opencv(
    scoremap: np.ndarray, thresholds: np.ndarray, gt: np.ndarray, convention: str
) -> None:
    reference = scoremap_boxes(scoremap, thresholds, "opencv", convention)
    got = all_contour_best_iou(scoremap, thresholds, gt, convention)
    assert np.array_equal(got, reference.best_iou(gt, "multi", convention))
    both = contour_best_ious(scoremap, thresholds, gt, convention)
    for mode in ("multi", "single"):
        assert np.array_equal(both[mode], reference.best_iou(gt, mode, convention)), mode
    u8 = scoremap_to_uint8(scoremap)
    boxes = boxes_per_cut(u8, threshold_cuts(u8, thresholds), reference=convention == "reference")
    for k, found in enumerate(boxes):
        expected = reference.all_contour_boxes(k)
        found = found if len(found) else np.zeros((1, 4), dtype=np.int64)  # the no-contour box
        assert np.array_equal(found, expected[np.lexsort(expected.T[::-1])]), k


@settings(max_examples=200, deadline=None)
@given(st.data(), topology_maps(), st.sampled_from(["reference", "exact"]))
def test_union_find_sweep_equals_the_opencv_loop(data, u8, convention):
    scoremap = u8.astype(np.float64) * 257 / 65535  # uint8 value exactly u8
    gt = data.draw(gt_boxes(u8.shape, convention))
    _assert_sweep_equals_opencv(scoremap, _cut_thresholds(u8), gt, convention)


@settings(max_examples=20, deadline=None)
@given(st.data(), st.integers(0, 2**32 - 1), st.sampled_from(["reference", "exact"]))
def test_union_find_sweep_equals_the_opencv_loop_on_cam_like_maps(data, seed, convention):
    rng = np.random.default_rng(seed)
    import cv2

    low = cv2.resize(rng.normal(size=(7, 7)), (80, 80), interpolation=cv2.INTER_CUBIC)
    ring = np.hypot(*np.mgrid[-40:40, -40:40] / 20.0)  # holes above the ring's centre value
    raw = low + np.exp(-((ring - 1) ** 2) * 4) + rng.normal(0, 0.05, (80, 80))
    scoremap = prepare_scoremap(raw, 80).scoremap
    gt = data.draw(gt_boxes(scoremap.shape, convention))
    _assert_sweep_equals_opencv(scoremap, cam_thresholds(0.01), gt, convention)


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(2, 14), st.integers(2, 14), st.floats(0.2, 0.8))
def test_largest_contour_equals_opencv_on_random_binary_maps(seed, h, w, density):
    """Many equal areas (ties), zero-area contours, holes and islands on tiny binary maps."""
    rng = np.random.default_rng(seed)
    scoremap = (rng.random((h, w)) < density).astype(np.float64)
    scoremap[rng.random((h, w)) < 0.2] = 0.5
    gt = np.array([[0, 0, w // 2, h // 2], [w // 3, h // 3, w - 1, h - 1]])
    thresholds = np.array([0.0, 0.4, 0.6])
    reference = scoremap_boxes(scoremap, thresholds, "opencv")
    got = contour_best_ious(scoremap, thresholds, gt)
    assert np.array_equal(got["single"], reference.best_iou(gt, "single"))


def _largest_box_iou(u8: np.ndarray, gt: np.ndarray) -> tuple[float, float]:
    """(fast, OpenCV) largest-contour IoU at cut 0 of a uint8 map."""
    scoremap = u8.astype(np.float64) / 255
    thresholds = np.array([0.0])
    fast = contour_best_ious(scoremap, thresholds, gt, modes=("single",))["single"][0]
    return float(fast), float(scoremap_boxes(scoremap, thresholds, "opencv").best_iou(gt, "single")[0])


@pytest.mark.parametrize(
    "pixels",
    [
        [(2, 2), (2, 8)],  # two single pixels: area 0 each, OpenCV lists the later one first
        [(1, 1), (2, 2), (6, 6)],  # a diagonal pair and a single pixel: all area 0
        [(1, 1), (1, 2), (2, 1), (2, 2), (6, 6), (6, 7), (7, 6), (7, 7)],  # two equal squares
        [(2, 6), (3, 5), (3, 7), (4, 6), (7, 2)],  # diamond ring around a one-pixel hole: hole area == outer
    ],
    ids=["single-pixels", "zero-area", "equal-squares", "diamond-ring"],
)
def test_largest_contour_ties_follow_opencv_order(pixels):
    u8 = np.zeros((10, 10), dtype=np.uint8)
    for y, x in pixels:
        u8[y, x] = 255
    ys, xs = zip(*pixels, strict=True)
    for gt in ([[min(xs), min(ys), min(xs), min(ys)]], [[max(xs), max(ys), max(xs), max(ys)]]):
        fast, reference = _largest_box_iou(u8, np.array(gt))
        assert fast == reference


def test_largest_contour_ignores_a_bigger_island_inside_a_hole():
    """A ring whose hole holds a blob: the ring's outer contour (area includes the blob) wins."""
    u8 = np.zeros((20, 20), dtype=np.uint8)
    u8[2:18, 2:18] = 200
    u8[3:17, 3:17] = 0
    u8[5:15, 5:15] = 255  # island, larger than any other contour except the ring's outer one
    gt = np.array([[5, 5, 15, 15]])
    fast, reference = _largest_box_iou(u8, gt)
    assert fast == reference < 1.0


# --- IoU and conventions ------------------------------------------------------------------


def test_reference_iou_uses_inclusive_ends():
    iou = box_iou(np.array([[0, 0, 0, 0], [0, 0, 1, 1], [5, 5, 6, 6]]), np.array([[0, 0, 1, 1]]))
    assert iou[:, 0].tolist() == [0.25, 1.0, 0.0]


def test_exact_iou_uses_half_open_rectangles():
    iou = box_iou(np.array([[0.0, 0.0, 2.0, 2.0]]), np.array([[1.0, 1.0, 3.0, 3.0]]), "exact")
    assert iou[0, 0] == pytest.approx(1 / 7)


def test_exact_convention_scores_a_perfect_box_as_one():
    scoremap = np.zeros((224, 224))
    scoremap[50:100, 60:120] = 1.0
    sample_boxes = np.array([[120.0, 100.0, 239.0, 199.0]])  # same pixels in a 448x448 image
    thresholds = cam_thresholds(0.1)
    results = {}
    for convention in ("reference", "exact"):
        gt = rescale_gt_boxes(sample_boxes, (448, 448), 224, convention)
        results[convention] = all_contour_best_iou(scoremap, thresholds, gt, convention)
    assert np.all(results["exact"] == 1.0)
    assert np.all(results["reference"] < 1.0)  # exclusive end read as inclusive + truncated GT
    sample = Sample(image_id="sq", image=None, label=0, size=(448, 448), boxes=sample_boxes)
    exact = BoxAccuracy(iou_thresholds=(100,), box_convention="exact", input_maps="prepared")
    exact.update([scoremap], [sample])
    assert exact.compute()["maxboxacc_v2"] == 100.0


# --- accumulator ------------------------------------------------------------------------------


def _random_batch(rng: np.random.Generator, n: int, start: int = 0) -> tuple[list, list[Sample], list[int]]:
    maps, targets, predictions = [], [], []
    for i in range(start, start + n):
        w, h = (int(v) for v in rng.integers(40, 400, 2))
        x0, y0 = rng.integers(0, w // 2), rng.integers(0, h // 2)
        boxes = np.array([[x0, y0, rng.integers(x0, w), rng.integers(y0, h)]], dtype=np.float64)
        maps.append(rng.normal(size=tuple(rng.integers(5, 20, 2))).astype(np.float32))
        targets.append(Sample(image_id=f"img{i}", image=None, label=int(i % 3), size=(w, h), boxes=boxes))
        predictions.append(int(rng.integers(0, 3)))
    return maps, targets, predictions


def _assert_same_results(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        assert np.array_equal(a[key], b[key]), key


def test_merged_shards_equal_a_single_pass():
    rng = np.random.default_rng(0)
    maps, targets, predictions = _random_batch(rng, 24)
    whole = BoxAccuracy(cam_curve_interval=0.01)
    whole.update(maps, targets, predictions)
    shards = [BoxAccuracy(cam_curve_interval=0.01) for _ in range(3)]
    for j, shard in enumerate(shards):
        part = slice(8 * j, 8 * j + 8)
        shard.update(maps[part], targets[part], predictions[part])
    merged = BoxAccuracy(cam_curve_interval=0.01)
    for shard in shards:
        merged.merge_state(shard.state())
    _assert_same_results(whole.compute(), merged.compute())
    _assert_same_results(whole.per_image(), merged.per_image())
    assert all(isinstance(v, np.ndarray) for v in whole.state().values())


def test_all_contour_only_mode_gives_the_same_numbers():
    rng = np.random.default_rng(4)
    maps, targets, predictions = _random_batch(rng, 16)
    both = BoxAccuracy(cam_curve_interval=0.001)
    multi = BoxAccuracy(cam_curve_interval=0.001, modes=["multi"])
    both.update(maps, targets, predictions)
    multi.update(maps, targets, predictions)
    out_both, out_multi = both.compute(), multi.compute()
    only_single = set(out_both) - set(out_multi)
    assert set(out_multi) < set(out_both) and "maxboxacc_v2" in out_multi
    assert only_single == {k for k in out_both if "single" in k or k.startswith("maxboxacc_iou")} | {
        "maxboxacc",
        "top1_loc",
    }
    _assert_same_results({k: out_both[k] for k in out_multi}, out_multi)
    assert np.array_equal(multi.per_image()["best_iou_multi"], both.per_image()["best_iou_multi"])
    with pytest.raises(ConfigError, match="not evaluated"):
        multi.curve(50, "single")
    with pytest.raises(WSOLError, match="cannot merge"):
        both.merge_state(multi.state())
    for bad in ([], ["multi", "multi"], ["all"]):
        with pytest.raises(ConfigError, match="modes"):
            BoxAccuracy(modes=bad)


def test_merge_rejects_other_grids_and_repeated_images():
    rng = np.random.default_rng(1)
    maps, targets, _ = _random_batch(rng, 2)
    a, b = BoxAccuracy(cam_curve_interval=0.01), BoxAccuracy(cam_curve_interval=0.01)
    a.update(maps, targets)
    b.update(maps[:1], targets[:1])
    with pytest.raises(DataError, match="img0"):
        a.merge_state(b.state())
    with pytest.raises(WSOLError, match="thresholds"):
        a.merge_state(BoxAccuracy(cam_curve_interval=0.05).state())
    with pytest.raises(DataError, match="img1"):
        a.update(maps[1:], targets[1:])


def test_top1_localization_needs_the_right_class():
    rng = np.random.default_rng(2)
    maps, targets, _ = _random_batch(rng, 12)
    right, wrong = BoxAccuracy(), BoxAccuracy()
    right.update(maps, targets, [t.label for t in targets])
    wrong.update(maps, targets, [t.label + 1 for t in targets])
    r, w = right.compute(), wrong.compute()
    assert r["top1_loc"] == r["maxboxacc"] and r["top1_cls"] == 100.0
    assert w["top1_loc"] == 0.0 and w["top1_cls"] == 0.0
    without = BoxAccuracy()
    without.update(maps, targets)
    assert "top1_loc" not in without.compute()


def test_threshold_chosen_on_one_split_is_applied_to_another():
    rng = np.random.default_rng(3)
    val, test = BoxAccuracy(), BoxAccuracy()
    val.update(*_random_batch(rng, 10)[:2])
    test.update(*_random_batch(rng, 10, start=10)[:2])
    threshold = val.best_threshold(iou=50, mode="single")
    assert val.accuracy_at(threshold) == val.compute()["maxboxacc"]
    k = int(np.flatnonzero(test.thresholds == threshold)[0])
    assert test.accuracy_at(threshold) == test.curve(50, "single")[k]
    with pytest.raises(ConfigError, match="grid"):
        test.accuracy_at(0.123456)


def _sample(**overrides) -> Sample:
    fields = {"image_id": "bad/img.jpg", "image": None, "label": 0, "size": (100, 80)}
    fields["boxes"] = np.array([[10.0, 10.0, 50.0, 40.0]])
    fields.update(overrides)
    return Sample(**fields)


@pytest.mark.parametrize(
    ("map_", "sample", "options", "message"),
    [
        (np.zeros((3, 7, 7)), _sample(), {}, "2-D"),
        (np.zeros((7, 7)), _sample(), {"input_maps": "prepared"}, "224x224"),
        (np.zeros((7, 7)), _sample(boxes=np.array([[50.0, 10.0, 10.0, 40.0]])), {}, "not inside"),
        (np.zeros((7, 7)), _sample(boxes=np.array([[10.0, 10.0, 100.0, 40.0]])), {}, "not inside"),
        (np.zeros((7, 7)), _sample(boxes=np.zeros((0, 4))), {}, r"\(N, 4\)"),
    ],
)
def test_bad_inputs_name_the_image(map_, sample, options, message):
    accumulator = BoxAccuracy(**options)
    with pytest.raises(DataError, match=f"bad/img.jpg: .*{message}"):
        accumulator.update([map_], [sample])


def test_nan_and_constant_maps_are_counted():
    accumulator = BoxAccuracy()
    nan_map = np.ones((7, 7))
    nan_map[3, 3] = np.nan
    constant = np.full((7, 7), 0.37, dtype=np.float32)  # its bicubic resize stays exactly constant
    accumulator.update([nan_map, constant], [_sample(image_id="a"), _sample(image_id="b")])
    out = accumulator.compute()
    assert out["n_nan_maps"] == 1 and out["n_constant_maps"] == 1 and out["n_images"] == 2


def test_kernels_compile_without_a_writable_cache(monkeypatch):
    """Where numba finds no writable cache directory, kernels are compiled uncached."""
    import numba
    from numba.core.caching import NullCache

    from wsol.metrics.jit import jit

    assert not isinstance(jit(lambda x: x)._cache, NullCache)  # normally cached on disk
    njit = numba.njit

    def no_cache(*args, **kwargs):
        if kwargs.get("cache"):
            raise RuntimeError("cannot cache function: no locator available")
        return njit(*args, **kwargs)

    monkeypatch.setattr(numba, "njit", no_cache)
    twice = jit(lambda x: 2 * x)
    assert twice(21) == 42 and isinstance(twice._cache, NullCache)


def test_registry_builds_and_checks_options():
    accumulator = METRICS.build({"name": "maxboxacc", "cam_curve_interval": 0.001, "method": "opencv"})
    assert len(accumulator.thresholds) == 1000  # the spec's interval reached the member
    with pytest.raises(ConfigError):
        METRICS.build({"name": "maxboxacc", "method": "tree"})
    with pytest.raises(ConfigError):
        METRICS.build({"name": "maxboxacc", "cam_curve_interval": 1.5})
    with pytest.raises(WSOLError, match="maps for"):
        accumulator.update([np.zeros((4, 4))], [])
