"""SynthParts: determinism, caching, ground-truth consistency and the dataset member."""

from __future__ import annotations

import colorsys
import os
from pathlib import Path

import numpy as np
import pytest

import wsol.data.synthparts.writer as writer_module
from wsol.data.datasets import DATASETS
from wsol.data.datasets.wsoleval import WSOLEvalDataset
from wsol.data.synthparts import SynthPartsConfig, ensure_generated, generate
from wsol.data.synthparts.classes import class_specs
from wsol.data.synthparts.draw import pixel_grid
from wsol.data.synthparts.objects import BODY, CUE, LIMBS, MAX_CUE_RATIO
from wsol.data.synthparts.scene import PAIR_SCALE, SINGLE_SCALE, render_scene
from wsol.errors import ConfigError, DataError

TINY = {"seed": 3, "num_train": 10, "num_val": 4, "num_test": 4, "image_size": 64, "two_object_prob": 0.3}


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ensure_generated(SynthPartsConfig(**TINY), tmp_path_factory.mktemp("synthparts"), workers=1)


def _files(folder: Path) -> dict[str, bytes]:
    return {
        os.fspath(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def _reader(folder: Path, split: str) -> WSOLEvalDataset:
    return WSOLEvalDataset(
        str(folder), split, image_root="images", metadata_root="metadata", mask_root="masks"
    )


def test_same_seed_gives_identical_files_whatever_the_worker_count(generated: Path, tmp_path: Path) -> None:
    generate(SynthPartsConfig(**TINY), tmp_path, workers=2)
    assert _files(tmp_path) == _files(generated)


def test_another_seed_gives_other_images(generated: Path, tmp_path: Path) -> None:
    generate(SynthPartsConfig(**{**TINY, "seed": 4}), tmp_path, workers=1)
    assert (tmp_path / "images/train/00000.png").read_bytes() != (
        generated / "images/train/00000.png"
    ).read_bytes()


def test_cache_hit_does_not_regenerate(generated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: object) -> None:
        raise AssertionError("regenerated a cached dataset")

    monkeypatch.setattr(writer_module, "generate", fail)
    assert ensure_generated(SynthPartsConfig(**TINY), generated.parent) == generated
    assert generated.name == SynthPartsConfig(**TINY).digest()


def test_dataset_member_generates_then_reads(tmp_path: Path) -> None:
    dataset = DATASETS.build({"name": "synthparts", "root": str(tmp_path), **TINY, "workers": 1}, split="val")
    assert [p.name for p in tmp_path.iterdir()] == [SynthPartsConfig(**TINY).digest()]  # no temp leftovers
    assert len(dataset) == 4 and dataset.num_classes == 10
    assert dataset.ground_truth == {"boxes", "masks", "parts", "fixations"}
    sample = dataset.load_sample(0)
    assert sample.image.shape == (64, 64, 3) and sample.fixations.shape[1] == 2
    assert dataset.image_ids[0] == "val/00000.png"


def test_failed_generation_leaves_nothing_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(writer_module, "render_scene", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        ensure_generated(SynthPartsConfig(**TINY), tmp_path, workers=1)
    assert list(tmp_path.iterdir()) == []


def test_incomplete_cache_folder_is_an_error(tmp_path: Path) -> None:
    (tmp_path / SynthPartsConfig(**TINY).digest()).mkdir()
    with pytest.raises(DataError, match="no COMPLETE marker; delete it"):
        ensure_generated(SynthPartsConfig(**TINY), tmp_path)


@pytest.mark.parametrize("split", ["train", "val", "test"])
def test_ground_truth_is_consistent(generated: Path, split: str) -> None:
    dataset = _reader(generated, split)
    for index in range(len(dataset)):
        sample = dataset.load_sample(index)
        mask, cue = sample.mask.astype(bool), sample.part_masks["cue"].astype(bool)
        in_boxes = np.zeros_like(mask)
        for x0, y0, x1, y1 in sample.boxes.astype(int):
            box = mask[y0 : y1 + 1, x0 : x1 + 1]
            assert box[0].any() and box[-1].any() and box[:, 0].any() and box[:, -1].any()  # tight
            assert SINGLE_SCALE[0] * 63 - 2 <= max(x1 - x0, y1 - y0) <= SINGLE_SCALE[1] * 63 + 1
            in_boxes[y0 : y1 + 1, x0 : x1 + 1] = True
        assert not (mask & ~in_boxes).any(), "object pixels outside every box"
        assert cue.any() and not (cue & ~mask).any(), "cue part outside the object"
        assert cue.sum() <= MAX_CUE_RATIO * mask.sum()  # holds per instance, so for the union
        assert not sample.ignore.any()
        fix = sample.fixations
        assert ((fix >= 0) & (fix <= 63)).all() and (fix == np.round(fix)).all()


def test_scene_invariants_per_instance() -> None:
    config = SynthPartsConfig(image_size=96, two_object_prob=0.5)
    specs, grid = class_specs(config.num_classes), pixel_grid(96)
    pairs = on_object = total = 0
    for index in range(40):
        scene = render_scene(config, specs, "test", index, grid)
        assert scene.image.shape == (96, 96, 3) and scene.image.dtype == np.uint8
        assert sum((p > 0).astype(int) for p in scene.instances).max() == 1, "instances overlap"
        for parts in scene.instances:
            assert {BODY, LIMBS, CUE} <= set(np.unique(parts).tolist())  # three or more parts
            cue, area = np.count_nonzero(parts == CUE), np.count_nonzero(parts)
            assert 0 < cue <= MAX_CUE_RATIO * area
        if len(scene.instances) == 2:
            pairs += 1
            for parts in scene.instances:
                ys, xs = np.nonzero(parts)
                assert max(np.ptp(xs), np.ptp(ys)) <= PAIR_SCALE[1] * 95 + 1
        union = np.logical_or.reduce([p > 0 for p in scene.instances])
        x, y, observer = scene.fixations.T
        assert set(observer.tolist()) == set(range(config.num_observers))
        on_object += np.count_nonzero(union[y, x])
        total += len(x)
    assert 10 <= pairs <= 30
    assert on_object / total > 0.6  # fixations concentrate on the objects (~10% of the image)


def test_rendering_does_not_depend_on_other_images() -> None:
    config, grid = SynthPartsConfig(image_size=64), pixel_grid(64)
    specs = class_specs(10)
    alone = render_scene(config, specs, "val", 7, grid)
    for index in range(7):
        render_scene(config, specs, "val", index, grid)
    again = render_scene(config, specs, "val", 7, grid)
    np.testing.assert_array_equal(alone.image, again.image)
    np.testing.assert_array_equal(alone.fixations, again.fixations)


@pytest.mark.parametrize("num_classes", [2, 7, 10])
def test_class_cues_are_unique_and_saturated(num_classes: int) -> None:
    specs = class_specs(num_classes)
    hues = sorted(colorsys.rgb_to_hsv(*s.cue_rgb)[0] for s in specs)
    assert min(np.diff([*hues, hues[0] + 1.0])) >= 1.0 / num_classes - 1e-9
    assert all(colorsys.rgb_to_hsv(*s.cue_rgb)[1] == 1.0 for s in specs)
    assert len({(s.texture, s.texture_period, s.legs) for s in specs}) == num_classes  # body cues differ too
    assert len({s.name for s in specs}) == num_classes


@pytest.mark.parametrize(
    "bad", [{"num_classes": 11}, {"num_classes": 1}, {"image_size": 32}, {"num_val": -1}]
)
def test_invalid_config_is_a_config_error(bad: dict[str, int]) -> None:
    key = next(iter(bad))
    with pytest.raises(ConfigError, match=f"synthparts: invalid {key}"):
        SynthPartsConfig(**bad)


def test_digest_depends_on_every_field() -> None:
    base = SynthPartsConfig()
    assert SynthPartsConfig().digest() == base.digest()
    changed = [
        {"seed": 1},
        {"num_train": 5},
        {"image_size": 96},
        {"num_classes": 5},
        {"two_object_prob": 0.2},
    ]
    assert len({SynthPartsConfig(**c).digest() for c in changed} | {base.digest()}) == len(changed) + 1
