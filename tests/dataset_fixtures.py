"""Tiny on-disk trees in each dataset format, and one contract fixture per DATASETS member.

The ``*_tree`` writers reproduce each format's exact layout, quirks included (they serve the
format tests in ``test_datasets_formats.py``). :data:`FIXTURES` maps every registered
dataset name to a :class:`DatasetFixture` that writes a small, valid tree holding every
kind of ground truth the member can declare; ``test_contract_datasets.py`` checks the
DATASETS contract on each. A new member needs an entry here, else that test fails.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from pycocotools import mask as mask_utils
from scipy.io import savemat

from wsol.data.wsoleval_layout import ImageRecord, write_class_names, write_split_metadata


def image(path: Path, width: int, height: int, seed: int = 0) -> np.ndarray:
    """Write a random RGB image (values below 200) and return its pixels."""
    pixels = np.random.default_rng(seed).integers(0, 200, (height, width, 3), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)
    return pixels


def gray(path: Path, values: np.ndarray, **save: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(values.astype(np.uint8)).save(path, **save)


# --- COCO ----------------------------------------------------------------------------------------------


def uncompressed_counts(mask: np.ndarray) -> list[int]:
    """COCO's uncompressed RLE: run lengths of the column-major flattening, starting with zeros."""
    flat = mask.flatten(order="F")
    changes = np.flatnonzero(np.diff(flat)) + 1
    bounds = np.concatenate([[0], changes, [flat.size]])
    runs = np.diff(bounds).tolist()
    return [0, *runs] if flat[0] == 1 else runs


def coco_tree(root: Path) -> dict:
    """``val``: image 7 (a.png) with a polygon, a compressed-RLE and a crowd annotation; image 9
    (b.png) without annotation. Categories 5 (dog) and 2 (cat), listed in that order."""
    image(root / "val" / "a.png", 40, 30)
    image(root / "val" / "b.png", 20, 20)
    rle_mask = np.zeros((30, 40), np.uint8, order="F")
    rle_mask[20:25, 30:38] = 1
    rle = mask_utils.encode(rle_mask)
    rle["counts"] = rle["counts"].decode()
    crowd = np.zeros((30, 40), np.uint8, order="F")
    crowd[0:4, 0:6] = 1
    uncompressed = {"size": [30, 40], "counts": uncompressed_counts(crowd)}
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


# --- PASCAL VOC ----------------------------------------------------------------------------------------

VOC_XML = """<annotation><filename>{id}.jpg</filename>
<size><width>40</width><height>30</height><depth>3</depth></size>
<object><name>dog</name><difficult>0</difficult>
  <bndbox><xmin>1</xmin><ymin>1</ymin><xmax>10</xmax><ymax>20</ymax></bndbox>
  <part><name>head</name><bndbox><xmin>2</xmin><ymin>2</ymin><xmax>4</xmax><ymax>4</ymax></bndbox></part>
</object>
<object><name>cat</name><difficult>1</difficult>
  <bndbox><xmin>21</xmin><ymin>5</ymin><xmax>40</xmax><ymax>30</ymax></bndbox></object>
</annotation>"""


def voc_tree(root: Path, ids: tuple[str, ...] = ("2008_000001",)) -> None:
    """``val`` images of 40x30: a dog box (1-based) with a head part, a difficult cat box, and a
    palette segmentation with the dog and a void row."""
    for sub in ("Annotations", "JPEGImages", "ImageSets/Main", "ImageSets/Segmentation", "SegmentationClass"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    for image_id in ids:
        (root / "Annotations" / f"{image_id}.xml").write_text(VOC_XML.format(id=image_id))
        image(root / "JPEGImages" / f"{image_id}.jpg", 40, 30)
        labels = np.zeros((30, 40), np.uint8)
        labels[0:20, 0:10] = 12  # dog
        labels[20, 0:10] = 255  # void border
        png = Image.fromarray(labels, mode="L").convert("P")
        png.save(root / "SegmentationClass" / f"{image_id}.png")
    for split in ("Main", "Segmentation"):
        (root / "ImageSets" / split / "val.txt").write_text("\n".join(ids) + "\n")


# --- folder + CSV --------------------------------------------------------------------------------------


def csv_tree(root: Path, rows: list[str], header: str = "image,label,x0,y0,x1,y1,split") -> None:
    """``images/a.png`` (30x20), ``images/sub/b.png`` (16x16) and ``annotations.csv``."""
    image(root / "images" / "a.png", 30, 20)
    image(root / "images" / "sub" / "b.png", 16, 16)
    (root / "annotations.csv").write_text(header + "\n" + "\n".join(rows) + "\n")


# --- fixation datasets ---------------------------------------------------------------------------------


def salicon_tree(root: Path, split: str = "val") -> None:
    """Two images with 1-based ``[row, col]`` points of two workers, and one continuous map."""
    images, annotations = [], []
    for n, (width, height) in enumerate(((40, 30), (24, 20)), start=1):
        name = f"COCO_{split}2014_{n:012d}.jpg"
        image(root / "images" / split / name, width, height, seed=n)
        images.append({"id": n, "file_name": name, "width": width, "height": height})
        annotations += [
            {"id": 2 * n, "image_id": n, "worker_id": 3, "fixations": [[3, 7], [height, width]]},
            {"id": 2 * n + 1, "image_id": n, "worker_id": 4, "fixations": [[1, 1]]},
        ]
    gray(root / "maps" / split / f"COCO_{split}2014_{1:012d}.png", np.full((30, 40), 128))
    (root / "annotations").mkdir(parents=True, exist_ok=True)
    data = {"type": "fixations", "images": images, "annotations": annotations}
    (root / "annotations" / f"fixations_{split}2014.json").write_text(json.dumps(data))


def mit_tree(root: Path, name: str = "i05june05_static_street_boston_p1010764") -> list[tuple[int, int]]:
    """One 64x48 stimulus with a JPEG ``_fixPts`` map (noise included) and a ``_fixMap``."""
    image(root / "ALLSTIMULI" / f"{name}.jpeg", 64, 48)
    points = [(5, 7), (60, 40), (0, 0), (63, 47)]
    pts = np.zeros((48, 64), np.uint8)
    for x, y in points:
        pts[y, x] = 255
    gray(root / "ALLFIXATIONMAPS" / f"{name}_fixPts.jpg", pts, quality=75)  # JPEG noise, as released
    gray(root / "ALLFIXATIONMAPS" / f"{name}_fixMap.jpg", np.full((48, 64), 128))
    return points


def cat2000_tree(root: Path) -> None:
    """``trainSet`` with categories Action and Indoor (one 48x27 image each) and an ignored sub-folder."""
    base = root / "trainSet"
    for cat, n in (("Action", "001"), ("Indoor", "002")):
        image(base / "Stimuli" / cat / f"{n}.jpg", 48, 27)
        locs = np.zeros((27, 48))
        locs[3, 10] = locs[26, 47] = 1
        (base / "FIXATIONLOCS" / cat).mkdir(parents=True, exist_ok=True)
        savemat(base / "FIXATIONLOCS" / cat / f"{n}.mat", {"fixLocs": locs})
        gray(base / "FIXATIONMAPS" / cat / f"{n}.jpg", np.full((27, 48), 255))
    image(base / "Stimuli" / "Action" / "Output" / "001.jpg", 8, 8)  # ignored sub-folder


def osie_tree(root: Path) -> None:
    """``1001.jpg`` with fractional 1-based points of two subjects; ``1002.jpg`` without fixations."""
    for name in ("1001.jpg", "1002.jpg"):
        image(root / "data" / "stimuli" / name, 80, 60)
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


# --- wsolevaluation layout and the formats built on others ---------------------------------------------


def wsoleval_tree(root: Path, split: str = "test") -> None:
    """Two images with boxes, instance and ignore masks, a ``cue`` part, fixations and class names."""
    records = []
    for n, (width, height) in enumerate(((40, 30), (20, 24))):
        name = f"{n}.png"
        image(root / "images" / name, width, height, seed=n)
        obj = np.zeros((height, width), np.uint8)
        obj[2:12, 3:15] = 255
        cue, ignore = np.zeros_like(obj), np.zeros_like(obj)
        cue[2:6, 3:8], ignore[-3:, -3:] = 255, 255
        for kind, array in (("m", obj), ("cue", cue), ("ignore", ignore)):
            gray(root / "masks" / f"{n}_{kind}.png", array)
        records.append(
            ImageRecord(
                name,
                n,
                (width, height),
                boxes=[(3, 2, 14, 11)],
                mask_paths=[f"{n}_m.png"],
                ignore_path=f"{n}_ignore.png",
                part_paths={"cue": f"{n}_cue.png"},
                fixations=[(4, 3, 0), (13, 10, 1), (0, 0, 1)],
            )
        )
    write_split_metadata(root / "metadata" / split, records)
    write_class_names(root / "metadata", ["bird", "boat"])


BREEDS = ("Bengal", "beagle")


def pets_tree(root: Path, per_breed: int = 5, size: tuple[int, int] = (24, 20)) -> None:
    """The pets sample layout: ``per_breed`` images per breed, an animal polygon and a head box each."""
    images, anns = [], []
    for breed in BREEDS:
        folder = "cats" if breed[0].isupper() else "dogs"
        for n in range(per_breed):
            name = f"{folder}/{breed}_{100 + n}.jpg"
            image(root / "data" / "sample_images" / name, *size, seed=len(images))
            image_id = len(images) + 1
            images.append({"id": image_id, "file_name": name, "width": size[0], "height": size[1]})
            poly = [2.0 + n % 3, 3.0, 20.0, 4.0, 18.0 - n % 2, 16.0, 4.0, 15.0]
            box = {"bbox": [5, 4, 6, 5], "area": 30, "segmentation": [poly], "iscrowd": 0}
            anns.append({"id": image_id, "image_id": image_id, "category_id": 0, **box})
    coco = {"images": images, "annotations": anns, "categories": [{"id": 0, "name": "pet"}]}
    path = root / "data" / "sample_annotations" / "coco" / "annotations" / "instances_sample.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(coco))


# --- one contract fixture per DATASETS member ----------------------------------------------------------


@dataclass(frozen=True)
class DatasetFixture:
    """How to write a valid tree for one member and which spec reads it.

    Attributes:
        write: writes the tree into the given root folder.
        split: the split to read.
        ground_truth: every kind of ground truth the fixture holds (the member must declare it).
        annotations: glob (under the root) of the files holding the ground truth.
        options: spec options besides ``name`` and ``root``.
        generates: the member creates a missing root itself (so a missing root is no error).
    """

    write: Callable[[Path], Any]
    split: str
    ground_truth: frozenset[str]
    annotations: str
    options: dict[str, Any] | None = None
    generates: bool = False

    def spec(self, name: str, root: Path) -> dict[str, Any]:
        return {"name": name, "root": str(root), **(self.options or {})}


def _csv_with_boxes_and_masks(root: Path) -> None:
    rows = [
        "a.png,zebra,1,2,5,6,masks/a.png,train",
        "a.png,ant,10,10,29,19,,train",
        "sub/b.png,ant,0,3,15,15,masks/b.png,train",
    ]
    csv_tree(root, rows, header="image,label,x0,y0,x1,y1,mask,split")
    for name, (width, height) in (("a.png", (30, 20)), ("b.png", (16, 16))):
        mask = np.zeros((height, width), np.uint8)
        mask[3:9, 2:6] = 255
        gray(root / "masks" / name, mask)


def folder_tree(root: Path) -> None:
    """Three images; ``some.txt`` lists two of them (one by its stem)."""
    for name, width in (("a.png", 12), ("b.jpg", 10), ("c.png", 8)):
        image(root / name, width, 6)
    (root / "some.txt").write_text("c\nb.jpg\n")


def _voc_two_images(root: Path) -> None:
    voc_tree(root, ("a1", "b2"))


def _generated(root: Path) -> None:
    """Nothing: the member generates its data on first use."""


BOXES_MASKS = frozenset({"boxes", "masks"})
FIXATIONS = frozenset({"fixations"})
EVERY_KIND = frozenset({"boxes", "masks", "parts", "fixations"})
WSOLEVAL_ROOTS = {"image_root": "images", "mask_root": "masks"}
SYNTHPARTS = {"seed": 1, "num_train": 2, "num_val": 2, "num_test": 0, "image_size": 64, "workers": 1}

FIXTURES: dict[str, DatasetFixture] = {
    "cat2000": DatasetFixture(cat2000_tree, "train", FIXATIONS, "trainSet/FIXATIONLOCS/*/*.mat"),
    "coco": DatasetFixture(coco_tree, "val", BOXES_MASKS, "annotations/*.json", {"skip_bad_samples": True}),
    "folder": DatasetFixture(folder_tree, "some", frozenset(), "some.txt"),
    "folder_csv": DatasetFixture(_csv_with_boxes_and_masks, "train", BOXES_MASKS, "annotations.csv"),
    "mit1003": DatasetFixture(mit_tree, "all", FIXATIONS, "ALLFIXATIONMAPS/*_fixPts.jpg"),
    "osie": DatasetFixture(osie_tree, "all", FIXATIONS, "data/eye/*.mat", {"skip_bad_samples": True}),
    "pets": DatasetFixture(pets_tree, "train", frozenset({"boxes", "masks", "parts"}), "data/**/*.json"),
    "salicon": DatasetFixture(salicon_tree, "val", FIXATIONS, "annotations/*.json"),
    "synthparts": DatasetFixture(_generated, "val", EVERY_KIND, "*/metadata/val/*.txt", SYNTHPARTS, True),
    "voc": DatasetFixture(_voc_two_images, "val", BOXES_MASKS, "Annotations/*.xml", {"masks": True}),
    "wsoleval": DatasetFixture(wsoleval_tree, "test", EVERY_KIND, "metadata/test/*.txt", WSOLEVAL_ROOTS),
}
