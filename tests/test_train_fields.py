"""Training loaders load only what training uses; the training batches stay the same."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch.utils.data import DataLoader

from wsol.data.collate import collate_samples
from wsol.data.dataset import GROUND_TRUTH_KINDS, keep_fields
from wsol.data.datasets.wsoleval import WSOLEvalDataset
from wsol.data.synthparts import SynthPartsConfig, ensure_generated
from wsol.data.transforms import TRANSFORMS
from wsol.errors import ConfigError

TINY = {"seed": 5, "num_train": 12, "num_val": 2, "num_test": 2, "image_size": 64, "two_object_prob": 0.5}
TRAIN = [name for name in TRANSFORMS.list() if TRANSFORMS.build(name, image_size=32).fields is not None]
EVAL_KEYS = ("mask", "ignore", "part_masks", "fixations")


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ensure_generated(SynthPartsConfig(**TINY), tmp_path_factory.mktemp("synthparts"), workers=1)


def _dataset(folder: Path, transform_name: str, fields: str) -> WSOLEvalDataset:
    roots = {"image_root": "images", "metadata_root": "metadata", "mask_root": "masks"}
    dataset = WSOLEvalDataset(str(folder), "train", **roots)
    dataset.transform = TRANSFORMS.build(transform_name, image_size=32)
    if fields == "all":
        dataset.transform.fields = None
    return dataset


def _batches(dataset: WSOLEvalDataset) -> list[dict]:
    torch.manual_seed(0)
    loader = DataLoader(dataset, batch_size=4, shuffle=True, collate_fn=collate_samples)
    return list(loader)


def test_the_training_transforms_ask_for_no_ground_truth():
    assert set(TRAIN) >= {"wsol_train", "strong_train"}
    assert TRANSFORMS.build("wsol_eval", image_size=32).fields is None


@pytest.mark.parametrize("name", TRAIN)
def test_train_batches_are_identical_with_and_without_the_evaluation_ground_truth(folder, name):
    lean, full = (_batches(_dataset(folder, name, fields)) for fields in ("train", "all"))
    assert len(lean) == len(full) == 3
    assert any(key in batch for batch in full for key in EVAL_KEYS)  # the comparison has something to drop
    for a, b in zip(lean, full, strict=True):
        assert torch.equal(a["image"], b["image"]) and torch.equal(a["label"], b["label"])
        assert torch.equal(a["index"], b["index"])
        assert not any(key in a for key in EVAL_KEYS)
        assert all(len(boxes) == 0 for boxes in a["boxes"])


def test_training_reads_no_mask_file(folder, monkeypatch):
    dataset = _dataset(folder, "wsol_train", "train")

    def no_masks(*args: object) -> None:
        raise AssertionError("a mask was read while training")

    monkeypatch.setattr(dataset, "_mask", no_masks)
    assert dataset[0]["image"].shape == (3, 32, 32)
    with pytest.raises(AssertionError, match="mask was read"):  # evaluation ground truth still reads them
        dataset.load_target(0)


def test_evaluation_still_gets_all_ground_truth(folder):
    dataset = _dataset(folder, "wsol_eval", "all")
    assert dataset.transform.fields is None
    sample = dataset.load_sample(0)
    assert sample.mask is not None and sample.part_masks and sample.fixations is not None
    item = dataset[0]
    assert "mask" in item and "part_masks" in item and "fixations" in item


def test_unknown_fields_are_a_config_error(folder):
    sample = _dataset(folder, "wsol_eval", "all").load_sample(0)
    with pytest.raises(ConfigError, match="unknown ground-truth fields"):
        keep_fields(sample, frozenset({"boxes", "depth"}))
    kept = keep_fields(sample, GROUND_TRUTH_KINDS - {"masks"})
    assert kept.mask is None and kept.part_masks and kept.fixations is not None
