"""The wsolevaluation metadata layout: writer/reader round trip, masks, and bad input."""

from __future__ import annotations

import tempfile
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wsol.data.datasets import DATASETS
from wsol.data.datasets.wsoleval import WSOLEvalDataset
from wsol.data.wsoleval_layout import (
    ImageRecord,
    read_class_names,
    read_split_metadata,
    write_class_names,
    write_split_metadata,
)
from wsol.errors import ConfigError, DataError


def _image(path: Path, width: int, height: int, value: int = 100) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.full((height, width, 3), value, np.uint8))


def _mask(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), array.astype(np.uint8) * 255)


def _box_dataset(root: Path) -> None:
    """A CUB/ILSVRC-style split: two images, one with two boxes."""
    _image(root / "a/1.png", 40, 30)
    _image(root / "b/2.png", 20, 50)
    records = [
        ImageRecord("a/1.png", 3, (40, 30), boxes=[(1, 2, 10, 20), (5, 5, 39, 29)]),
        ImageRecord("b/2.png", 0, (20, 50), boxes=[(0, 0, 19, 49)]),
    ]
    write_split_metadata(root / "metadata" / "test", records)


def _mask_dataset(root: Path, sizes: bool = False) -> None:
    """An OpenImages-style split: two instance masks and an ignore mask, no image_sizes."""
    _image(root / "val/x.jpg", 8, 6)
    inst0, inst1, ignore = (np.zeros((6, 8), bool) for _ in range(3))
    inst0[1:3, 1:3] = True
    inst1[4:6, 5:8] = True
    ignore[0:4, 0:5] = True
    for name, array in (("x_m0.png", inst0), ("x_m1.png", inst1), ("x_ignore.png", ignore)):
        _mask(root / "val" / name, array)
    record = ImageRecord("val/x.jpg", 1, (8, 6) if sizes else None)
    record.mask_paths, record.ignore_path = ["val/x_m0.png", "val/x_m1.png"], "val/x_ignore.png"
    write_split_metadata(root / "metadata" / "val", [record])


def test_standard_files_match_the_wsolevaluation_format(tmp_path: Path) -> None:
    _box_dataset(tmp_path)
    _mask_dataset(tmp_path)
    folder = tmp_path / "metadata"
    assert (folder / "test/image_ids.txt").read_text() == "a/1.png\nb/2.png\n"
    assert (folder / "test/class_labels.txt").read_text() == "a/1.png,3\nb/2.png,0\n"
    assert (folder / "test/image_sizes.txt").read_text() == "a/1.png,40,30\nb/2.png,20,50\n"
    assert (folder / "test/localization.txt").read_text().splitlines() == [
        "a/1.png,1,2,10,20",
        "a/1.png,5,5,39,29",
        "b/2.png,0,0,19,49",
    ]
    assert (folder / "val/localization.txt").read_text().splitlines() == [
        "val/x.jpg,val/x_m0.png,val/x_ignore.png",
        "val/x.jpg,val/x_m1.png,",
    ]
    assert not (folder / "val/image_sizes.txt").exists()


def test_boxes_are_read_per_image(tmp_path: Path) -> None:
    _box_dataset(tmp_path)
    dataset = WSOLEvalDataset(str(tmp_path), "test", num_classes=5)
    assert dataset.ground_truth == {"boxes"}
    assert dataset.image_ids == ["a/1.png", "b/2.png"]
    assert dataset.class_names == ["0", "1", "2", "3", "4"]
    sample = dataset.load_sample(0)
    assert sample.image.shape == (30, 40, 3) and sample.label == 3 and sample.size == (40, 30)
    np.testing.assert_array_equal(sample.boxes, [[1, 2, 10, 20], [5, 5, 39, 29]])
    target = dataset.load_target(1)
    assert target.image is None and target.size == (20, 50) and target.boxes.shape == (1, 4)


def test_masks_union_and_ignore_follow_wsolevaluation(tmp_path: Path) -> None:
    _mask_dataset(tmp_path)
    dataset = DATASETS.build({"name": "wsoleval", "root": str(tmp_path)}, split="val")
    assert dataset.ground_truth == {"masks"}
    assert dataset.class_names == ["0", "1"]  # inferred: largest label + 1
    target = dataset.load_target(0)  # size from the image header (no image_sizes.txt)
    assert target.size == (8, 6) and target.image is None
    expected = np.zeros((6, 8), np.uint8)
    expected[1:3, 1:3] = 1
    expected[4:6, 5:8] = 1
    np.testing.assert_array_equal(target.mask, expected)
    ignore = np.zeros((6, 8), bool)
    ignore[0:4, 0:5] = True
    np.testing.assert_array_equal(target.ignore, ignore & (expected == 0))


def test_masks_of_another_size_are_resized_nearest(tmp_path: Path) -> None:
    _image(tmp_path / "i.png", 8, 8)
    big = np.zeros((16, 16), bool)
    big[0:8, 0:8] = True
    _mask(tmp_path / "m.png", big)
    record = ImageRecord("i.png", 0, (8, 8), mask_paths=["m.png"])
    write_split_metadata(tmp_path / "metadata" / "test", [record])
    mask = WSOLEvalDataset(str(tmp_path), "test", mask_resize="image").load_target(0).mask
    assert mask.shape == (8, 8) and mask[:4, :4].all() and mask.sum() == 16
    direct = WSOLEvalDataset(str(tmp_path), "test")  # default: as wsolevaluation, straight to the grid
    np.testing.assert_array_equal(direct.load_target(0).mask, big)
    assert direct.load_sample(0).mask.shape == (8, 8)  # training samples stay aligned with the image
    with pytest.raises(ConfigError, match="mask_resize"):
        WSOLEvalDataset(str(tmp_path), "test", mask_resize="nearest")


def test_masks_without_images_or_sizes(tmp_path: Path) -> None:
    """OpenImages as published: empty image_sizes.txt, ids with extensions, masks only (no images)."""
    mask, ignore = np.zeros((10, 12), bool), np.zeros((10, 12), bool)
    mask[2:6, 3:7], ignore[1:8, 2:9] = True, True
    _mask(tmp_path / "test" / "c" / "a_m0.png", mask)
    _mask(tmp_path / "test" / "c" / "a_ignore.png", ignore)
    paths = {"mask_paths": ["test/c/a_m0.png"], "ignore_path": "test/c/a_ignore.png"}
    record = ImageRecord("test/c/a.jpg", 0, None, **paths)
    write_split_metadata(tmp_path / "metadata" / "test", [record])
    (tmp_path / "metadata" / "test" / "image_sizes.txt").write_text("")
    target = WSOLEvalDataset(str(tmp_path), "test").load_target(0)
    assert target.size == (12, 10) and target.image_id == "test/c/a.jpg"
    np.testing.assert_array_equal(target.mask, mask)
    np.testing.assert_array_equal(target.ignore, ignore & ~mask)


def test_extra_files_and_class_names_round_trip(tmp_path: Path) -> None:
    _image(tmp_path / "img/p.png", 10, 10)
    part = np.zeros((10, 10), bool)
    part[2:4, 2:4] = True
    _mask(tmp_path / "masks/p_cue.png", part)
    _mask(tmp_path / "masks/p_obj.png", np.ones((10, 10), bool))
    record = ImageRecord(
        "p.png",
        1,
        (10, 10),
        boxes=[(0, 0, 9, 9)],
        mask_paths=["p_obj.png"],
        part_paths={"cue": "p_cue.png"},
        fixations=[(3, 4, 0), (9, 0, 2)],
    )
    write_split_metadata(tmp_path / "meta" / "train", [record])
    write_class_names(tmp_path / "meta", ["cat", "dog"])
    assert read_class_names(tmp_path / "meta") == ["cat", "dog"]
    assert read_split_metadata(tmp_path / "meta" / "train").records == [record]
    assert (tmp_path / "meta/train/masks.txt").read_text() == "p.png,p_obj.png,\n"
    dataset = WSOLEvalDataset(
        str(tmp_path), "train", image_root="img", metadata_root="meta", mask_root="masks"
    )
    assert dataset.ground_truth == {"boxes", "masks", "parts", "fixations"}
    assert dataset.class_names == ["cat", "dog"]
    sample = dataset.load_sample(0)
    np.testing.assert_array_equal(sample.part_masks["cue"], part.astype(np.uint8))
    np.testing.assert_array_equal(sample.fixations, [[3.0, 4.0], [9.0, 0.0]])
    assert sample.ignore is None and sample.mask.all()


coordinate = st.integers(0, 500)


@st.composite
def records(draw: st.DrawFn) -> list[ImageRecord]:
    out = []
    for i in range(draw(st.integers(1, 4))):
        boxes = [
            (min(a, b), min(c, d), max(a, b), max(c, d))
            for a, b, c, d in draw(
                st.lists(st.tuples(coordinate, coordinate, coordinate, coordinate), min_size=1, max_size=3)
            )
        ]
        fixations = draw(st.lists(st.tuples(coordinate, coordinate, st.integers(0, 9)), max_size=4))
        size = (draw(st.integers(1, 999)), draw(st.integers(1, 999)))
        out.append(
            ImageRecord(f"d/{i}.jpg", draw(st.integers(0, 20)), size, boxes=boxes, fixations=fixations)
        )
    return out


@settings(max_examples=30, deadline=None)
@given(records())
def test_write_then_read_is_identity(written: list[ImageRecord]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        write_split_metadata(folder, written)
        assert read_split_metadata(folder).records == written


# -- bad input ----------------------------------------------------------------------------


def test_missing_metadata_folder_names_it(tmp_path: Path) -> None:
    _box_dataset(tmp_path)
    with pytest.raises(DataError, match=r"split 'val'.*metadata[/\\]val not found.*'test'"):
        WSOLEvalDataset(str(tmp_path), "val")


def test_missing_mask_file_names_file_and_image(tmp_path: Path) -> None:
    _mask_dataset(tmp_path)
    (tmp_path / "val/x_m1.png").unlink()
    dataset = WSOLEvalDataset(str(tmp_path), "val")
    with pytest.raises(DataError, match=r"x_m1\.png.*image 'val/x\.jpg'"):
        dataset.load_target(0)


def test_missing_image_is_named(tmp_path: Path) -> None:
    _box_dataset(tmp_path)
    (tmp_path / "b/2.png").unlink()
    with pytest.raises(DataError, match=r"b[/\\]2\.png"):
        WSOLEvalDataset(str(tmp_path), "test").load_sample(1)


def test_corrupt_image_is_named(tmp_path: Path) -> None:
    _mask_dataset(tmp_path)
    (tmp_path / "val/x.jpg").write_bytes(b"\xff\xd8 definitely not a jpeg")
    dataset = WSOLEvalDataset(str(tmp_path), "val")
    with pytest.raises(DataError, match=r"val[/\\]x\.jpg"):
        dataset.load_sample(0)
    with pytest.raises(DataError, match=r"val[/\\]x\.jpg"):
        dataset.load_target(0)  # the size comes from the header, which is unreadable too


def test_corrupt_mask_is_named(tmp_path: Path) -> None:
    _mask_dataset(tmp_path)
    (tmp_path / "val/x_ignore.png").write_bytes(b"garbage")
    with pytest.raises(DataError, match=r"x_ignore\.png.*image 'val/x\.jpg'"):
        WSOLEvalDataset(str(tmp_path), "val").load_target(0)


@pytest.mark.parametrize(
    ("file", "content", "message"),
    [
        ("localization.txt", "a/1.png,1,2,10\nb/2.png,0,0,19,49\n", r"localization\.txt:1: expected"),
        (
            "localization.txt",
            "a/1.png,1,2,10,20\nb/2.png,0,zero,19,49\n",
            r"localization\.txt:2: 'zero' is not a number",
        ),
        (
            "localization.txt",
            "a/1.png,10,2,1,20\nb/2.png,0,0,19,49\n",
            r"localization\.txt:1: box .* not 0 <= x0 <= x1",
        ),
        (
            "localization.txt",
            "a/1.png,1,2,10,20\nc/3.png,0,0,1,1\n",
            r"localization\.txt:2: image 'c/3\.png' is not listed",
        ),
        ("localization.txt", "a/1.png,1,2,10,20\n", r"localization\.txt: image 'b/2\.png' has no boxes"),
        ("class_labels.txt", "a/1.png,3\nb/2.png,nan\n", r"class_labels\.txt:2: 'nan' is not a number"),
        ("class_labels.txt", "a/1.png,3\n", r"class_labels\.txt: image 'b/2\.png' has no class label"),
        ("image_sizes.txt", "a/1.png,40,30\nb/2.png,20,-5\n", r"image_sizes\.txt:2: image size 20x-5"),
        ("image_ids.txt", "a/1.png\na/1.png\n", r"image_ids\.txt:2: image 'a/1\.png' is listed twice"),
        ("fixations.txt", "a/1.png,1,2\n", r"fixations\.txt:1: expected '<path>,<x>,<y>,<observer>'"),
    ],
)
def test_malformed_line_names_file_and_line(tmp_path: Path, file: str, content: str, message: str) -> None:
    _box_dataset(tmp_path)
    (tmp_path / "metadata/test" / file).write_text(content)
    with pytest.raises(DataError, match=message):
        WSOLEvalDataset(str(tmp_path), "test")


def test_ignore_on_a_later_mask_line_is_rejected(tmp_path: Path) -> None:
    _mask_dataset(tmp_path)
    (tmp_path / "metadata/val/localization.txt").write_text(
        "val/x.jpg,val/x_m0.png,val/x_ignore.png\nval/x.jpg,val/x_m1.png,val/x_ignore.png\n"
    )
    with pytest.raises(DataError, match=r"localization\.txt:2: only the first mask line"):
        WSOLEvalDataset(str(tmp_path), "val")


def test_image_size_disagreeing_with_metadata_is_an_error(tmp_path: Path) -> None:
    _box_dataset(tmp_path)
    (tmp_path / "metadata/test/image_sizes.txt").write_text("a/1.png,41,30\nb/2.png,20,50\n")
    with pytest.raises(DataError, match=r"'a/1\.png' is 40x30 but image_sizes\.txt says 41x30"):
        WSOLEvalDataset(str(tmp_path), "test").load_sample(0)


def test_fixation_outside_the_image_is_an_error(tmp_path: Path) -> None:
    _box_dataset(tmp_path)
    (tmp_path / "metadata/test/fixations.txt").write_text("a/1.png,40,3,0\n")
    with pytest.raises(DataError, match=r"fixation \(40, 3\) of image 'a/1\.png' lies outside its 40x30"):
        WSOLEvalDataset(str(tmp_path), "test").load_target(0)


def test_labels_beyond_the_class_names_are_an_error(tmp_path: Path) -> None:
    _box_dataset(tmp_path)
    write_class_names(tmp_path / "metadata", ["a", "b"])
    with pytest.raises(DataError, match="class label 3 but only 2 classes"):
        WSOLEvalDataset(str(tmp_path), "test")


def test_unknown_option_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"mask_rot.*did you mean 'mask_root'"):
        DATASETS.build({"name": "wsoleval", "root": str(tmp_path), "mask_rot": "x"}, split="test")


def test_blank_optional_files_count_as_absent(tmp_path: Path) -> None:
    """wsolevaluation ships empty image_sizes.txt (OpenImages) and localization.txt (its train)."""
    _mask_dataset(tmp_path)
    (tmp_path / "metadata/val/image_sizes.txt").write_text("")
    (tmp_path / "metadata/val/localization.txt").write_text("\n")
    dataset = WSOLEvalDataset(str(tmp_path), "val")
    assert dataset.ground_truth == frozenset()
    assert dataset.records[0].size is None and dataset.load_target(0).size == (8, 6)
