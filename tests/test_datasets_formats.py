"""Each on-disk format, written in its exact layout (quirks included), read back exactly."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from dataset_fixtures import cat2000_tree, coco_tree, csv_tree, gray, image, mit_tree, osie_tree, voc_tree

from wsol.data.datasets import create_dataset
from wsol.data.transforms import TRANSFORMS
from wsol.errors import DataError

DATA = Path(__file__).parent / "data"
# pycocotools' RLE decoding trips a numpy 2 deprecation inside pycocotools itself
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


# --- COCO ----------------------------------------------------------------------------------------------


def test_coco_boxes_masks_crowd_and_class_order(tmp_path):
    coco_tree(tmp_path)
    data = create_dataset({"name": "coco", "root": str(tmp_path), "skip_bad_samples": True}, split="val")
    assert data.class_names == ["cat", "dog"]  # ascending category id: 2, 5
    assert data.image_ids == ["7"] and data.ground_truth == {"boxes", "masks"}  # b.png has no annotation
    sample = data.load_sample(0)
    np.testing.assert_array_equal(sample.boxes, [[4, 3, 13, 8], [30, 20, 37, 24]])
    assert sample.labels == [1, 0] and sample.label == 1  # dog covers the larger area
    expected = np.zeros((30, 40), np.uint8)
    expected[3:9, 4:14] = 1
    expected[20:25, 30:38] = 1
    np.testing.assert_array_equal(sample.mask, expected)
    assert sample.ignore.sum() == 24 and sample.ignore[:4, :6].all()
    target = data.load_target(0)
    assert target.image is None and target.size == (40, 30) and target.mask.sum() == expected.sum()


def test_coco_category_subset_and_bad_names(tmp_path):
    coco_tree(tmp_path)
    subset = create_dataset(
        {"name": "coco", "root": str(tmp_path), "categories": ["cat"], "skip_bad_samples": True}, split="val"
    )
    sample = subset.load_sample(0)
    assert subset.class_names == ["cat"] and sample.labels == [0]
    np.testing.assert_array_equal(sample.boxes, [[30, 20, 37, 24]])
    assert sample.ignore is None
    with pytest.raises(DataError, match=r"no category 'dgo'.*did you mean 'dog'"):
        create_dataset({"name": "coco", "root": str(tmp_path), "categories": ["dgo"]}, split="val")
    with pytest.raises(DataError, match=r"b\.png: no annotation"):
        create_dataset({"name": "coco", "root": str(tmp_path)}, split="val")


def test_coco_real_oxford_pets_polygons():
    root = DATA / "oxford_pets"
    data = create_dataset(
        {
            "name": "coco",
            "root": str(root),
            "annotation_file": str(root / "instances.json"),
            "image_dir": str(root / "images"),
        },
        split="sample",
    )
    assert len(data) == 3 and data.class_names == ["pet"]
    for index in range(len(data)):
        sample = data.load_sample(index)
        ann = data.coco.imgToAnns[int(sample.image_id)][0]
        x, y, w, h = ann["bbox"]
        np.testing.assert_array_equal(sample.boxes, [[x, y, x + w - 1, y + h - 1]])
        poly = np.array(ann["segmentation"][0]).reshape(-1, 2)
        xs, ys = poly[:, 0], poly[:, 1]
        shoelace = 0.5 * abs(np.dot(xs, np.roll(ys, 1)) - np.dot(ys, np.roll(xs, 1)))
        assert abs(int(sample.mask.sum()) - shoelace) / shoelace < 0.03
        assert sample.image.shape[:2] == sample.mask.shape


# --- PASCAL VOC ----------------------------------------------------------------------------------------


def test_voc_one_based_boxes_difficult_and_parts(tmp_path):
    voc_tree(tmp_path)
    data = create_dataset({"name": "voc", "root": str(tmp_path)}, split="val")
    sample = data.load_sample(0)
    np.testing.assert_array_equal(sample.boxes, [[0, 0, 9, 19]])  # 1-based -> 0-based; <part> box ignored
    assert sample.labels == [11] and data.class_names[11] == "dog"
    spec = {"name": "voc", "root": str(tmp_path), "use_difficult": True}
    sample = create_dataset(spec, split="val").load_sample(0)
    np.testing.assert_array_equal(sample.boxes, [[0, 0, 9, 19], [20, 4, 39, 29]])
    assert sample.labels == [7, 11]  # the cat box is larger


def test_voc_masks_from_palette_png(tmp_path):
    voc_tree(tmp_path)
    data = create_dataset({"name": "voc", "root": str(tmp_path), "masks": True}, split="val")
    sample = data.load_sample(0)
    assert data.ground_truth == {"boxes", "masks"}
    assert sample.mask.sum() == 200 and sample.mask[:20, :10].all()
    assert sample.ignore.sum() == 10 and sample.ignore[20, :10].all()


def test_voc_unknown_class_names_the_file(tmp_path):
    voc_tree(tmp_path)
    xml = tmp_path / "Annotations" / "2008_000001.xml"
    xml.write_text(xml.read_text().replace("<name>dog</name>", "<name>dgo</name>"))
    with pytest.raises(DataError, match=r"2008_000001\.xml: unknown class 'dgo' \(did you mean 'dog'"):
        create_dataset({"name": "voc", "root": str(tmp_path)}, split="val")


# --- folder + CSV --------------------------------------------------------------------------------------


def test_folder_csv_merges_rows_perimage(tmp_path):
    csv_tree(
        tmp_path,
        [
            "a.png,zebra,1,2,5,6,train",
            "a.png,ant,10,10,29,19,train",
            "sub/b.png,ant,,,,,train",
            "a.png,zebra,0,0,0,0,val",
        ],
    )
    data = create_dataset({"name": "folder_csv", "root": str(tmp_path)}, split="train")
    assert data.class_names == ["ant", "zebra"] and data.image_ids == ["a.png", "sub/b.png"]
    sample = data.load_sample(0)
    np.testing.assert_array_equal(sample.boxes, [[1, 2, 5, 6], [10, 10, 29, 19]])
    assert sample.labels == [1, 0] and sample.label == 1
    assert data.load_sample(1).boxes.shape == (0, 4)
    assert data.ground_truth == {"boxes"}
    assert len(create_dataset({"name": "folder_csv", "root": str(tmp_path)}, split="all")) == 2


def test_folder_csv_integer_labels_classes_file_and_masks(tmp_path):
    csv_tree(tmp_path, ["a.png,2,m.png", "sub/b.png,0,"], header="image,label,mask")
    mask = np.zeros((20, 30), np.uint8)
    mask[5:10, 5:15] = 255
    gray(tmp_path / "m.png", mask)
    data = create_dataset({"name": "folder_csv", "root": str(tmp_path)}, split="all")
    assert data.class_names == ["0", "1", "2"] and data.ground_truth == {"masks"}
    assert data.load_sample(0).label == 2 and data.load_sample(0).mask.sum() == 50
    (tmp_path / "classes.txt").write_text("2\n0\n")
    reordered = create_dataset({"name": "folder_csv", "root": str(tmp_path)}, split="all")
    assert reordered.class_names == ["2", "0"] and reordered.load_sample(0).label == 0


def test_folder_csv_format_errors(tmp_path):
    csv_tree(tmp_path, ["a.png,cat,1,2,5,6,train"])
    with pytest.raises(DataError, match="no rows for split 'val'"):
        create_dataset({"name": "folder_csv", "root": str(tmp_path)}, split="val")
    csv_tree(tmp_path, ["a.png,cat,1,2"], header="image,label,x0,y0")
    with pytest.raises(DataError, match="box columns need all of"):
        create_dataset({"name": "folder_csv", "root": str(tmp_path)}, split="all")
    csv_tree(tmp_path, ["a.png,cat"], header="image,lable")
    with pytest.raises(DataError, match="missing column 'label'"):
        create_dataset({"name": "folder_csv", "root": str(tmp_path)}, split="all")
    csv_tree(tmp_path, ["a.png,cat"], header="image,label")
    with pytest.raises(DataError, match="no 'split' column"):
        create_dataset({"name": "folder_csv", "root": str(tmp_path)}, split="train")
    csv_tree(tmp_path, ["a.png,cat,1,x,5,6,train"])
    with pytest.raises(DataError, match="line 2: box needs four numbers"):
        create_dataset({"name": "folder_csv", "root": str(tmp_path)}, split="train")


# --- fixation datasets ---------------------------------------------------------------------------------


def test_salicon_one_based_row_col_points(tmp_path):
    pixels = image(tmp_path / "images" / "val" / "COCO_val2014_000000000001.jpg", 40, 30)
    data = {
        "type": "fixations",
        "images": [{"id": 1, "file_name": "COCO_val2014_000000000001.jpg", "width": 40, "height": 30}],
        "annotations": [
            {"id": 1, "image_id": 1, "worker_id": 3, "fixations": [[3, 7], [30, 40]]},
            {"id": 2, "image_id": 1, "worker_id": 4, "fixations": [[1, 1]]},
        ],
    }
    (tmp_path / "annotations").mkdir()
    (tmp_path / "annotations" / "fixations_val2014.json").write_text(json.dumps(data))
    fixation_map = np.zeros((30, 40), np.uint8)
    fixation_map[2, 6] = 255
    gray(tmp_path / "maps" / "val" / "COCO_val2014_000000000001.png", fixation_map)
    dataset = create_dataset({"name": "salicon", "root": str(tmp_path)}, split="val")
    sample = dataset.load_sample(0)
    np.testing.assert_array_equal(sample.fixations, [[6, 2], [39, 29], [0, 0]])  # (col-1, row-1)
    assert sample.fixation_map[2, 6] == 1.0 and dataset.class_names == ["image"]
    assert sample.image.shape == pixels.shape
    sample.image = np.zeros_like(sample.image)
    sample.image[2, 6] = 255  # a white pixel under the first fixation
    item = TRANSFORMS.build("wsol_eval", image_size=56)(sample)
    brightest = np.unravel_index(int(item["image"].sum(0).argmax()), (56, 56))
    np.testing.assert_allclose(item["fixations"][0].numpy()[::-1], brightest, atol=0.5)


def test_salicon_rejects_non_fixation_json(tmp_path):
    (tmp_path / "images" / "val").mkdir(parents=True)
    (tmp_path / "annotations").mkdir()
    (tmp_path / "annotations" / "fixations_val2014.json").write_text(
        json.dumps({"images": [], "annotations": [], "type": "instances"})
    )
    with pytest.raises(DataError, match="not a SALICON fixation file"):
        create_dataset({"name": "salicon", "root": str(tmp_path)}, split="val")


def test_mit1003_points_from_jpeg_fixpts(tmp_path):
    points = mit_tree(tmp_path)
    data = create_dataset({"name": "mit1003", "root": str(tmp_path)}, split="all")
    sample = data.load_sample(0)
    assert sorted(map(tuple, sample.fixations.astype(int).tolist())) == sorted(points)
    assert abs(sample.fixation_map.mean() - 128 / 255) < 0.01
    assert data.load_target(0).size == (64, 48)
    (tmp_path / "half.txt").write_text("i05june05_static_street_boston_p1010764\n")
    assert len(create_dataset({"name": "mit1003", "root": str(tmp_path)}, split="half")) == 1
    with pytest.raises(DataError, match=r"needs a list file .*test\.txt"):
        create_dataset({"name": "mit1003", "root": str(tmp_path)}, split="test")


def test_cat2000_categories_and_fixlocs(tmp_path):
    cat2000_tree(tmp_path)
    data = create_dataset({"name": "cat2000", "root": str(tmp_path)}, split="train")
    assert data.image_ids == ["Action/001.jpg", "Indoor/002.jpg"] and data.class_names == ["Action", "Indoor"]
    sample = data.load_sample(1)
    assert sample.label == 1
    np.testing.assert_array_equal(sample.fixations, [[10, 3], [47, 26]])
    assert sample.fixation_map.min() == 1.0
    only = create_dataset(
        {"name": "cat2000", "root": str(tmp_path / "trainSet"), "categories": ["Indoor"]}, split="train"
    )
    assert only.image_ids == ["Indoor/002.jpg"] and only.load_target(0).label == 0
    with pytest.raises(DataError, match="no public fixations"):
        create_dataset({"name": "cat2000", "root": str(tmp_path)}, split="test")


def test_osie_rounds_and_clips_like_the_authors(tmp_path):
    osie_tree(tmp_path)
    with pytest.raises(DataError, match=r"1002\.jpg: no fixations"):
        create_dataset({"name": "osie", "root": str(tmp_path)}, split="all")
    data = create_dataset({"name": "osie", "root": str(tmp_path), "skip_bad_samples": True}, split="all")
    assert data.image_ids == ["1001.jpg"]
    # MATLAB round half away from zero, clip to [1, W] x [1, H], then 0-based
    np.testing.assert_array_equal(data.load_sample(0).fixations, [[10, 19], [0, 59], [79, 0]])
    assert data.load_target(0).size == (80, 60)
