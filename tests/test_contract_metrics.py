"""The METRICS contract (module docstring of :mod:`wsol.metrics`), on every registered member.

Each member streams a mixed batch of ground-truth-only samples carrying every kind of
ground truth, with raw maps of assorted sizes and types (a constant map included), and
must keep the contract: exact ``state`` / ``merge_state`` sharding, ``reset``, flat
snake-case result keys that do not depend on the data, and a ``requires`` that names
exactly the ground truth it reads. A newly registered metric is tested here without
any change; :data:`OPTIONS` only makes members faster to run.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from wsol import keys
from wsol.data.dataset import GROUND_TRUTH_KINDS
from wsol.data.sample import Sample
from wsol.errors import DataError
from wsol.metrics import METRICS
from wsol.metrics.base import MetricAccumulator

# Members that call the model (requires the pseudo-kind "faithfulness") need a FaithfulnessBatch
# context in update(); tests/test_faithfulness.py holds their streaming contract (exact shard merges).
ALL = [name for name in METRICS.list() if "faithfulness" not in METRICS.get(name).requires]
# What evaluation passes every member (``build_metrics``), at sizes that keep the tests fast.
CONTEXT = {"cam_curve_interval": 0.05, "resolution": 32, "iou_thresholds": [30, 50, 70]}
OPTIONS: dict[str, dict[str, Any]] = {"pxap": {"exact": True}}  # exercise the optional rows too
KEY = re.compile(r"[a-z][a-z0-9_]*(/[a-z][a-z0-9_]*)?")
Stream = tuple[list[Any], list[Sample], list[int]]


def build(name: str) -> MetricAccumulator:
    return METRICS.build({"name": name, **OPTIONS.get(name, {})}, key="eval", **CONTEXT)


def _box(rng: np.random.Generator, width: int, height: int) -> tuple[int, int, int, int]:
    x0, y0 = int(rng.integers(0, width // 2)), int(rng.integers(0, height // 2))
    return x0, y0, int(rng.integers(x0 + 3, width)), int(rng.integers(y0 + 3, height))


def target(rng: np.random.Generator, image_id: str, label: int) -> Sample:
    """A ground-truth-only record (as ``load_target`` gives) with every kind of ground truth."""
    width, height = int(rng.integers(12, 29)), int(rng.integers(12, 29))
    boxes = np.array([_box(rng, width, height) for _ in range(int(rng.integers(1, 3)))], np.float64)
    mask = np.zeros((height, width), np.uint8)
    for x0, y0, x1, y1 in boxes.astype(int):
        mask[y0 : y1 + 1, x0 : x1 + 1] = 1
    cue = np.zeros_like(mask)
    x0, y0, x1, y1 = boxes[0].astype(int)
    cue[y0 : (y0 + y1) // 2 + 1, x0 : (x0 + x1) // 2 + 1] = 1
    ignore = None
    if label % 2:
        ignore = np.zeros((height, width), bool)
        ignore[:2, :3] = True
    fixations = rng.integers(0, [width, height], (5, 2)).astype(np.float64)
    fixation_map = rng.random((height, width)) + 0.1 if label == 2 else None
    return Sample(
        image_id,
        None,
        label,
        size=(width, height),
        boxes=boxes,
        mask=mask,
        ignore=ignore,
        part_masks={"cue": cue},
        fixations=fixations,
        fixation_map=fixation_map,
    )


def stream(seed: int, n: int = 6) -> Stream:
    """``n`` raw maps (numpy float32 and float64, torch, one constant) with their targets and
    predicted classes (half of them right)."""
    rng = np.random.default_rng(seed)
    maps: list[Any] = []
    for i in range(n):
        raw = rng.random((int(rng.integers(6, 21)), int(rng.integers(6, 21))))
        maps.append([raw.astype(np.float32), np.zeros_like(raw), torch.from_numpy(raw), raw][i % 4])
    targets = [target(rng, f"s{seed}/img_{i}.png", i % 3) for i in range(n)]
    predictions = [t.label if i % 2 else (t.label + 1) % 3 for i, t in enumerate(targets)]
    return maps, targets, predictions


def fed(name: str, *parts: Stream) -> MetricAccumulator:
    """A fresh ``name`` accumulator updated with ``parts``, one ``update`` call each."""
    metric = build(name)
    for maps, targets, predictions in parts:
        metric.update(maps, targets, predictions)
    return metric


def split(data: Stream, at: int) -> tuple[Stream, Stream]:
    return tuple(x[:at] for x in data), tuple(x[at:] for x in data)  # type: ignore[return-value]


def assert_same(a: dict[str, Any], b: dict[str, Any], what: str) -> None:
    """Same keys and bit-identical values (NaN equal to NaN)."""
    assert a.keys() == b.keys(), f"{what}: keys differ: {sorted(set(a) ^ set(b))}"
    for key in a:
        assert np.array_equal(a[key], b[key], equal_nan=_is_float(a[key])), f"{what}: {key}"


def _is_float(value: Any) -> bool:
    return np.asarray(value).dtype.kind in "fc"


@pytest.mark.parametrize("name", ALL)
@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 2**16), n=st.integers(2, 8), choice=st.data())
def test_merged_shards_equal_one_pass_exactly(name: str, seed: int, n: int, choice: st.DataObject) -> None:
    at = choice.draw(st.integers(1, n - 1), label="split at")
    data = stream(seed, n)
    whole = fed(name, data)
    first, second = split(data, at)
    merged = fed(name, first)
    merged.merge_state(fed(name, second).state())
    assert_same(merged.state(), whole.state(), f"{name}: state")
    assert_same(merged.compute(), whole.compute(), f"{name}: compute")
    gathered = fed(name, stream(1))  # as evaluation merges ranks: reset, then every rank's state
    gathered.reset()
    for part in split(data, at):
        gathered.merge_state(fed(name, part).state())
    assert_same(gathered.compute(), whole.compute(), f"{name}: reset then merged")


@pytest.mark.parametrize("name", ALL)
def test_batching_does_not_change_the_state(name: str) -> None:
    data = stream(2)
    one_by_one = fed(name, *(tuple(x[i : i + 1] for x in data) for i in range(len(data[0]))))
    assert_same(one_by_one.state(), fed(name, data).state(), name)


@pytest.mark.parametrize("name", ALL)
def test_state_is_a_copy_made_of_plain_numpy_arrays(name: str) -> None:
    metric = fed(name, stream(3))
    state = metric.state()
    assert state and all(type(v) is np.ndarray and v.dtype.kind != "O" for v in state.values()), name
    assert all(k.split("/", 1)[0] in {"config", "sums", "rows"} for k in state), sorted(state)
    before = {k: v.copy() for k, v in state.items()}
    for value in state.values():
        value[...] = value.flat[0] if value.size else value
        if value.dtype.kind in "iuf" and value.size:
            value += 1
    assert_same(metric.state(), before, f"{name}: state() must return copies")


@pytest.mark.parametrize("name", ALL)
def test_an_image_is_counted_once(name: str) -> None:
    maps, targets, predictions = stream(4)
    metric = fed(name, (maps, targets, predictions))
    with pytest.raises(DataError, match=re.escape(targets[0].image_id)):
        metric.merge_state(metric.state())
    with pytest.raises(DataError, match=re.escape(targets[2].image_id)):
        metric.update(maps[2:3], targets[2:3], predictions[2:3])


@pytest.mark.parametrize("name", ALL)
def test_reset_returns_to_the_empty_state(name: str) -> None:
    data = stream(5)
    metric = fed(name, data)
    metric.reset()
    assert_same(metric.state(), build(name).state(), f"{name}: after reset")
    metric.update(*data)  # the same images again: reset forgot them
    assert_same(metric.compute(), fed(name, data).compute(), f"{name}: updated after reset")


@pytest.mark.parametrize("name", ALL)
def test_result_keys_are_snake_case_and_do_not_depend_on_the_data(name: str) -> None:
    results = [fed(name, stream(seed, n)).compute() for seed, n in ((6, 6), (7, 3), (8, 9))]
    for key, value in results[0].items():
        assert KEY.fullmatch(key), f"{name}: result key {key!r} is not lowercase snake case"
        number = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
        curve = isinstance(value, np.ndarray) and value.ndim == 1
        assert number or curve, f"{name}: {key} is {type(value).__name__}, not a number or a 1-D curve"
    for other in results[1:]:
        assert other.keys() == results[0].keys(), f"{name}: keys depend on the data"


def test_keys_shared_by_members_hold_the_same_number() -> None:
    """Evaluation merges every member's results into one dict; a shared key must not disagree."""
    data = stream(9)
    results = {name: fed(name, data).compute() for name in ALL}
    for a in ALL:
        for b in ALL:
            for key in results[a].keys() & results[b].keys() if a < b else ():
                assert np.array_equal(results[a][key], results[b][key]), f"{a} and {b} disagree on {key}"


def test_result_names_that_wsol_keys_declares_are_produced_by_the_members() -> None:
    """Consumers (summary, compare, W&B) read metric results by the names in :mod:`wsol.keys`."""
    results: dict[str, Any] = {}
    for name in ALL:
        results.update(fed(name, stream(11)).compute())
    from_evaluation = {keys.TOP1, keys.GT_KNOWN_LOC}  # made by the evaluation loop and protocol
    declared = {key for key, _ in keys.HEADLINE} - from_evaluation
    declared |= {keys.THRESHOLDS, keys.CURVE_PRECISION, keys.CURVE_RECALL, keys.CURVE_PIOU}
    declared |= {keys.PIOU_THRESHOLD, keys.PARTIAL_HIGHLIGHTING_INDEX}
    assert declared <= results.keys(), f"in wsol.keys, made by no metric: {sorted(declared - set(results))}"
    for pattern in (keys.CURVE_BOX_MULTI, keys.CURVE_BOX_SINGLE):
        assert any(re.fullmatch(pattern, key) for key in results), pattern


def _without(kind: str) -> Callable[[Sample], None]:
    def remove(sample: Sample) -> None:
        if kind == "boxes":
            sample.boxes = np.zeros((0, 4), np.float64)
        elif kind == "masks":
            sample.mask, sample.ignore = None, None
        elif kind == "parts":
            sample.part_masks = {}
        elif kind == "fixations":
            sample.fixations, sample.fixation_map = None, None
        else:
            raise AssertionError(f"no way to remove ground truth {kind!r}; add one to _without")

    return remove


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("kind", sorted(GROUND_TRUTH_KINDS))
def test_requires_names_exactly_the_ground_truth_read(name: str, kind: str) -> None:
    requires = METRICS.get(name).requires
    assert requires <= GROUND_TRUTH_KINDS, f"{name}: requires {set(requires)}"
    maps, targets, predictions = stream(10, 4)
    for sample in targets[1:]:
        _without(kind)(sample)
    if kind in requires:
        with pytest.raises(DataError, match=re.escape(targets[1].image_id)):
            fed(name, (maps, targets, predictions))
    else:  # ground truth it does not require must not change a number
        full = fed(name, stream(10, 4)).compute()
        assert_same(fed(name, (maps, targets, predictions)).compute(), full, f"{name} without {kind}")
