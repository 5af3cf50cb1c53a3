"""Data validation before training, the box off-by-one policy, worker errors and saved score maps."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image
from torch.utils.data import DataLoader

from wsol.config import load_config
from wsol.data.boxes import TOLERANCE, box_problem, clip_box_ends
from wsol.data.collate import collate_samples
from wsol.data.datasets import create_dataset
from wsol.data.sample import Sample
from wsol.data.transforms import TRANSFORMS
from wsol.data.validate import validate_splits
from wsol.engine import train
from wsol.errors import DataError
from wsol.metrics.box_accuracy import BoxAccuracy
from wsol.metrics.scoremap import read_scoremap


def wsoleval_split(root: Path, split: str, rows: list[tuple[str, int, tuple[int, int], str]]) -> None:
    """One split: rows of ``(image id, label, (w, h) of the PNG written, localization line)``;
    image_sizes.txt says 8x6 for every image."""
    meta = root / "metadata" / split
    meta.mkdir(parents=True)
    (meta / "image_ids.txt").write_text("".join(f"{i}\n" for i, *_ in rows))
    (meta / "class_labels.txt").write_text("".join(f"{i},{label}\n" for i, label, *_ in rows))
    (meta / "image_sizes.txt").write_text("".join(f"{i},8,6\n" for i, *_ in rows))
    (meta / "localization.txt").write_text("".join(f"{i},{box}\n" for i, _, _, box in rows))
    for image_id, _, size, _ in rows:
        if size != (0, 0):
            Image.new("RGB", size).save(root / image_id)


def spec(root: Path) -> dict:
    return {"name": "wsoleval", "root": str(root), "num_classes": 2}


GOOD = ("good.png", 0, (8, 6), "1,1,4,4")


# --- box policy -----------------------------------------------------------------------------------------


@given(
    st.lists(st.tuples(*[st.floats(-3, 12, allow_nan=False)] * 4), max_size=6),
    st.integers(1, 10),
    st.integers(1, 10),
)
def test_clip_box_ends_moves_only_off_by_one_ends(raw, width, height):
    boxes = np.array(raw, dtype=np.float64).reshape(-1, 4)
    clipped, count = clip_box_ends(boxes, (width, height))
    limit = np.array([width - 1, height - 1])
    ends = boxes[:, 2:]
    off = (ends > limit + TOLERANCE) & (ends <= limit + 1 + TOLERANCE)
    assert count == int(off.any(axis=1).sum())
    assert np.array_equal(clipped[:, :2], boxes[:, :2])
    moved = clipped[:, 2:] != ends
    assert np.all(clipped[:, 2:][moved] == np.broadcast_to(limit, ends.shape)[moved])
    assert np.all((ends - clipped[:, 2:]) <= 1 + TOLERANCE) and np.all(clipped[:, 2:] <= ends)
    # every end left beyond the frame was more than one pixel past it
    assert np.all((clipped[:, 2:] <= limit) | (ends > limit + 1 + TOLERANCE))


@pytest.mark.parametrize(
    "box, problem",
    [
        ([0, 0, 7, 5], None),
        ([0, 0, 8, 5], "outside the 8x6 image"),
        ([-1, 0, 3, 3], "outside the 8x6 image"),
        ([4, 0, 3, 3], "x1 < x0"),
        ([0, np.nan, 3, 3], "not finite"),
    ],
)
def test_box_problem_names_the_convention(box, problem):
    found = box_problem(np.array([box], dtype=float), (8, 6))
    assert found == problem if problem is None else problem in found


def test_box_ending_at_the_image_width_is_clipped_and_counted(tmp_path, caplog):
    wsoleval_split(tmp_path, "test", [("a.png", 0, (8, 6), "0,0,8,6")])
    dataset = create_dataset(spec(tmp_path), "test")
    dataset.transform = TRANSFORMS.build("wsol_eval", image_size=16)  # training transforms carry no boxes
    with caplog.at_level(logging.WARNING, logger="wsol.data"):
        assert dataset.load_target(0).boxes.tolist() == [[0, 0, 7, 5]]
        item = dataset[0]  # the transform path: no albumentations error
    assert dataset.problems.counts["box end at the image size (clipped)"] == 2
    assert "a.png" in caplog.text and item["boxes"].shape == (1, 4)


@pytest.mark.parametrize("box", ["0,0,12,4", "9,1,11,4", "2,2,5,7"])
def test_box_outside_its_image_is_a_one_line_error_with_file_line_and_id(tmp_path, box):
    wsoleval_split(tmp_path, "test", [GOOD, ("b.png", 1, (8, 6), box)])
    dataset = create_dataset(spec(tmp_path), "test")
    dataset.transform = TRANSFORMS.build("wsol_train", image_size=16)
    with pytest.raises(DataError, match=r"localization\.txt:2: image 'b\.png': box .* outside the 8x6 image"):
        dataset[1]


def test_transform_reports_an_out_of_frame_box_with_the_image_id():
    sample = Sample("odd7", np.zeros((6, 8, 3), np.uint8), 0, boxes=np.array([[0.0, 0.0, 20.0, 3.0]]))
    with pytest.raises(DataError, match=r"^image 'odd7': ") as info:
        TRANSFORMS.build("wsol_train", image_size=16)(sample)
    assert "\n" not in str(info.value)


# --- validate_splits ------------------------------------------------------------------------------------


def bad_dataset(root: Path) -> None:
    wsoleval_split(root, "train", [GOOD, ("missing.png", 0, (0, 0), "1,1,2,2")])
    val = [GOOD, ("wide.png", 1, (8, 6), "1,1,30,4"), ("small.png", 0, (5, 5), "1,1,2,2")]
    wsoleval_split(root, "val", val)
    (root / "broken.png").write_bytes(b"not a png")
    wsoleval_split(root, "test", [GOOD])
    meta = root / "metadata" / "test"
    (meta / "image_ids.txt").write_text("good.png\nbroken.png\n")
    (meta / "class_labels.txt").write_text("good.png,0\nbroken.png,1\n")
    (meta / "image_sizes.txt").write_text("good.png,8,6\nbroken.png,8,6\n")
    (meta / "localization.txt").write_text("good.png,1,1,4,4\nbroken.png,1,1,4,4\n")


def test_validation_lists_every_problem_of_every_split_in_one_pass(tmp_path, caplog):
    bad_dataset(tmp_path)
    with caplog.at_level(logging.ERROR, logger="wsol.data"), pytest.raises(DataError) as info:
        validate_splits(spec(tmp_path), ["train", "val", "test", "nosuch"])
    message = str(info.value)
    assert "\n" not in message and message.startswith("data validation found 5 problem(s) (5 listed above)")
    logged = [r.getMessage() for r in caplog.records]
    expected = [
        ("'train'", "missing.png"),
        ("'val'", "localization.txt:2: image 'wide.png'"),
        ("'val'", "small.png is 5x5 but its annotation says 8x6"),
        ("'test'", "broken.png"),
        ("'nosuch'", "no wsoleval metadata for split 'nosuch'"),
    ]
    assert len(logged) == len(expected)
    for line, (split, text) in zip(logged, expected, strict=True):
        assert split in line and text in line, line


def test_validation_shows_a_limited_number_of_problems(tmp_path, caplog):
    rows = [(f"m{i}.png", 0, (0, 0), "1,1,2,2") for i in range(7)]
    wsoleval_split(tmp_path, "test", rows)
    with caplog.at_level(logging.ERROR, logger="wsol.data"), pytest.raises(DataError, match="found 7 prob"):
        validate_splits(spec(tmp_path), ["test"], limit=3)
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 4 and "m0.png" in lines[0] and lines[-1].endswith("... and 4 more problems")


def test_valid_splits_pass_and_report_their_sizes(tmp_path):
    wsoleval_split(tmp_path, "train", [GOOD, ("end.png", 1, (8, 6), "0,0,8,6")])
    wsoleval_split(tmp_path, "test", [GOOD])
    report = validate_splits(spec(tmp_path), ["train", "test", "train"])
    assert report.images == {"train": 2, "test": 1} and report.skipped == []


def test_skipping_datasets_count_unreadable_images_instead_of_failing(tmp_path):
    root = tmp_path / "fc"
    (root / "images").mkdir(parents=True)
    Image.new("RGB", (8, 6)).save(root / "images" / "a.png")
    (root / "images" / "b.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    (root / "annotations.csv").write_text("image,label\na.png,cat\nb.png,dog\n")
    report = validate_splits({"name": "folder_csv", "root": str(root), "skip_bad_samples": True}, ["all"])
    assert report.images == {"all": 2} and len(report.skipped) == 1 and "b.png" in report.skipped[0]
    with pytest.raises(DataError, match=r"found 1 problem.*b\.png"):
        validate_splits({"name": "folder_csv", "root": str(root)}, ["all"])


# --- worker errors and skipped batches ------------------------------------------------------------------


def corrupt_split(root: Path) -> object:
    wsoleval_split(root, "test", [GOOD, ("bad.png", 0, (8, 6), "1,1,4,4")])
    (root / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    dataset = create_dataset(spec(root), "test")
    dataset.transform = TRANSFORMS.build("wsol_eval", image_size=8)
    return dataset


@pytest.mark.parametrize("num_workers", [0, 2])
def test_worker_errors_reach_the_user_as_the_same_one_line_error(tmp_path, num_workers):
    dataset = corrupt_split(tmp_path)
    with pytest.raises(DataError) as main:
        dataset[1]
    loader = DataLoader(dataset, batch_size=1, num_workers=num_workers, collate_fn=collate_samples)
    with pytest.raises(DataError) as through_loader:
        list(loader)
    assert str(through_loader.value) == str(main.value)
    assert "\n" not in str(main.value) and "bad.png" in str(main.value)


def test_a_batch_of_only_skipped_samples_is_a_clear_error_in_workers_too(tmp_path):
    root = tmp_path / "fc"
    (root / "images").mkdir(parents=True)
    for name in ("a.png", "b.png"):
        Image.new("RGB", (8, 6)).save(root / "images" / name)
    (root / "annotations.csv").write_text("image,label\na.png,cat\nb.png,dog\n")
    dataset = create_dataset({"name": "folder_csv", "root": str(root), "skip_bad_samples": True}, "all")
    dataset.transform = TRANSFORMS.build("wsol_eval", image_size=8)
    for name in ("a.png", "b.png"):
        (root / "images" / name).write_bytes(b"broken")
    loader = DataLoader(dataset, batch_size=2, num_workers=1, collate_fn=collate_samples)
    with pytest.raises(DataError, match=r"^all 2 samples of a batch were skipped as unreadable") as info:
        next(iter(loader))
    assert "\n" not in str(info.value)


# --- saved score maps -----------------------------------------------------------------------------------


def npy(path: Path, array: np.ndarray) -> Path:
    np.save(path, array)
    return path


@pytest.mark.parametrize(
    "make, text",
    [
        (lambda p: npy(p, np.zeros((4, 4))).write_bytes(npy(p, np.zeros((4, 4))).read_bytes()[:100]), "EOF"),
        (lambda p: p.write_bytes(b""), "cannot read"),
        (lambda p: npy(p, np.array([{"a": 1}], dtype=object)), "cannot read"),
        (lambda p: npy(p, np.array(["x", "y"])), "real numbers"),
        (lambda p: npy(p, np.zeros((0, 4))), "non-empty 2-D"),
        (lambda p: npy(p, np.zeros((2, 4, 4))), "non-empty 2-D"),
        (lambda p: None, "not found"),
    ],
    ids=["truncated", "empty", "object", "strings", "no pixels", "3-D", "missing"],
)
def test_bad_saved_score_maps_are_one_line_errors_naming_the_file(tmp_path, make, text):
    path = tmp_path / "img_1.npy"
    make(path)
    with pytest.raises(DataError, match=text) as info:
        read_scoremap(path)
    assert "img_1.npy" in str(info.value) and "\n" not in str(info.value)


def test_good_saved_score_map_reads_back(tmp_path):
    array = np.random.default_rng(0).random((5, 7))
    assert np.array_equal(read_scoremap(npy(tmp_path / "m.npy", array)), array)


@pytest.mark.parametrize("value", [0.0, 0.5, 1.0])
def test_constant_prepared_maps_are_counted(value):
    metric = BoxAccuracy(resolution=8, input_maps="prepared")
    target = Sample("c1", None, 0, size=(8, 8), boxes=np.array([[1.0, 1.0, 4.0, 4.0]]))
    metric.update([np.full((8, 8), value)], [target])
    ramp = Sample("c2", None, 0, size=(8, 8), boxes=np.array([[1.0, 1.0, 4.0, 4.0]]))
    metric.update([np.linspace(0, 1, 64).reshape(8, 8)], [ramp])
    assert metric.compute()["n_constant_maps"] == 1


def test_validation_reads_mask_headers_and_names_the_image(tmp_path):
    wsoleval_split(tmp_path, "test", [GOOD, ("m.png", 1, (8, 6), "1,1,4,4"), ("n.png", 0, (8, 6), "1,1,4,4")])
    meta = tmp_path / "metadata" / "test"
    (meta / "masks.txt").write_text("good.png,good_mask.png,\nm.png,gone_mask.png,\nn.png,bad_mask.png,\n")
    Image.new("L", (8, 6)).save(tmp_path / "good_mask.png")
    (tmp_path / "bad_mask.png").write_bytes(b"\x00 not an image")
    missing = r"found 2 problem.*mask file not found: .*gone_mask\.png \(image 'm\.png'\)"
    with pytest.raises(DataError, match=missing):
        validate_splits(spec(tmp_path), ["test"])
    dataset = create_dataset(spec(tmp_path), "test")
    assert dataset.check_target(0).boxes.tolist() == dataset.load_target(0).boxes.tolist()
    with pytest.raises(DataError, match=r"cannot decode mask .*bad_mask\.png \(image 'n\.png'\)"):
        dataset.check_target(2)


def test_training_stops_on_a_bad_test_box_before_its_first_step(tmp_path):
    data = tmp_path / "data"
    wsoleval_split(data, "train", [GOOD])
    wsoleval_split(data, "val", [GOOD])
    wsoleval_split(data, "test", [GOOD, ("late.png", 1, (8, 6), "1,1,4,40")])
    cfg = load_config(
        None,
        [
            f"output_dir={tmp_path / 'runs'}",
            "name=late",
            f"data.dataset={{name: wsoleval, root: {data}}}",
            "data.num_workers=0",
            "model.backbone.name=convnet",
            "wandb.enabled=false",
        ],
    )
    with pytest.raises(DataError, match=r"split 'test': .*localization\.txt:2: image 'late\.png'"):
        train(cfg, progress=False)
    assert not (tmp_path / "runs" / "late").exists()  # nothing written, nothing trained
