"""The DATASETS contract (module docstring of :mod:`wsol.data.datasets`), on every registered member.

Each member reads a tiny tree written by its fixture in ``tests/dataset_fixtures.py``; a member
without one fails here with the name of the file to add it to.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from dataset_fixtures import FIXTURES, DatasetFixture

from wsol.data.dataset import GROUND_TRUTH_KINDS, WSOLDataset
from wsol.data.datasets import DATASETS, create_dataset
from wsol.data.datasets._base import IMAGE_EXTENSIONS
from wsol.data.sample import Sample
from wsol.data.transforms import TRANSFORMS
from wsol.errors import DataError, WSOLError

ALL = DATASETS.list()
FIXTURE_FILE = "tests/dataset_fixtures.py"
SAMPLE_FIELDS = ("image_id", "size", "label", "labels", "boxes", "mask", "ignore", "fixations")
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")  # pycocotools


def fixture_of(name: str) -> DatasetFixture:
    if name not in FIXTURES:
        pytest.fail(f"dataset {name!r} has no contract fixture: add it to FIXTURES in {FIXTURE_FILE}")
    return FIXTURES[name]


def written(name: str, root: Path) -> tuple[WSOLDataset, DatasetFixture]:
    """Write ``name``'s fixture tree under ``root`` and read it."""
    fixture = fixture_of(name)
    root.mkdir(parents=True)
    fixture.write(root)
    return create_dataset(fixture.spec(name, root), split=fixture.split), fixture


@pytest.fixture(scope="module")
def read(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], tuple[WSOLDataset, DatasetFixture]]:
    """``read(name)``: the member read from one tree, written on first use and shared by the
    tests that only read it."""
    base, cache = tmp_path_factory.mktemp("datasets"), {}

    def get(name: str) -> tuple[WSOLDataset, DatasetFixture]:
        if name not in cache:
            cache[name] = written(name, base / name)
        return cache[name]

    return get


def test_every_fixture_is_a_registered_member() -> None:
    assert set(FIXTURES) <= set(ALL), f"fixtures of unregistered datasets: {sorted(set(FIXTURES) - set(ALL))}"


@pytest.mark.parametrize("name", ALL)
def test_ids_classes_and_declared_ground_truth(name: str, read: Callable) -> None:
    dataset, fixture = read(name)
    assert len(dataset) == len(dataset.image_ids) > 0
    assert all(isinstance(i, str) and i for i in dataset.image_ids)
    assert len(set(dataset.image_ids)) == len(dataset), "image ids must be unique"
    names = dataset.class_names
    assert names and all(isinstance(n, str) for n in names) and len(set(names)) == len(names), names
    assert dataset.num_classes == len(names)
    assert set(dataset.ground_truth) <= GROUND_TRUTH_KINDS, dataset.ground_truth
    assert dataset.ground_truth == fixture.ground_truth, "the fixture holds every kind it declares"


def _box_check(sample: Sample, declared: bool) -> bool:
    width, height = sample.size
    boxes = sample.boxes
    assert boxes.dtype == np.float64 and boxes.ndim == 2 and boxes.shape[1] == 4, boxes.shape
    assert declared or len(boxes) == 0, f"{sample.image_id}: boxes, but 'boxes' not declared"
    assert np.all(boxes[:, :2] >= 0) and np.all(boxes[:, :2] <= boxes[:, 2:]), boxes
    assert np.all(boxes[:, 2] <= width - 1) and np.all(boxes[:, 3] <= height - 1), (boxes, sample.size)
    return len(boxes) > 0


def _binary(array: np.ndarray, dtype: type, shape: tuple[int, int], what: str) -> None:
    assert array.dtype == dtype and array.shape == shape, f"{what}: {array.dtype} {array.shape}, want {shape}"
    assert set(np.unique(array).tolist()) <= {0, 1}, f"{what} is not binary"


def _mask_check(sample: Sample, declared: bool, shape: tuple[int, int]) -> bool:
    if not declared:
        assert sample.mask is None and sample.ignore is None, f"{sample.image_id}: mask, 'masks' not declared"
        return False
    if sample.ignore is not None:
        _binary(sample.ignore, bool, shape, f"{sample.image_id}: ignore")
    if sample.mask is None:
        return False
    _binary(sample.mask, np.uint8, shape, f"{sample.image_id}: mask")
    return bool(sample.mask.any())


def _parts_check(sample: Sample, declared: bool, shape: tuple[int, int]) -> bool:
    assert declared or not sample.part_masks, f"{sample.image_id}: part masks, but 'parts' not declared"
    for part, array in sample.part_masks.items():
        _binary(array, np.uint8, shape, f"{sample.image_id}: part {part!r}")
    return bool(sample.part_masks)


def _fixations_check(sample: Sample, declared: bool, shape: tuple[int, int]) -> bool:
    if not declared:
        assert sample.fixations is None and sample.fixation_map is None, f"{sample.image_id}: fixations"
        return False
    if sample.fixation_map is not None:
        assert sample.fixation_map.dtype == np.float64 and sample.fixation_map.shape == shape
    points = sample.fixations
    if points is None:
        return False
    assert points.dtype == np.float64 and points.ndim == 2 and points.shape[1] == 2, points.shape
    assert np.all(points >= 0) and np.all(points <= np.array(sample.size) - 1), (points, sample.size)
    return len(points) > 0


def check_sample(sample: Sample, dataset: WSOLDataset, index: int) -> set[str]:
    """Assert the Sample conventions; return the kinds of ground truth the sample holds."""
    assert isinstance(sample, Sample) and sample.image_id == dataset.image_ids[index]
    width, height = sample.size
    assert width > 0 and height > 0, sample.size
    assert 0 <= sample.label < dataset.num_classes and sample.labels[0] == sample.label
    assert all(0 <= k < dataset.num_classes for k in sample.labels), sample.labels
    declared, shape = dataset.ground_truth, (height, width)
    holds = {
        "boxes": _box_check(sample, "boxes" in declared),
        "masks": _mask_check(sample, "masks" in declared, shape),
        "parts": _parts_check(sample, "parts" in declared, shape),
        "fixations": _fixations_check(sample, "fixations" in declared, shape),
    }
    return {kind for kind, present in holds.items() if present}


@pytest.mark.parametrize("name", ALL)
def test_samples_keep_the_sample_conventions(name: str, read: Callable) -> None:
    dataset, _ = read(name)
    held: set[str] = set()
    for index in range(len(dataset)):
        sample = dataset.load_sample(index)
        assert sample.image.dtype == np.uint8 and sample.image.shape == (*sample.size[::-1], 3)
        held |= check_sample(sample, dataset, index)
    assert held == set(dataset.ground_truth), f"declared {set(dataset.ground_truth)}, samples hold {held}"


@pytest.mark.parametrize("name", ALL)
def test_load_target_is_the_sample_without_pixels(name: str, read: Callable) -> None:
    dataset, _ = read(name)
    for index in range(len(dataset)):
        sample, target = dataset.load_sample(index), dataset.load_target(index)
        assert target.image is None
        check_sample(target, dataset, index)
        for field in (*SAMPLE_FIELDS, "fixation_map"):
            assert _same(getattr(target, field), getattr(sample, field)), f"{sample.image_id}: {field}"
        assert target.part_masks.keys() == sample.part_masks.keys()
        assert all(_same(target.part_masks[k], sample.part_masks[k]) for k in sample.part_masks)


def _same(a: object, b: object) -> bool:
    return a is b if a is None or b is None else np.array_equal(np.asarray(a), np.asarray(b))


@pytest.mark.parametrize("name", ALL)
def test_items_are_transformed_samples_with_their_index(name: str, read: Callable) -> None:
    dataset, _ = read(name)
    dataset.transform = TRANSFORMS.build("wsol_eval", image_size=16)
    last = len(dataset) - 1
    try:
        item = dataset[last]
    finally:
        dataset.transform = None
    assert item["index"] == last and item["image_id"] == dataset.image_ids[last]
    assert item["image"].shape == (3, 16, 16) and item["label"] == dataset.load_target(last).label


def _one_line(error: pytest.ExceptionInfo) -> str:
    message = str(error.value)
    assert "\n" not in message, message
    return message


@pytest.mark.parametrize("name", ALL)
def test_missing_root_is_an_error_naming_it(name: str, tmp_path: Path) -> None:
    fixture = fixture_of(name)
    missing = tmp_path / "no_such_root"
    if fixture.generates:  # the member makes its data: a missing root is where it goes
        assert len(create_dataset(fixture.spec(name, missing), split=fixture.split)) > 0
        return
    with pytest.raises(DataError) as info:
        create_dataset(fixture.spec(name, missing), split=fixture.split)
    assert str(missing) in _one_line(info)


@pytest.mark.parametrize("name", ALL)
def test_unknown_split_is_a_one_line_error(name: str, tmp_path: Path) -> None:
    fixture = fixture_of(name)
    root = tmp_path / name
    root.mkdir()
    fixture.write(root)
    with pytest.raises(WSOLError) as info:
        create_dataset(fixture.spec(name, root), split="no_such_split")
    assert "no_such_split" in _one_line(info)


@pytest.mark.parametrize("name", ALL)
def test_unreadable_image_names_the_file_or_the_image(name: str, tmp_path: Path) -> None:
    dataset, _ = written(name, tmp_path / name)
    broken = [p for p in sorted(tmp_path.rglob("*")) if p.suffix.lower() in IMAGE_EXTENSIONS]
    assert broken, "the fixture wrote no image file"
    for path in broken:
        path.write_bytes(b"not an image")
    with pytest.raises(DataError) as info:
        dataset.load_sample(0)
    message = _one_line(info)
    image_id = re.compile(rf"(?<![\w.-]){re.escape(dataset.image_ids[0])}(?![\w-])")
    assert image_id.search(message) or any(str(p) in message for p in broken), message


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("damage", ["corrupt", "missing"])
def test_unreadable_annotations_name_the_file(name: str, damage: str, tmp_path: Path) -> None:
    fixture = fixture_of(name)
    root = tmp_path / name
    written(name, root)
    broken = sorted(root.glob(fixture.annotations))
    assert broken, f"no file matches the fixture's annotations {fixture.annotations!r}"
    for path in broken:
        if damage == "corrupt":
            path.write_bytes(b"not, an annotation\n")
        else:
            path.unlink()
    with pytest.raises(DataError) as info:
        dataset = create_dataset(fixture.spec(name, root), split=fixture.split)
        for index in range(len(dataset)):
            dataset.load_sample(index)
    message = _one_line(info)
    assert any(str(p) in message for p in broken), message
