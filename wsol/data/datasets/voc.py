"""PASCAL VOC (VOCdevkit ``VOC2007`` / ``VOC2012`` folders): XML boxes, optional class masks.

Layout::

    <root>/ImageSets/Main/<split>.txt           # image ids (ImageSets/Segmentation with masks=True)
    <root>/Annotations/<id>.xml
    <root>/JPEGImages/<id>.jpg
    <root>/SegmentationClass/<id>.png           # only read with masks=True

Conventions:

* **Coordinates**: VOC pixel coordinates are 1-based and inclusive (the top-left
  pixel is ``(1, 1)``); wsol's boxes are 0-based inclusive, so 1 is subtracted from
  all four. Only an object's own ``<bndbox>`` is read, never those of its ``<part>``s.
* **Difficult** objects (``<difficult>1``) are left out of ``boxes`` and ``labels``
  unless ``use_difficult=True``, as VOC's evaluation ignores them.
* **Classes**: the 20 VOC classes in their usual alphabetical order (``VOC_CLASSES``),
  or ``classes``; an object of another class is a :class:`DataError`.
* **Labels**: classes ordered by total box area, largest first; ``label`` is the first.
* **Masks** (``masks=True``): from ``SegmentationClass`` palette PNGs, ``mask`` is every
  labelled object pixel (index 1..254) and ``ignore`` the void border (index 255).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from wsol.data.datasets import DATASETS
from wsol.data.datasets._base import (
    AnnotatedDataset,
    OutOfFrame,
    box_areas,
    check_map_size,
    order_labels,
    require,
)
from wsol.data.image_io import read_map
from wsol.data.sample import Sample
from wsol.errors import DataError, did_you_mean

VOC_CLASSES = (
    "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
    "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train",
    "tvmonitor",
)  # fmt: skip
VOID_INDEX = 255


@dataclass
class _Record:
    image_id: str
    xml: Path
    size: tuple[int, int] | None = None
    boxes: np.ndarray | None = None
    labels: list[int] | None = None


@DATASETS.register("voc")
class VOCDataset(AnnotatedDataset):
    """PASCAL VOC XML annotations.

    Args:
        root: the ``VOC2007`` / ``VOC2012`` folder.
        split: a list in ``ImageSets/Main`` (``ImageSets/Segmentation`` with ``masks``).
        classes: class names (default ``VOC_CLASSES``).
        use_difficult: keep objects marked difficult.
        masks: read ``SegmentationClass`` masks.
        skip_bad_samples, out_of_frame: bad-input policy (see ``_base``).
    """

    def __init__(
        self,
        root: str,
        split: str,
        classes: list[str] | None = None,
        use_difficult: bool = False,
        masks: bool = False,
        skip_bad_samples: bool = False,
        out_of_frame: OutOfFrame = "error",
    ) -> None:
        super().__init__(f"voc/{split}", skip_bad_samples, out_of_frame)
        self.root = require(root, "dataset root")
        listing = require(
            self.root / "ImageSets" / ("Segmentation" if masks else "Main") / f"{split}.txt", "split list"
        )
        self.class_names = list(classes or VOC_CLASSES)
        self.use_difficult = use_difficult
        self.masks = masks
        ids = [line.split()[0] for line in listing.read_text().splitlines() if line.strip()]
        records = [_Record(i, self.root / "Annotations" / f"{i}.xml") for i in ids]
        self.records = self.keep_valid(records, self._parse)
        self.image_ids = [r.image_id for r in self.records]
        self.ground_truth = frozenset({"boxes", "masks"} if masks else {"boxes"})
        self.log_summary()

    def _parse(self, record: _Record) -> None:
        require(record.xml, "annotation file")
        try:
            tree = ET.parse(record.xml).getroot()
            record.size = (int(tree.findtext("size/width")), int(tree.findtext("size/height")))
            objects = [self._object(obj, record.xml) for obj in tree.iter("object")]
        except ET.ParseError as err:
            raise DataError(f"annotation file {record.xml} is not valid XML: {err}") from None
        except (TypeError, ValueError, AttributeError) as err:
            raise DataError(f"{record.xml}: missing or non-numeric size or bndbox ({err})") from None
        kept = [(cls, box) for cls, box, difficult in objects if self.use_difficult or not difficult]
        if not kept:
            raise DataError(f"{record.xml}: no (non-difficult) object")
        boxes = np.array([box for _, box in kept], dtype=np.float64)
        record.labels = order_labels([cls for cls, _ in kept], box_areas(boxes))
        record.boxes = self.fit_boxes(boxes, record.size, str(record.xml))
        require(self.image_path_of(record.image_id), "image")
        if self.masks:
            require(self.mask_path_of(record.image_id), "mask")

    def _object(self, obj: ET.Element, xml: Path) -> tuple[int, list[float], bool]:
        name = (obj.findtext("name") or "").strip()
        if name not in self.class_names:
            raise DataError(f"{xml}: unknown class {name!r}{did_you_mean(name, self.class_names)}")
        box = obj.find("bndbox")
        coords = [float(box.findtext(k)) - 1 for k in ("xmin", "ymin", "xmax", "ymax")]  # 1-based -> 0-based
        difficult = (obj.findtext("difficult") or "0").strip() == "1"
        return self.class_names.index(name), coords, difficult

    def image_path_of(self, image_id: str) -> Path:
        return self.root / "JPEGImages" / f"{image_id}.jpg"

    def mask_path_of(self, image_id: str) -> Path:
        return self.root / "SegmentationClass" / f"{image_id}.png"

    def image_path(self, index: int) -> Path:
        return self.image_path_of(self.image_ids[index])

    def annotated_size(self, index: int) -> tuple[int, int]:
        return self.records[index].size

    def make_sample(self, index: int, image: np.ndarray | None, size: tuple[int, int]) -> Sample:
        record = self.records[index]
        sample = Sample(
            record.image_id,
            image,
            record.labels[0],
            size=size,
            labels=list(record.labels),
            boxes=record.boxes.copy(),
        )
        if self.masks:
            path = self.mask_path_of(record.image_id)
            labels = check_map_size(read_map(path), size, path, record.image_id)
            sample.mask = ((labels > 0) & (labels < VOID_INDEX)).astype(np.uint8)
            sample.ignore = labels == VOID_INDEX
        return sample
