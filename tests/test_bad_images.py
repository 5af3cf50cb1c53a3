"""Bad input: odd image modes, EXIF rotation, corrupt files, bad or missing annotations."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from torch.utils.data import DataLoader

from wsol.data.collate import collate_samples
from wsol.data.datasets import create_dataset
from wsol.data.image_io import read_image, read_image_size, read_map
from wsol.data.transforms import TRANSFORMS
from wsol.errors import ConfigError, DataError


def _rgb(height: int = 6, width: int = 8) -> np.ndarray:
    return np.arange(height * width * 3, dtype=np.uint8).reshape(height, width, 3)


# --- image decoding ------------------------------------------------------------------------------------


def test_gray_palette_and_rgba_become_rgb(tmp_path):
    gray = np.arange(48, dtype=np.uint8).reshape(6, 8)
    Image.fromarray(gray).save(tmp_path / "g.png")
    out = read_image(tmp_path / "g.png")
    assert out.shape == (6, 8, 3) and out.dtype == np.uint8 and (out == gray[..., None]).all()
    Image.fromarray(gray).convert("P").save(tmp_path / "p.png")
    assert (read_image(tmp_path / "p.png") == gray[..., None]).all()
    rgba = np.dstack([_rgb(), np.zeros((6, 8), np.uint8)])  # fully transparent: colour must survive
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    assert (read_image(tmp_path / "a.png") == _rgb()).all()


def test_cmyk_jpeg_becomes_rgb(tmp_path):
    Image.fromarray(_rgb()).convert("CMYK").save(tmp_path / "c.jpg", quality=100)
    out = read_image(tmp_path / "c.jpg")
    assert out.shape == (6, 8, 3)
    assert np.abs(out.astype(int) - _rgb()).mean() < 8


def test_16_bit_gray_scales_by_257(tmp_path):
    values = np.array([[0, 257, 65535, 257 * 100]], dtype=np.uint16)
    Image.fromarray(values).save(tmp_path / "d.png")
    assert Image.open(tmp_path / "d.png").mode.startswith("I")
    np.testing.assert_array_equal(read_image(tmp_path / "d.png")[0, :, 0], [0, 1, 255, 100])
    np.testing.assert_array_equal(read_map(tmp_path / "d.png")[0], [0, 1, 255, 100])
    dark = np.full((2, 2), 200, dtype=np.uint16)  # a dark 16-bit image stays dark
    Image.fromarray(dark).save(tmp_path / "dark.png")
    assert read_image(tmp_path / "dark.png").max() == 1


def test_float_image_is_refused(tmp_path):
    Image.fromarray(np.ones((4, 4), np.float32)).save(tmp_path / "f.tif")
    with pytest.raises(DataError, match=r"f\.tif is a 32-bit float image"):
        read_image(tmp_path / "f.tif")


def _exif_rotated(path: Path, pixels: np.ndarray, orientation: int = 6) -> None:
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(pixels).save(path, exif=exif, quality=100)


def test_exif_orientation_is_applied_unless_annotations_use_stored_pixels(tmp_path):
    pixels = np.zeros((6, 8, 3), np.uint8)
    pixels[0, 7] = 255  # top-right corner
    _exif_rotated(tmp_path / "r.jpg", pixels)  # 6: display rotated 90 degrees clockwise
    shown = read_image(tmp_path / "r.jpg")
    assert shown.shape == (8, 6, 3) and shown[7, 5].min() > 200  # corner moved to bottom-right
    assert read_image_size(tmp_path / "r.jpg") == (6, 8)
    assert read_image_size(tmp_path / "r.jpg", exif=False) == (8, 6)
    assert read_image(tmp_path / "r.jpg", expected_size=(6, 8)).shape == (8, 6, 3)
    stored = read_image(tmp_path / "r.jpg", expected_size=(8, 6))  # annotated on the stored pixels
    assert stored.shape == (6, 8, 3) and stored[0, 7].min() > 200
    with pytest.raises(DataError, match=r"r\.jpg is 6x8 but its annotation says 10x10"):
        read_image(tmp_path / "r.jpg", expected_size=(10, 10))


def test_truncated_corrupt_and_missing_files_name_the_file(tmp_path):
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), np.uint8)).save(tmp_path / "t.jpg")
    data = (tmp_path / "t.jpg").read_bytes()
    (tmp_path / "t.jpg").write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match=r"cannot decode image .*t\.jpg"):
        read_image(tmp_path / "t.jpg")
    (tmp_path / "junk.png").write_bytes(b"not an image at all")
    with pytest.raises(DataError, match=r"cannot decode image .*junk\.png"):
        read_image(tmp_path / "junk.png")
    with pytest.raises(DataError, match=r"cannot decode image .*junk\.png"):
        read_image_size(tmp_path / "junk.png")
    with pytest.raises(DataError, match=r"image file not found: .*nope\.jpg"):
        read_image(tmp_path / "nope.jpg")
    with pytest.raises(DataError, match=r"map file not found: .*nope\.png"):
        read_map(tmp_path / "nope.png")


# --- datasets: folder + CSV ----------------------------------------------------------------------------


def _csv_dataset(root: Path, rows: list[str], **options):
    (root / "images").mkdir(parents=True, exist_ok=True)
    for name in ("a.png", "b.png", "c.png"):
        Image.fromarray(_rgb(20, 30)).save(root / "images" / name)
    (root / "annotations.csv").write_text("image,label,x0,y0,x1,y1\n" + "\n".join(rows) + "\n")
    return create_dataset({"name": "folder_csv", "root": str(root), **options}, split="all")


def test_missing_listed_image_errors_or_is_skipped_and_logged(tmp_path, caplog):
    rows = ["a.png,cat,0,0,5,5", "gone.png,cat,0,0,5,5", "b.png,dog,1,1,3,3"]
    with pytest.raises(DataError, match=r"image not found: .*gone\.png \(set skip_bad_samples"):
        _csv_dataset(tmp_path, rows)
    with caplog.at_level(logging.WARNING, logger="wsol.data"):
        data = _csv_dataset(tmp_path, rows, skip_bad_samples=True)
    assert data.image_ids == ["a.png", "b.png"]
    assert data.problems.counts["skipped sample"] == 1
    assert "gone.png" in caplog.text and "2 samples kept" in caplog.text


def test_corrupt_image_at_load_time_errors_or_is_dropped_from_the_batch(tmp_path):
    rows = ["a.png,cat,0,0,5,5", "b.png,dog,1,1,3,3", "c.png,dog,1,1,3,3"]
    data = _csv_dataset(tmp_path, rows)
    (tmp_path / "images" / "b.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    data.transform = TRANSFORMS.build("wsol_eval", image_size=16)
    with pytest.raises(DataError, match=r"b\.png"):
        data[1]
    data.skip_bad_samples = True
    assert data[1] is None and data.problems.counts["skipped sample"] == 1
    batch = next(iter(DataLoader(data, batch_size=3, collate_fn=collate_samples)))
    assert batch["num_skipped"] == 1 and batch["image_id"] == ["a.png", "c.png"]
    assert batch["index"].tolist() == [0, 2]


def test_box_outside_the_image_error_clip_or_drop(tmp_path, caplog):
    rows = ["a.png,cat,0,0,5,5", "a.png,cat,25,10,35,25", "a.png,cat,40,0,45,5"]  # image is 30x20
    with pytest.raises(DataError, match=r"a\.png: box outside the 30x20 image.*set out_of_frame"):
        _csv_dataset(tmp_path, rows).load_sample(0)
    with caplog.at_level(logging.WARNING, logger="wsol.data"):
        clipped = _csv_dataset(tmp_path, rows, out_of_frame="clip")
        boxes = clipped.load_sample(0).boxes
    np.testing.assert_array_equal(boxes, [[0, 0, 5, 5], [25, 10, 29, 19]])  # no pixel inside: removed
    assert clipped.problems.counts["box outside image (clipped)"] == 1 and "box outside" in caplog.text
    dropped = _csv_dataset(tmp_path, rows, out_of_frame="drop")
    np.testing.assert_array_equal(dropped.load_sample(0).boxes, [[0, 0, 5, 5]])
    assert dropped.problems.counts["box outside image (dropped)"] == 1
    with pytest.raises(ConfigError, match=r"^data.dataset.out_of_frame: .* is not one of "):
        _csv_dataset(tmp_path, rows, out_of_frame="ignore")


def test_reversed_box_is_an_error(tmp_path):
    with pytest.raises(DataError, match="x1 < x0"):
        _csv_dataset(tmp_path, ["a.png,cat,5,0,2,5"], out_of_frame="clip").load_sample(0)


def test_float_noise_beyond_the_edge_is_clipped_quietly(tmp_path):
    data = _csv_dataset(tmp_path, ["a.png,cat,-0.001,0,29.001,19"])
    np.testing.assert_array_equal(data.load_sample(0).boxes, [[0, 0, 29, 19]])
    assert not data.problems.counts


# --- datasets: annotation files ------------------------------------------------------------------------


def _voc(root: Path, objects: str, width: int = 40, height: int = 30) -> None:
    for sub in ("Annotations", "JPEGImages", "ImageSets/Main"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    xml = f"<annotation><size><width>{width}</width><height>{height}</height></size>{objects}</annotation>"
    (root / "Annotations" / "x1.xml").write_text(xml)
    Image.fromarray(_rgb(30, 40)).save(root / "JPEGImages" / "x1.jpg")
    (root / "ImageSets" / "Main" / "val.txt").write_text("x1\n")


def _obj(xmax: int = 10, difficult: int = 0) -> str:
    return (
        f"<object><name>dog</name><difficult>{difficult}</difficult><bndbox><xmin>1</xmin><ymin>1</ymin>"
        f"<xmax>{xmax}</xmax><ymax>5</ymax></bndbox></object>"
    )


def test_voc_box_outside_and_empty_annotations(tmp_path):
    _voc(tmp_path, _obj(xmax=45))
    with pytest.raises(DataError, match=r"x1\.xml: box outside the 40x30 image"):
        create_dataset({"name": "voc", "root": str(tmp_path)}, split="val")
    data = create_dataset({"name": "voc", "root": str(tmp_path), "out_of_frame": "clip"}, split="val")
    np.testing.assert_array_equal(data.load_target(0).boxes, [[0, 0, 39, 4]])
    _voc(tmp_path, _obj(difficult=1))
    with pytest.raises(DataError, match=r"x1\.xml: no \(non-difficult\) object"):
        create_dataset({"name": "voc", "root": str(tmp_path)}, split="val")
    skipping = create_dataset({"name": "voc", "root": str(tmp_path), "skip_bad_samples": True}, split="val")
    assert len(skipping) == 0 and skipping.problems.counts["skipped sample"] == 1


def test_voc_missing_malformed_and_mismatched_files(tmp_path):
    _voc(tmp_path, _obj())
    (tmp_path / "Annotations" / "x1.xml").write_text("<annotation><size>")
    with pytest.raises(DataError, match=r"x1\.xml is not valid XML"):
        create_dataset({"name": "voc", "root": str(tmp_path)}, split="val")
    (tmp_path / "Annotations" / "x1.xml").unlink()
    with pytest.raises(DataError, match=r"annotation file not found: .*x1\.xml"):
        create_dataset({"name": "voc", "root": str(tmp_path)}, split="val")
    _voc(tmp_path, _obj(), width=50)  # XML says 50x30, the JPEG is 40x30
    data = create_dataset({"name": "voc", "root": str(tmp_path)}, split="val")
    with pytest.raises(DataError, match=r"x1\.jpg is 40x30 but its annotation says 50x30"):
        data.load_sample(0)
    with pytest.raises(DataError, match=r"split list not found: .*test\.txt"):
        create_dataset({"name": "voc", "root": str(tmp_path)}, split="test")
    with pytest.raises(DataError, match="dataset root not found"):
        create_dataset({"name": "voc", "root": str(tmp_path / "nowhere")}, split="val")


def test_coco_bad_json_and_exif_rotated_image(tmp_path):
    (tmp_path / "annotations").mkdir()
    (tmp_path / "val").mkdir()
    ann = tmp_path / "annotations" / "instances_val.json"
    ann.write_text("{not json")
    with pytest.raises(DataError, match=r"instances_val\.json is not valid JSON"):
        create_dataset({"name": "coco", "root": str(tmp_path)}, split="val")
    pixels = np.zeros((6, 8, 3), np.uint8)
    _exif_rotated(tmp_path / "val" / "r.jpg", pixels)
    images = [{"id": 1, "file_name": "r.jpg", "width": 8, "height": 6}]  # annotated on stored pixels
    box = {"id": 1, "image_id": 1, "category_id": 1, "iscrowd": 0, "bbox": [6, 0, 2, 2]}
    categories = [{"id": 1, "name": "x"}]
    ann.write_text(json.dumps({"images": images, "annotations": [box], "categories": categories}))
    sample = create_dataset({"name": "coco", "root": str(tmp_path)}, split="val").load_sample(0)
    assert sample.image.shape == (6, 8, 3) and sample.size == (8, 6)


def test_fixation_points_outside_the_image(tmp_path):
    Image.fromarray(_rgb(30, 40)).save(tmp_path / "img.jpg")
    (tmp_path / "images" / "val").mkdir(parents=True)
    (tmp_path / "img.jpg").rename(tmp_path / "images" / "val" / "img.jpg")
    data = {
        "type": "fixations",
        "images": [{"id": 1, "file_name": "img.jpg", "width": 40, "height": 30}],
        "annotations": [{"id": 1, "image_id": 1, "fixations": [[5, 5], [31, 41], [0, 3]]}],
    }
    (tmp_path / "annotations").mkdir()
    (tmp_path / "annotations" / "fixations_val2014.json").write_text(json.dumps(data))
    with pytest.raises(DataError, match=r"img\.jpg: 2 points outside the 40x30 image"):
        create_dataset({"name": "salicon", "root": str(tmp_path)}, split="val")
    clipped = create_dataset({"name": "salicon", "root": str(tmp_path), "out_of_frame": "clip"}, split="val")
    np.testing.assert_array_equal(clipped.load_target(0).fixations, [[4, 4], [39, 29], [2, 0]])
    dropped = create_dataset({"name": "salicon", "root": str(tmp_path), "out_of_frame": "drop"}, split="val")
    np.testing.assert_array_equal(dropped.load_target(0).fixations, [[4, 4]])
