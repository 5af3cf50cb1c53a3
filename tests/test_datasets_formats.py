"""Each on-disk format, written in its exact layout (quirks included), read back exactly."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pycocotools import mask as mask_utils
from scipy.io import savemat

from wsol.data.datasets import DATASETS, create_dataset
from wsol.data.transforms import TRANSFORMS
from wsol.errors import DataError

DATA = Path(__file__).parent / "data"
# pycocotools' RLE decoding trips a numpy 2 deprecation inside pycocotools itself
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


def _image(path: Path, width: int, height: int, seed: int = 0) -> np.ndarray:
    pixels = np.random.default_rng(seed).integers(0, 200, (height, width, 3), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)
    return pixels


def _gray(path: Path, values: np.ndarray, **save) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(values.astype(np.uint8)).save(path, **save)


def test_registry_lists_every_format():
    assert {"coco", "voc", "folder_csv", "salicon", "mit1003", "cat2000", "osie"} <= set(DATASETS.list())


# --- COCO ----------------------------------------------------------------------------------------------


def _coco_fixture(root: Path) -> dict:
    _image(root / "val" / "a.png", 40, 30)
    _image(root / "val" / "b.png", 20, 20)
    rle_mask = np.zeros((30, 40), np.uint8, order="F")
    rle_mask[20:25, 30:38] = 1
    rle = mask_utils.encode(rle_mask)
    rle["counts"] = rle["counts"].decode()
    crowd = np.zeros((30, 40), np.uint8, order="F")
    crowd[0:4, 0:6] = 1
    uncompressed = {"size": [30, 40], "counts": _uncompressed_counts(crowd)}
    data = {
        "images": [
            {"id": 7, "file_name": "a.png", "width": 40, "height": 30},
            {"id": 9, "file_name": "b.png", "width": 20, "height": 20},
        ],
        "categories": [{"id": 5, "name": "dog"}, {"id": 2, "name": "cat"}],
        "annotations": [
            # polygon of the pixel-edge rectangle [4, 14) x [3, 9): 60 pixels, bbox in COCO [x, y, w, h]
            {
                "id": 1,
                "image_id": 7,
                "category_id": 5,
                "iscrowd": 0,
                "bbox": [4, 3, 10, 6],
                "segmentation": [[4, 3, 14, 3, 14, 9, 4, 9]],
                "area": 60,
            },
            {
                "id": 2,
                "image_id": 7,
                "category_id": 2,
                "iscrowd": 0,
                "bbox": [30, 20, 8, 5],
                "segmentation": rle,
                "area": 40,
            },
            {
                "id": 3,
                "image_id": 7,
                "category_id": 5,
                "iscrowd": 1,
                "bbox": [0, 0, 6, 4],
                "segmentation": uncompressed,
                "area": 24,
            },
        ],
    }
    (root / "annotations").mkdir(parents=True)
    (root / "annotations" / "instances_val.json").write_text(json.dumps(data))
    return data


def _uncompressed_counts(mask: np.ndarray) -> list[int]:
    """COCO's uncompressed RLE: run lengths of the column-major flattening, starting with zeros."""
    flat = mask.flatten(order="F")
    changes = np.flatnonzero(np.diff(flat)) + 1
    bounds = np.concatenate([[0], changes, [flat.size]])
    runs = np.diff(bounds).tolist()
    return [0, *runs] if flat[0] == 1 else runs


def test_coco_boxes_masks_crowd_and_class_order(tmp_path):
    _coco_fixture(tmp_path)
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
    _coco_fixture(tmp_path)
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

_VOC_XML = """<annotation><filename>{id}.jpg</filename>
<size><width>40</width><height>30</height><depth>3</depth></size>
<object><name>dog</name><difficult>0</difficult>
  <bndbox><xmin>1</xmin><ymin>1</ymin><xmax>10</xmax><ymax>20</ymax></bndbox>
  <part><name>head</name><bndbox><xmin>2</xmin><ymin>2</ymin><xmax>4</xmax><ymax>4</ymax></bndbox></part>
</object>
<object><name>cat</name><difficult>1</difficult>
  <bndbox><xmin>21</xmin><ymin>5</ymin><xmax>40</xmax><ymax>30</ymax></bndbox></object>
</annotation>"""


def _voc_fixture(root: Path, ids=("2008_000001",)) -> None:
    for sub in ("Annotations", "JPEGImages", "ImageSets/Main", "ImageSets/Segmentation", "SegmentationClass"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    for image_id in ids:
        (root / "Annotations" / f"{image_id}.xml").write_text(_VOC_XML.format(id=image_id))
        _image(root / "JPEGImages" / f"{image_id}.jpg", 40, 30)
        labels = np.zeros((30, 40), np.uint8)
        labels[0:20, 0:10] = 12  # dog
        labels[20, 0:10] = 255  # void border
        png = Image.fromarray(labels, mode="L").convert("P")
        png.save(root / "SegmentationClass" / f"{image_id}.png")
    for split in ("Main", "Segmentation"):
        (root / "ImageSets" / split / "val.txt").write_text("\n".join(ids) + "\n")


def test_voc_one_based_boxes_difficult_and_parts(tmp_path):
    _voc_fixture(tmp_path)
    data = create_dataset({"name": "voc", "root": str(tmp_path)}, split="val")
    sample = data.load_sample(0)
    np.testing.assert_array_equal(sample.boxes, [[0, 0, 9, 19]])  # 1-based -> 0-based; <part> box ignored
    assert sample.labels == [11] and data.class_names[11] == "dog"
    spec = {"name": "voc", "root": str(tmp_path), "use_difficult": True}
    sample = create_dataset(spec, split="val").load_sample(0)
    np.testing.assert_array_equal(sample.boxes, [[0, 0, 9, 19], [20, 4, 39, 29]])
    assert sample.labels == [7, 11]  # the cat box is larger


def test_voc_masks_from_palette_png(tmp_path):
    _voc_fixture(tmp_path)
    data = create_dataset({"name": "voc", "root": str(tmp_path), "masks": True}, split="val")
    sample = data.load_sample(0)
    assert data.ground_truth == {"boxes", "masks"}
    assert sample.mask.sum() == 200 and sample.mask[:20, :10].all()
    assert sample.ignore.sum() == 10 and sample.ignore[20, :10].all()


def test_voc_unknown_class_names_the_file(tmp_path):
    _voc_fixture(tmp_path)
    xml = tmp_path / "Annotations" / "2008_000001.xml"
    xml.write_text(xml.read_text().replace("<name>dog</name>", "<name>dgo</name>"))
    with pytest.raises(DataError, match=r"2008_000001\.xml: unknown class 'dgo' \(did you mean 'dog'"):
        create_dataset({"name": "voc", "root": str(tmp_path)}, split="val")


# --- folder + CSV --------------------------------------------------------------------------------------


def _csv_fixture(root: Path, rows: list[str], header: str = "image,label,x0,y0,x1,y1,split") -> None:
    _image(root / "images" / "a.png", 30, 20)
    _image(root / "images" / "sub" / "b.png", 16, 16)
    (root / "annotations.csv").write_text(header + "\n" + "\n".join(rows) + "\n")


def test_folder_csv_merges_rows_per_image(tmp_path):
    _csv_fixture(
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
    _csv_fixture(tmp_path, ["a.png,2,m.png", "sub/b.png,0,"], header="image,label,mask")
    mask = np.zeros((20, 30), np.uint8)
    mask[5:10, 5:15] = 255
    _gray(tmp_path / "m.png", mask)
    data = create_dataset({"name": "folder_csv", "root": str(tmp_path)}, split="all")
    assert data.class_names == ["0", "1", "2"] and data.ground_truth == {"masks"}
    assert data.load_sample(0).label == 2 and data.load_sample(0).mask.sum() == 50
    (tmp_path / "classes.txt").write_text("2\n0\n")
    reordered = create_dataset({"name": "folder_csv", "root": str(tmp_path)}, split="all")
    assert reordered.class_names == ["2", "0"] and reordered.load_sample(0).label == 0


def test_folder_csv_format_errors(tmp_path):
    _csv_fixture(tmp_path, ["a.png,cat,1,2,5,6,train"])
    with pytest.raises(DataError, match="no rows for split 'val'"):
        create_dataset({"name": "folder_csv", "root": str(tmp_path)}, split="val")
    _csv_fixture(tmp_path, ["a.png,cat,1,2"], header="image,label,x0,y0")
    with pytest.raises(DataError, match="box columns need all of"):
        create_dataset({"name": "folder_csv", "root": str(tmp_path)}, split="all")
    _csv_fixture(tmp_path, ["a.png,cat"], header="image,lable")
    with pytest.raises(DataError, match="missing column 'label'"):
        create_dataset({"name": "folder_csv", "root": str(tmp_path)}, split="all")
    _csv_fixture(tmp_path, ["a.png,cat"], header="image,label")
    with pytest.raises(DataError, match="no 'split' column"):
        create_dataset({"name": "folder_csv", "root": str(tmp_path)}, split="train")
    _csv_fixture(tmp_path, ["a.png,cat,1,x,5,6,train"])
    with pytest.raises(DataError, match="line 2: box needs four numbers"):
        create_dataset({"name": "folder_csv", "root": str(tmp_path)}, split="train")


# --- fixation datasets ---------------------------------------------------------------------------------


def test_salicon_one_based_row_col_points(tmp_path):
    pixels = _image(tmp_path / "images" / "val" / "COCO_val2014_000000000001.jpg", 40, 30)
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
    _gray(tmp_path / "maps" / "val" / "COCO_val2014_000000000001.png", fixation_map)
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


def _mit_fixture(root: Path, name: str = "i05june05_static_street_boston_p1010764") -> list[tuple[int, int]]:
    _image(root / "ALLSTIMULI" / f"{name}.jpeg", 64, 48)
    points = [(5, 7), (60, 40), (0, 0), (63, 47)]
    pts = np.zeros((48, 64), np.uint8)
    for x, y in points:
        pts[y, x] = 255
    _gray(root / "ALLFIXATIONMAPS" / f"{name}_fixPts.jpg", pts, quality=75)  # JPEG noise, as released
    _gray(root / "ALLFIXATIONMAPS" / f"{name}_fixMap.jpg", np.full((48, 64), 128))
    return points


def test_mit1003_points_from_jpeg_fixpts(tmp_path):
    points = _mit_fixture(tmp_path)
    data = create_dataset({"name": "mit1003", "root": str(tmp_path)}, split="all")
    sample = data.load_sample(0)
    assert sorted(map(tuple, sample.fixations.astype(int).tolist())) == sorted(points)
    assert abs(sample.fixation_map.mean() - 128 / 255) < 0.01
    assert data.load_target(0).size == (64, 48)
    (tmp_path / "half.txt").write_text("i05june05_static_street_boston_p1010764\n")
    assert len(create_dataset({"name": "mit1003", "root": str(tmp_path)}, split="half")) == 1
    with pytest.raises(DataError, match=r"needs a list file .*test\.txt"):
        create_dataset({"name": "mit1003", "root": str(tmp_path)}, split="test")


def _cat2000_fixture(root: Path) -> None:
    base = root / "trainSet"
    for cat, n in (("Action", "001"), ("Indoor", "002")):
        _image(base / "Stimuli" / cat / f"{n}.jpg", 48, 27)
        locs = np.zeros((27, 48))
        locs[3, 10] = locs[26, 47] = 1
        (base / "FIXATIONLOCS" / cat).mkdir(parents=True, exist_ok=True)
        savemat(base / "FIXATIONLOCS" / cat / f"{n}.mat", {"fixLocs": locs})
        _gray(base / "FIXATIONMAPS" / cat / f"{n}.jpg", np.full((27, 48), 255))
    _image(base / "Stimuli" / "Action" / "Output" / "001.jpg", 8, 8)  # ignored sub-folder


def test_cat2000_categories_and_fixlocs(tmp_path):
    _cat2000_fixture(tmp_path)
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


def _osie_fixture(root: Path) -> None:
    for name in ("1001.jpg", "1002.jpg"):
        _image(root / "data" / "stimuli" / name, 80, 60)
    cells = np.empty((2, 1), dtype=object)
    subjects = np.empty((2, 1), dtype=object)
    subjects[0, 0] = {
        "fix_x": np.array([[10.5, 0.4]]),
        "fix_y": np.array([[20.49, 61.0]]),
        "fix_duration": np.array([[100.0, 200.0]]),
    }
    subjects[1, 0] = {
        "fix_x": np.array([[80.0]]),
        "fix_y": np.array([[1.0]]),
        "fix_duration": np.array([[50.0]]),
    }
    cells[0, 0] = {"img": "1001.jpg", "subjects": subjects}
    single = np.empty((1, 1), dtype=object)
    single[0, 0] = {"fix_x": np.zeros((1, 0)), "fix_y": np.zeros((1, 0)), "fix_duration": np.zeros((1, 0))}
    cells[1, 0] = {"img": "1002.jpg", "subjects": single}
    (root / "data" / "eye").mkdir(parents=True)
    savemat(root / "data" / "eye" / "fixations.mat", {"fixations": cells})


def test_osie_rounds_and_clips_like_the_authors(tmp_path):
    _osie_fixture(tmp_path)
    with pytest.raises(DataError, match=r"1002\.jpg: no fixations"):
        create_dataset({"name": "osie", "root": str(tmp_path)}, split="all")
    data = create_dataset({"name": "osie", "root": str(tmp_path), "skip_bad_samples": True}, split="all")
    assert data.image_ids == ["1001.jpg"]
    # MATLAB round half away from zero, clip to [1, W] x [1, H], then 0-based
    np.testing.assert_array_equal(data.load_sample(0).fixations, [[10, 19], [0, 59], [79, 0]])
    assert data.load_target(0).size == (80, 60)
