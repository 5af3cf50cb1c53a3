"""Fixation-based saliency metrics: golden tests against the MIT code (Octave) and
pysaliency 0.2.22, statistical tests of the random metrics, properties, bad inputs."""

from __future__ import annotations

import json
import sys
from functools import cache
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from wsol.data.sample import Sample
from wsol.errors import ConfigError, DataError, WSOLError
from wsol.metrics import METRICS
from wsol.metrics.fixations import binary_fixation_map, center_bias, fixation_map, fixation_pixels
from wsol.metrics.imresize import imresize, resize_weights
from wsol.metrics.saliency import (
    _count_at_least,
    auc_borji,
    auc_judd,
    auc_shuffled,
    cc,
    info_gain,
    kld,
    nss,
    sim,
)
from wsol.metrics.saliency_accumulator import SaliencyMetrics

GOLDEN = Path(__file__).parent / "golden" / "saliency"
ROOT = Path(__file__).resolve().parents[1]
MIT_TOL = 1e-9
PY_TOL = 1e-12


@cache
def _golden() -> tuple[dict, dict, dict, dict]:
    arrays = dict(np.load(GOLDEN / "arrays.npz"))
    cases = {c["id"]: c for c in json.loads((GOLDEN / "cases.json").read_text())["cases"]}
    mit = json.loads((GOLDEN / "expected_mit.json").read_text())["cases"]
    py = json.loads((GOLDEN / "expected_pysaliency.json").read_text())["cases"]
    return arrays, cases, mit, py


CASES = list(_golden()[1])
GROUP_CASES = [c for c in CASES if "othermap_binary" in _golden()[1][c]["npz"]]


class Case:
    """One golden case: inputs as numpy arrays plus both references' outputs."""

    def __init__(self, case_id: str) -> None:
        arrays, cases, mit, py = _golden()
        self.id, self.meta, self.mit, self.py = case_id, cases[case_id], mit[case_id], py[case_id]
        self._arrays = arrays
        self.shape = tuple(self.meta["fixmap_shape"])
        self.points = np.stack([self["fix_x"], self["fix_y"]], axis=1)
        # pysaliency refuses size mismatches; it was given MIT's resized map there
        self.py_map = self["mit_resized_smap"] if self.py["input_map"] != "smap" else self["smap"]

    def __getitem__(self, name: str) -> np.ndarray:
        return self._arrays[f"{self.id}__{name}"]

    def has(self, name: str) -> bool:
        return f"{self.id}__{name}" in self._arrays

    def other_points(self) -> np.ndarray:
        """All fixations of the other group members, duplicates kept."""
        return np.concatenate([Case(o).points for o in self.meta["other_case_ids"]])


def _number(value) -> float:
    return float(value) if not isinstance(value, dict) else complex(value["re"], value["im"])


def _assert_close(actual: float, expected: float, tol: float) -> None:
    if np.isnan(expected) or np.isinf(expected):
        assert actual == expected or (np.isnan(actual) and np.isnan(expected)), (actual, expected)
    else:
        assert abs(actual - expected) <= tol, (actual, expected, abs(actual - expected))


# ----------------------------------------------------------------------------- helpers vs golden


@pytest.mark.parametrize("case_id", [c for c in CASES if Case(c).has("mit_resized_smap")])
def test_imresize_matches_octave(case_id):
    case = Case(case_id)
    resized = imresize(case["smap"], case.shape)
    np.testing.assert_allclose(resized, case["mit_resized_smap"], rtol=0, atol=1e-12)


def test_imresize_identity_and_weights():
    rng = np.random.default_rng(0)
    image = rng.random((7, 9))
    np.testing.assert_array_equal(imresize(image, (7, 9)), image)
    for n_in, n_out in [(5, 13), (13, 5), (64, 48), (1, 4)]:
        weights = resize_weights(n_in, n_out)
        np.testing.assert_allclose(weights.sum(axis=1), 1.0, atol=1e-14)
    # equal sizes through the general path give the identity matrix
    np.testing.assert_array_equal(resize_weights(6, 6), np.eye(6))
    # a constant stays constant (weights sum to 1) when up- and downsampling
    np.testing.assert_allclose(imresize(np.full((10, 12), 3.0), (25, 7)), 3.0, atol=1e-13)


@pytest.mark.parametrize("case_id", CASES)
def test_fixation_maps_and_baselines_match_golden(case_id):
    case = Case(case_id)
    np.testing.assert_array_equal(binary_fixation_map(case.points, case.shape), case["fixmap_binary"])
    cont = fixation_map(case.points, case.shape, case.meta["sigma_px"])
    np.testing.assert_allclose(cont, case["fixmap_cont"], rtol=0, atol=1e-15)
    np.testing.assert_allclose(center_bias(case.shape), case["baseline"], rtol=0, atol=1e-15)
    if case.has("baseline_other"):
        other = fixation_map(case.other_points(), case.shape, 2 * case.meta["sigma_px"])
        np.testing.assert_allclose(other, case["baseline_other"], rtol=0, atol=1e-15)


# ----------------------------------------------------------------------------- MIT, deterministic


def _mit_value(case: Case, metric: str) -> float:
    smap, pts, shape = case["smap"], case.points, case.shape
    if metric == "AUC_Judd_nojitter":
        return auc_judd(smap, pts, shape=shape, jitter=False)
    if metric == "NSS":
        return nss(smap, pts, shape=shape)
    if metric == "CC":
        return cc(smap, case["fixmap_cont"])
    if metric == "KLdiv":
        return kld(smap, case["fixmap_cont"])
    if metric == "similarity":
        return sim(smap, case["fixmap_cont"])
    if metric == "InfoGain_centerbias":
        return info_gain(smap, pts, case["baseline"], shape=shape)
    return info_gain(smap, pts, case["baseline_other"], shape=shape)


MIT_DETERMINISTIC = ["AUC_Judd_nojitter", "NSS", "CC", "KLdiv", "similarity", "InfoGain_centerbias"]


def _applicable(reference: str, keys: list[str]) -> list[tuple[str, str]]:
    """(case, key) pairs the reference has a real number (or "nan"/"inf" string) for; leaves
    out group-only keys elsewhere and MIT's complex KLdiv (see test_kld_negative_map_raises)."""
    outputs = _golden()[2] if reference == "mit" else _golden()[3]
    return [(c, k) for c in CASES for k in keys if k in outputs[c] and not isinstance(outputs[c][k], dict)]


@pytest.mark.parametrize(("case_id", "metric"), _applicable("mit", [*MIT_DETERMINISTIC, "InfoGain_otherfix"]))
def test_mit_deterministic(case_id, metric):
    case = Case(case_id)
    _assert_close(_mit_value(case, metric), _number(case.mit[metric]), MIT_TOL)


def test_kld_negative_map_raises():
    case = Case("negative_60x80")
    assert isinstance(_number(case.mit["KLdiv"]), complex)  # what MIT returns here
    with pytest.raises(DataError, match=r"negative values.*complex"):
        kld(case["smap"], case["fixmap_cont"])
    with pytest.raises(DataError, match="fixation map has negative"):
        kld(case["fixmap_cont"], -case["fixmap_cont"])
    # the pysaliency convention shifts the minimum to 0 and is defined
    _assert_close(
        kld(case["smap"], case["fixmap_cont"], convention="pysaliency"), _number(case.py["KLD_MIT"]), PY_TOL
    )


def test_constant_map_gives_nan_under_mit_and_values_under_pysaliency():
    case = Case("constant_48x64")
    smap, pts, fmap = case["smap"], case.points, case["fixmap_cont"]
    for value in (
        auc_judd(smap, pts, jitter=False),
        auc_borji(smap, pts),
        nss(smap, pts),
        cc(smap, fmap),
        sim(smap, fmap),
        info_gain(smap, pts, case["baseline"]),
    ):
        assert np.isnan(value)
    assert auc_judd(smap, pts, jitter=False, convention="pysaliency") == 0.5
    assert nss(smap, pts, convention="pysaliency") == 0.0
    assert cc(smap, fmap, convention="pysaliency") == 0.0
    # a constant that is not exactly representable still counts as constant
    assert np.isnan(nss(np.full((20, 30), 0.1), pts[:5] % 20))


# ----------------------------------------------------------------------------- pysaliency


def _py_value(case: Case, key: str) -> float:
    smap, pts, fmap = case.py_map, case.points, case["fixmap_cont"]
    kw = {"convention": "pysaliency"}
    unique = np.unique(pts, axis=0)
    return {
        "AUC_Judd_nojitter": lambda: auc_judd(smap, pts, jitter=False, **kw),
        "AUC_Judd_jitter_seed42": lambda: auc_judd(smap, pts, rng=np.random.RandomState(42), **kw),
        "diag_AUC_Judd_nojitter_unique_fixations": lambda: auc_judd(smap, unique, jitter=False, **kw),
        "AUC_uniform_allpixels": lambda: auc_borji(smap, pts, **kw),
        "NSS": lambda: nss(smap, pts, **kw),
        "diag_NSS_unique_fixations": lambda: nss(smap, unique, **kw),
        "CC": lambda: cc(smap, fmap, **kw),
        "KLD_MIT": lambda: kld(smap, fmap, **kw),
        "SIM": lambda: sim(smap, fmap, **kw),
        "IG_centerbias": lambda: info_gain(smap, pts, case["baseline"], **kw),
        "IG_otherfix": lambda: info_gain(smap, pts, case["baseline_other"], **kw),
        "sAUC": lambda: auc_shuffled(smap, pts, case.other_points(), **kw),
    }[key]()


PY_KEYS = [
    "AUC_Judd_nojitter",
    "AUC_Judd_jitter_seed42",
    "diag_AUC_Judd_nojitter_unique_fixations",
    "AUC_uniform_allpixels",
    "NSS",
    "diag_NSS_unique_fixations",
    "CC",
    "KLD_MIT",
    "SIM",
    "IG_centerbias",
    "IG_otherfix",
    "sAUC",
]


@pytest.mark.parametrize(("case_id", "key"), _applicable("pysaliency", PY_KEYS))
def test_pysaliency_convention(case_id, key):
    case = Case(case_id)
    expected = _number(case.py[key])
    _assert_close(_py_value(case, key), expected, PY_TOL * max(1.0, abs(expected)))


def test_pysaliency_nss_is_mit_times_sqrt_n_over_n_minus_1():
    case = Case("smooth_60x80")
    n = case["smap"].size
    assert nss(case["smap"], case.points, convention="pysaliency") == pytest.approx(
        nss(case["smap"], case.points) * np.sqrt(n / (n - 1)), abs=1e-13
    )


def test_conventions_differ_where_documented():
    dup = Case("duplicates_60x80")
    assert (
        abs(
            auc_judd(dup["smap"], dup.points, jitter=False)
            - auc_judd(dup["smap"], dup.points, jitter=False, convention="pysaliency")
        )
        > 1e-3
    )
    smooth = Case("smooth_48x64")
    assert (
        abs(
            sim(smooth["smap"], smooth["fixmap_cont"])
            - sim(smooth["smap"], smooth["fixmap_cont"], convention="pysaliency")
        )
        > 1e-3
    )
    zeros = Case("zeros_relu_48x64")
    assert info_gain(zeros["smap"], zeros.points, zeros["baseline"], convention="pysaliency") == -np.inf
    assert np.isfinite(info_gain(zeros["smap"], zeros.points, zeros["baseline"]))


# ----------------------------------------------------------------------------- MIT, random


RUNS = 30


def _random_metric(case: Case, metric: str, seed: int) -> float:
    if metric == "AUC_Judd_jitter":
        return auc_judd(case["smap"], case.points, shape=case.shape, rng=seed)
    if metric == "AUC_Borji":
        return auc_borji(case["smap"], case.points, shape=case.shape, rng=seed)
    return auc_shuffled(case["smap"], case.points, case["othermap_binary"], shape=case.shape, rng=seed)


@pytest.mark.parametrize(
    ("case_id", "metric"),
    [(c, m) for c in CASES for m in ("AUC_Judd_jitter", "AUC_Borji", "AUC_shuffled") if m in _golden()[2][c]],
)
def test_mit_random_metrics_statistically(case_id, metric):
    """Mean of RUNS seeded runs against MIT's 20 Octave runs (README of the golden set)."""
    case = Case(case_id)
    ref = case.mit[metric]
    values = np.array([_random_metric(case, metric, seed) for seed in range(RUNS)])
    mean_mit, std_mit = float(ref["mean"]), float(ref["std_ddof1"])
    if np.isnan(mean_mit):
        assert np.isnan(values).all()
        return
    tol = 4 * np.sqrt(std_mit**2 / ref["n_runs"] + values.std(ddof=1) ** 2 / RUNS) + 1e-9
    assert abs(values.mean() - mean_mit) <= tol, (values.mean(), mean_mit, tol)


def test_random_metrics_are_reproducible_and_seed_dependent():
    case = Case("zeros_relu_48x64")
    for fn in (auc_judd, auc_borji):
        seeded = fn(case["smap"], case.points, rng=3)
        assert seeded == fn(case["smap"], case.points, rng=np.random.default_rng(3))
        assert fn(case["smap"], case.points, rng=3) != fn(case["smap"], case.points, rng=4)


@pytest.mark.parametrize("case_id", GROUP_CASES)
def test_shuffled_auc_accepts_points_or_map(case_id):
    case = Case(case_id)
    other_xy = np.argwhere(case["othermap_binary"])[:, ::-1]
    with_points = auc_shuffled(case["smap"], case.points, np.concatenate([other_xy, other_xy]), rng=7)
    assert with_points == auc_shuffled(case["smap"], case.points, case["othermap_binary"], rng=7)


# ----------------------------------------------------------------------------- properties


@st.composite
def map_and_fixations(draw):
    """A tie-free random map (continuous values) and 1..40 fixations, possibly repeated."""
    seed = draw(st.integers(0, 2**32 - 1))
    h, w = draw(st.integers(3, 24)), draw(st.integers(3, 24))
    rng = np.random.default_rng(seed)
    smap = rng.normal(size=(h, w))
    n = draw(st.integers(1, min(40, h * w - 1)))
    points = np.stack([rng.integers(0, w, n), rng.integers(0, h, n)], axis=1)
    return smap, points


PROPS = settings(max_examples=40, deadline=None)


@PROPS
@given(map_and_fixations(), st.sampled_from(["mit", "pysaliency"]))
def test_aucs_lie_in_unit_interval(data, convention):
    smap, pts = data
    for value in (
        auc_judd(smap, pts, convention=convention),
        auc_borji(smap, pts, n_splits=5, convention=convention),
        auc_shuffled(smap, pts, pts[::-1], n_splits=5, convention=convention),
    ):
        assert np.isnan(value) or 0.0 <= value <= 1.0


@PROPS
@given(map_and_fixations(), st.floats(0.01, 100.0), st.floats(-100.0, 100.0))
def test_auc_and_nss_invariant_to_positive_affine_maps(data, scale, shift):
    smap, pts = data
    moved = scale * smap + shift
    for convention in ("mit", "pysaliency"):
        assert auc_judd(moved, pts, jitter=False, convention=convention) == pytest.approx(
            auc_judd(smap, pts, jitter=False, convention=convention), abs=1e-12
        )
        assert nss(moved, pts, convention=convention) == pytest.approx(
            nss(smap, pts, convention=convention), abs=1e-9
        )
    assert cc(moved, smap) == pytest.approx(1.0, abs=1e-12)


@PROPS
@given(map_and_fixations())
def test_auc_judd_invariant_to_monotone_maps(data):
    smap, pts = data
    squashed = np.tanh(smap / 4) ** 3  # strictly increasing; tie-free inputs stay tie-free
    for convention in ("mit", "pysaliency"):
        assert auc_judd(squashed, pts, jitter=False, convention=convention) == pytest.approx(
            auc_judd(smap, pts, jitter=False, convention=convention), abs=1e-12
        )


@PROPS
@given(map_and_fixations())
def test_exact_uniform_auc_of_negated_map_is_complement(data):
    smap, pts = data
    forward = auc_borji(smap, pts, convention="pysaliency")
    assert forward + auc_borji(-smap, pts, convention="pysaliency") == pytest.approx(1.0, abs=1e-12)


@PROPS
@given(map_and_fixations(), map_and_fixations())
def test_cc_symmetric_sim_kld_bounds(a, b):
    first = np.abs(a[0])
    second = np.abs(imresize(b[0], first.shape))
    assert cc(first, second) == pytest.approx(cc(second, first), abs=1e-12)
    assert -1.0 - 1e-12 <= cc(first, second) <= 1.0 + 1e-12
    for convention in ("mit", "pysaliency"):
        assert -1e-12 <= sim(first, second, convention=convention) <= 1.0 + 1e-12
        assert sim(first, first, convention=convention) == pytest.approx(1.0, abs=1e-12)
        assert kld(first, first, convention=convention) == pytest.approx(0.0, abs=1e-9)
        assert kld(first, second, convention=convention) >= -1e-9


@PROPS
@given(map_and_fixations())
def test_mit_counts_each_fixated_pixel_once(data):
    smap, pts = data
    doubled = np.concatenate([pts, pts[:3]])
    assert auc_judd(smap, doubled, jitter=False) == auc_judd(smap, pts, jitter=False)
    assert nss(smap, doubled) == nss(smap, pts)
    baseline = center_bias(smap.shape)
    assert info_gain(smap, doubled, baseline) == info_gain(smap, pts, baseline)


@settings(max_examples=150, deadline=None)
@given(
    st.integers(0, 2**32 - 1),
    st.sampled_from(["uniform", "skewed", "quantized", "signed", "zeros"]),
    st.integers(1, 2000),
    st.integers(1, 60),
)
def test_pixel_counts_above_thresholds_are_exact(seed, kind, n, k):
    """The counting behind AUC-Judd (grid and sort paths): ties, -0.0, skew, outliers."""
    rng = np.random.default_rng(seed)
    values = {
        "uniform": rng.random(n),
        "skewed": rng.random(n) ** 12,  # thresholds crowd near 0: the sort path
        "signed": rng.normal(0, 1e5, n),
        "quantized": np.round(rng.random(n) * 8) / 8,
        "zeros": np.where(rng.random(n) < 0.5, -0.0, 0.0),
    }[kind]
    thresholds = np.concatenate([rng.choice(values, k), rng.normal(0, 2, rng.integers(0, 3))])
    expected = [np.count_nonzero(values >= t) for t in thresholds]
    assert _count_at_least(values, thresholds).tolist() == expected


# ----------------------------------------------------------------------------- inputs


def test_torch_and_float32_inputs():
    case = Case("resize_down_120x160_to_60x80")
    smap32 = case["smap"].astype(np.float32)
    tensor = torch.from_numpy(smap32)
    points = torch.from_numpy(case.points.astype(np.float64))
    expected = nss(smap32.astype(np.float64), case.points, shape=case.shape)
    assert nss(tensor, points, shape=case.shape) == expected
    assert cc(tensor, torch.from_numpy(case["fixmap_cont"])) == cc(smap32, case["fixmap_cont"])
    assert nss(tensor, points, shape=case.shape) == pytest.approx(_number(case.mit["NSS"]), abs=1e-6)
    half = nss(tensor.to(torch.bfloat16), points, shape=case.shape)  # no numpy dtype: cast first
    assert half == pytest.approx(_number(case.mit["NSS"]), abs=1e-2)


def test_real_valued_fixations_use_the_containing_pixel():
    rows, cols = fixation_pixels(np.array([[2.9, 0.0], [0.2, 4.99]]), (5, 3))
    assert rows.tolist() == [0, 4] and cols.tolist() == [2, 0]


@pytest.mark.parametrize(
    ("smap", "points", "match"),
    [
        (np.ones((4, 4)), np.zeros((0, 2)), "no fixations"),
        (np.ones((4, 4)), np.array([[4, 0]]), "outside the 4x4 image"),
        (np.ones((4, 4)), np.array([[-0.5, 1]]), "outside"),
        (np.ones((4, 4)), np.array([[np.nan, 1]]), "NaN"),
        (np.ones((4, 4)), np.array([1, 2, 3]), r"\(M, 2\)"),
        (np.full((4, 4), np.nan), np.array([[1, 1]]), "non-finite"),
        (np.ones((2, 4, 4)), np.array([[1, 1]]), "2-D"),
        (np.array([["a"]]), np.array([[0, 0]]), "numeric"),
    ],
)
def test_bad_inputs_raise_data_error(smap, points, match):
    with pytest.raises(DataError, match=match):
        nss(smap, points)


def test_bad_options_raise():
    smap, pts = np.random.default_rng(0).random((6, 6)), np.array([[1, 1], [2, 3]])
    with pytest.raises(ConfigError, match="convention"):
        auc_judd(smap, pts, convention="matlab")
    with pytest.raises(ConfigError, match="rng"):
        auc_borji(smap, pts, rng=np.random.RandomState(0))
    with pytest.raises(ConfigError, match="step"):
        auc_borji(smap, pts, step=0.0)
    with pytest.raises(DataError, match="other-fixation map has no"):
        auc_shuffled(smap, pts, np.zeros((6, 6)))
    with pytest.raises(DataError, match="other fixations"):
        auc_shuffled(smap, pts, np.zeros((0, 2)))
    with pytest.raises(DataError, match="sigma"):
        fixation_map(pts, (6, 6), 0.0)


# ----------------------------------------------------------------------------- accumulator


def _sample(case: Case, with_map: bool = True) -> Sample:
    h, w = case.shape
    return Sample(
        image_id=case.id,
        image=None,
        label=0,
        size=(w, h),
        fixations=case.points.astype(np.float64),
        fixation_map=case["fixmap_cont"] if with_map else None,
    )


def test_accumulator_registered_and_matches_functions():
    acc = METRICS.build({"name": "saliency", "normalize": False})
    ids = ["smooth_48x64", "resize_down_120x160_to_60x80", "quantized_60x80"]
    acc.update([torch.from_numpy(Case(i)["smap"]) for i in ids], [_sample(Case(i)) for i in ids])
    rows = acc.per_image()
    for i in ids:
        case = Case(i)
        for metric in MIT_DETERMINISTIC[1:]:
            name = {
                "NSS": "nss",
                "CC": "cc",
                "KLdiv": "kld",
                "similarity": "sim",
                "InfoGain_centerbias": "info_gain",
            }[metric]
            _assert_close(rows[i][name], _number(case.mit[metric]), MIT_TOL)
    result = acc.compute()
    assert result["n_images"] == 3 and result["nss_nan"] == 0
    assert result["cc"] == pytest.approx(np.mean([_number(Case(i).mit["CC"]) for i in ids]), abs=1e-12)


def test_accumulator_normalize_changes_only_kld():
    case = Case("negative_60x80")
    raw, normalized = SaliencyMetrics(normalize=False, metrics=["nss", "cc", "sim"]), SaliencyMetrics()
    raw.update([case["smap"]], [_sample(case)])
    normalized.update([case["smap"]], [_sample(case)])
    with_norm, without = normalized.per_image()[case.id], raw.per_image()[case.id]
    for name in ("nss", "cc", "sim"):
        assert with_norm[name] == pytest.approx(without[name], abs=1e-12)
    assert np.isfinite(with_norm["kld"])
    with pytest.raises(DataError, match="negative_60x80: KLD"):
        SaliencyMetrics(normalize=False).update([case["smap"]], [_sample(case)])


def test_accumulator_sharding_is_exact_and_nan_is_counted():
    ids = ["smooth_60x80", "zeros_relu_48x64", "constant_48x64", "group_60x80_img1"]
    whole = SaliencyMetrics()
    whole.update([Case(i)["smap"] for i in ids], [_sample(Case(i), with_map=False) for i in ids])
    first, second = SaliencyMetrics(), SaliencyMetrics()
    second.update([Case(i)["smap"] for i in ids[2:]], [_sample(Case(i), with_map=False) for i in ids[2:]])
    first.update([Case(i)["smap"] for i in ids[:2]], [_sample(Case(i), with_map=False) for i in ids[:2]])
    first.merge_state(second.state())
    assert first.compute() == pytest.approx(whole.compute(), nan_ok=True)
    merged, single = first.per_image(), whole.per_image()
    for i in ids:  # per-image values do not depend on sharding (per-image seeds)
        np.testing.assert_array_equal(list(merged[i].values()), list(single[i].values()))
    result = whole.compute()
    assert result["auc_borji_nan"] == 1 and result["nss_nan"] == 1 and result["kld_nan"] == 0
    defined = [whole.per_image()[i]["nss"] for i in ids if i != "constant_48x64"]
    assert result["nss"] == pytest.approx(np.mean(defined))


def test_accumulator_bad_inputs():
    case = Case("smooth_48x64")
    acc = SaliencyMetrics(metrics=["nss"])
    empty = Sample(image_id="img_7", image=None, label=0, size=(64, 48), fixations=np.zeros((0, 2)))
    with pytest.raises(DataError, match="img_7: no fixations"):
        acc.update([case["smap"]], [empty])
    outside = Sample(image_id="img_8", image=None, label=0, size=(10, 10), fixations=np.array([[12.0, 1.0]]))
    with pytest.raises(DataError, match=r"img_8: .*outside"):
        acc.update([case["smap"]], [outside])
    acc.update([case["smap"]], [_sample(case)])
    with pytest.raises(DataError, match="smooth_48x64: image evaluated twice"):
        acc.update([case["smap"]], [_sample(case)])
    with pytest.raises(ConfigError, match="did you mean 'auc_judd'"):
        SaliencyMetrics(metrics=["auc_jud"])
    with pytest.raises(WSOLError, match="cannot merge"):
        SaliencyMetrics(metrics=["cc"]).merge_state(acc.state())
    with pytest.raises(WSOLError, match="cannot merge a state built with a different 'seed'"):
        SaliencyMetrics(metrics=["nss"], seed=1).merge_state(acc.state())
    with pytest.raises(WSOLError, match="maps for"):
        acc.update([case["smap"]], [])
    with pytest.raises(ConfigError, match="distinct"):
        SaliencyMetrics(metrics=["nss", "nss"])
    with pytest.raises(WSOLError):
        METRICS.build({"name": "saliency", "sigma": 3})


# ----------------------------------------------------------------------------- benchmark baseline


def test_benchmark_loop_baseline_agrees_with_auc_judd():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from bench_saliency import auc_judd_loop, make_inputs
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    for smap, points in make_inputs(3, (30, 40), 12):
        assert auc_judd_loop(smap, points) == pytest.approx(auc_judd(smap, points, jitter=False), abs=1e-12)
