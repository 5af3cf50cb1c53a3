"""COCO instances JSON (``instances_<split>.json``) read through pycocotools.

Layout (options override each path)::

    <root>/annotations/instances_<split>.json
    <root>/<split>/<file_name>            # e.g. val2017/000000000139.jpg

Conventions:

* **Classes**: by default every category of the JSON, ordered by ascending category
  id (COCO's 80 things -> indices 0..79); ``categories`` (a list of names) selects and
  orders a subset, and annotations of other categories are ignored.
* **Labels**: an image's ``labels`` are its annotated classes, the class covering the
  largest total box area first; ``label`` is that first class.
* **Boxes**: COCO ``[x, y, w, h]`` (continuous pixel edges) becomes the inclusive
  ``[x, y, x + w - 1, y + h - 1]`` (``x1 >= x0`` kept for boxes under one pixel wide).
* **Masks**: polygons and RLE (compressed or not) are decoded by pycocotools
  (``annToMask``); ``mask`` is the union of the image's non-crowd instances.
* **Crowd** (``iscrowd=1``): the class counts towards ``labels`` (the objects are
  there), the box is not a ground-truth box, and the region goes to ``ignore`` (left out
  of mask metrics), like COCO's own evaluation ignores crowd regions.
* Images without annotations of the selected categories have no label: a
  :class:`DataError`, or skipped with ``skip_bad_samples``.
"""

from __future__ import annotations

import contextlib
import io
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pycocotools.coco import COCO

from wsol.data.datasets import DATASETS
from wsol.data.datasets._base import OutOfFrame, RecordDataset, box_areas, order_labels, require
from wsol.data.sample import Sample
from wsol.errors import DataError, did_you_mean


@dataclass
class _Record:
    image_id: int
    path: Path
    size: tuple[int, int]
    boxes: np.ndarray
    labels: list[int]
    objects: list[dict]
    crowds: list[dict]


def load_coco(path: Path) -> COCO:
    """pycocotools' COCO index of ``path`` (its progress prints silenced), or DataError."""
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            return COCO(str(path))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise DataError(f"annotation file {path} is not valid JSON: {err}") from None
    except (KeyError, TypeError, AssertionError) as err:
        raise DataError(f"annotation file {path} is not a COCO-style JSON (missing {err})") from None


@DATASETS.register("coco")
class COCODataset(RecordDataset):
    """COCO instances: boxes, instance-union masks, multi-label image labels.

    Args:
        root: dataset folder.
        split: ``train2017``, ``val2017``, ... (names the JSON and the image folder).
        annotation_file: JSON path (default ``<root>/annotations/instances_<split>.json``).
        image_dir: image folder (default ``<root>/<split>``).
        categories: class names to keep, in this order (default: all, by category id).
        masks: decode segmentations into ``mask`` / ``ignore``.
        skip_bad_samples, out_of_frame: bad-input policy (see ``_base``).
    """

    def __init__(
        self,
        root: str,
        split: str,
        annotation_file: str | None = None,
        image_dir: str | None = None,
        categories: list[str] | None = None,
        masks: bool = True,
        skip_bad_samples: bool = False,
        out_of_frame: OutOfFrame = "error",
    ) -> None:
        super().__init__(f"coco/{split}", skip_bad_samples, out_of_frame)
        root_path = require(root, "dataset root")
        ann_path = require(
            annotation_file or root_path / "annotations" / f"instances_{split}.json", "annotation file"
        )
        self.image_dir = require(image_dir or root_path / split, "image folder")
        self.coco = load_coco(ann_path)
        self.class_names, cat_to_class = self._classes(categories, ann_path)
        self.masks = masks
        records = [self._record(img_id, cat_to_class) for img_id in sorted(self.coco.imgs)]
        self.records = self.keep_valid(records, self._check)
        self.image_ids = [str(r.image_id) for r in self.records]
        has_segm = masks and any("segmentation" in a for r in self.records for a in r.objects + r.crowds)
        self.ground_truth = frozenset({"boxes", "masks"} if has_segm else {"boxes"})
        self.log_summary()

    def _classes(self, categories: list[str] | None, ann_path: Path) -> tuple[list[str], dict[int, int]]:
        cats = sorted(self.coco.cats.values(), key=lambda c: c["id"])
        by_name = {c["name"]: c["id"] for c in cats}
        names = list(categories) if categories is not None else [c["name"] for c in cats]
        for name in names:
            if name not in by_name:
                raise DataError(f"{ann_path}: no category {name!r}{did_you_mean(name, by_name)}")
        return names, {by_name[n]: i for i, n in enumerate(names)}

    def _record(self, img_id: int, cat_to_class: dict[int, int]) -> _Record:
        info = self.coco.imgs[img_id]
        anns = [a for a in self.coco.imgToAnns.get(img_id, []) if a["category_id"] in cat_to_class]
        objects = [a for a in anns if not a.get("iscrowd", 0)]
        crowds = [a for a in anns if a.get("iscrowd", 0)]
        try:
            boxes = np.array([_inclusive(a["bbox"]) for a in objects], dtype=np.float64).reshape(-1, 4)
        except (KeyError, TypeError, ValueError) as err:
            raise DataError(f"image id {img_id}: annotation without a valid bbox ({err})") from None
        classes = [cat_to_class[a["category_id"]] for a in objects + crowds]
        areas = list(box_areas(boxes)) + [0.0] * len(crowds)
        return _Record(
            img_id,
            self.image_dir / info["file_name"],
            (int(info["width"]), int(info["height"])),
            boxes,
            order_labels(classes, areas),
            objects,
            crowds,
        )

    def _check(self, record: _Record) -> None:
        if not record.labels:
            raise DataError(f"{record.path}: no annotation of the selected categories (id {record.image_id})")
        require(record.path, "image")
        record.boxes = self.fit_boxes(record.boxes, record.size, str(record.path))

    def make_sample(self, index: int, image: np.ndarray | None, size: tuple[int, int]) -> Sample:
        record = self.records[index]
        sample = Sample(
            self.image_ids[index],
            image,
            record.labels[0],
            size=size,
            labels=list(record.labels),
            boxes=record.boxes.copy(),
        )
        if "masks" in self.ground_truth:
            sample.mask = self._union(record.objects, record.size)
            sample.ignore = self._union(record.crowds, record.size).astype(bool) if record.crowds else None
        return sample

    def _union(self, anns: list[dict], size: tuple[int, int]) -> np.ndarray:
        mask = np.zeros((size[1], size[0]), dtype=np.uint8)
        for ann in anns:
            if "segmentation" not in ann:
                continue
            try:
                mask |= self.coco.annToMask(ann).astype(np.uint8)
            except (TypeError, ValueError, KeyError, IndexError) as err:
                where = f"annotation {ann.get('id')} of image {ann['image_id']}"
                raise DataError(f"{where}: bad segmentation ({err})") from None
        return mask


def _inclusive(bbox: list[float]) -> list[float]:
    x, y, w, h = (float(v) for v in bbox)
    return [x, y, max(x + w - 1, x), max(y + h - 1, y)]
