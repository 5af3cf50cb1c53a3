"""SynthParts context option (generator, ground truth, files) and the context_share diagnostic."""

import numpy as np
import pytest

from wsol.data.datasets.wsoleval import WSOLEvalDataset
from wsol.data.sample import Sample
from wsol.data.synthparts import SynthPartsConfig, draw, generate
from wsol.data.synthparts.classes import class_specs
from wsol.data.synthparts.context import BAND_HEIGHT
from wsol.data.synthparts.scene import render_scene
from wsol.errors import ConfigError, DataError
from wsol.metrics import METRICS
from wsol.metrics.context_share import context_share

SIZE = 64
TINY = {"num_train": 4, "num_val": 0, "num_test": 2, "image_size": SIZE, "num_classes": 4}


def scene(config: SynthPartsConfig, split: str = "train", index: int = 0):
    return render_scene(config, class_specs(config.num_classes), split, index, draw.pixel_grid(SIZE))


def test_off_by_default_keeps_the_dataset_identity():
    default = SynthPartsConfig()
    assert not default.has_context and "context_share" not in default.identity()
    # The main job's dataset folder (its cache name) is unchanged by the option's existence.
    assert default.digest() == "9a3f59918d9f5bc5"
    assert SynthPartsConfig(context_share=0.9).digest() != default.digest()
    with pytest.raises(ConfigError, match=r"synthparts: invalid context_share=1\.5"):
        SynthPartsConfig(context_share=1.5)


@pytest.mark.parametrize("index", [0, 1, 2])
def test_band_is_deterministic_and_changes_nothing_but_the_band(index):
    on, off = SynthPartsConfig(**TINY, context_share=1.0), SynthPartsConfig(**TINY)
    a, b, plain = scene(on, index=index), scene(on, index=index), scene(off, index=index)
    np.testing.assert_array_equal(a.image, b.image)
    np.testing.assert_array_equal(a.context, b.context)
    assert a.label == plain.label
    for x, y in zip(a.instances, plain.instances, strict=True):
        np.testing.assert_array_equal(x, y)
    rows = np.flatnonzero((a.context | np.logical_or.reduce([p > 0 for p in a.instances])).any(axis=1))
    band = np.zeros((SIZE, SIZE), bool)
    band[rows.min() : rows.max() + 1] = True
    changed = (a.image != plain.image).any(axis=2)
    assert changed.any() and not (changed & ~band).any()  # only pixels inside the band change
    assert not plain.context.any()


def test_context_mask_is_a_band_of_rows_minus_the_objects():
    config = SynthPartsConfig(**TINY, context_share=1.0)
    for index in range(4):
        s = scene(config, index=index)
        objects = np.logical_or.reduce([p > 0 for p in s.instances])
        assert s.context.any() and not (s.context & objects).any()
        rows = np.flatnonzero(s.context.any(axis=1))
        height = rows.max() - rows.min() + 1
        assert BAND_HEIGHT[0] * SIZE - 1 <= height <= BAND_HEIGHT[1] * SIZE + 1
        assert (s.context | objects)[rows.min() : rows.max() + 1].all()  # full-width rows under the objects


def test_share_picks_training_images_only():
    config = SynthPartsConfig(**{**TINY, "num_train": 40}, context_share=0.5)
    picked = [scene(config, index=i).context.any() for i in range(40)]
    assert 10 <= sum(picked) <= 30  # a binomial(40, 0.5) draw
    assert not any(scene(config, split="test", index=i).context.any() for i in range(3))
    at_test = SynthPartsConfig(**TINY, context_eval_share=1.0)
    assert scene(at_test, split="test").context.any() and not scene(at_test).context.any()


def test_context_part_mask_is_written_and_read_back(tmp_path):
    config = SynthPartsConfig(**TINY, context_share=1.0)
    generate(config, tmp_path)
    data = WSOLEvalDataset(str(tmp_path), "train", "images", "metadata", "masks")
    sample = data.load_sample(1)
    np.testing.assert_array_equal(sample.part_masks["context"] > 0, scene(config, index=1).context)
    assert set(data.load_sample(0).part_masks) == {"cue", "context"}
    assert not data_parts(tmp_path / "plain", SynthPartsConfig(**TINY)) & {"context"}


def data_parts(folder, config):
    folder.mkdir()
    generate(config, folder)
    return set(WSOLEvalDataset(str(folder), "train", "images", "metadata", "masks").load_sample(0).part_masks)


# ---------------------------------------------------------------- the diagnostic


def target(image_id: str, context: np.ndarray | None) -> Sample:
    parts = {"cue": np.zeros((4, 4), np.uint8)}
    if context is not None:
        parts["context"] = context.astype(np.uint8)
    return Sample(image_id, None, 0, size=(4, 4), part_masks=parts)


def bottom_row() -> np.ndarray:
    context = np.zeros((4, 4), bool)
    context[3] = True  # 4 of 16 pixels
    return context


def test_context_share_on_hand_made_maps():
    context = bottom_row()
    assert context_share(context * 2.0, context) == (1.0, 0.25)
    assert context_share(np.ones((4, 4)), context) == (0.25, 0.25)
    half = context * 1.0
    half[0, 0] = 1.0  # 4 units on the context, 1 off it
    assert context_share(half, context) == pytest.approx((0.8, 0.25))
    assert np.isnan(context_share(np.zeros((4, 4)), context).context_share)


def test_metric_leaves_images_without_context_out_and_reports_the_index():
    metric = METRICS.build("context_share")
    context = bottom_row()
    maps = [context * 1.0, np.ones((4, 4)), np.ones((4, 4)), np.zeros((4, 4))]
    targets = [target("a", context), target("b", context), target("c", None), target("d", context)]
    metric.update(maps, targets)
    out = metric.compute()
    assert out["context/num_context_images"] == 3 and out["context/num_context_empty_maps"] == 1
    assert out["context/context_share"] == pytest.approx((1.0 + 0.25) / 2)
    assert out["context/context_index"] == pytest.approx(0.625 / 0.25)
    assert list(metric.per_image()["image_id"]) == ["a", "b", "d"]


def test_metric_without_context_regions_reports_nan_and_no_rows():
    metric = METRICS.build("context_share")
    metric.update([np.ones((4, 4))], [target("a", None)])
    out = metric.compute()
    assert np.isnan(out["context/context_share"]) and out["context/num_context_images"] == 0
    assert len(metric.per_image()["image_id"]) == 0
    with pytest.raises(DataError, match="b: no part masks"):
        metric.update([np.ones((4, 4))], [Sample("b", None, 0, size=(4, 4))])
