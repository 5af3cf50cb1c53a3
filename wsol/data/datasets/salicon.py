"""SALICON (Jiang et al., CVPR 2015): COCO images with crowd-sourced *mouse-tracking* "fixations".

SALICON's points are not eye fixations: they are mouse positions recorded while
Amazon Mechanical Turk workers moved a foveation window over a blurred image. They
correlate well with eye fixations but are denser and noisier; report them as such.

Layout (the 2015 release, read with pycocotools like the official salicon-api)::

    <root>/images/<split>/COCO_<split>2014_*.jpg
    <root>/annotations/fixations_<split>2014.json
    <root>/maps/<split>/<image stem>.png         # optional continuous fixation maps

The JSON is COCO-style with ``"type": "fixations"``: ``images`` (``id``, ``file_name``,
``width``, ``height``) and one annotation per worker and image whose ``fixations`` is a
list of **1-based ``[row, col]``** pixel positions. wsol merges all workers' points of
an image into ``fixations`` as 0-based ``(x, y) = (col - 1, row - 1)``. Class labels do
not exist: every image has label 0 of the single class ``"image"``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from wsol.data.datasets import DATASETS
from wsol.data.datasets._base import OutOfFrame, RecordDataset, check_map_size, require
from wsol.data.datasets.coco import load_coco
from wsol.data.image_io import read_map
from wsol.data.sample import Sample
from wsol.errors import DataError

FIXATION_CLASS = "image"


@dataclass
class _Record:
    image_id: int
    path: Path
    size: tuple[int, int]
    points: np.ndarray


@DATASETS.register("salicon")
class SALICONDataset(RecordDataset):
    """SALICON mouse-tracking points (and, when present, its continuous maps).

    Args:
        root: dataset folder.
        split: ``train`` or ``val`` (the test split has no public annotations).
        annotation_file: JSON path (default ``<root>/annotations/fixations_<split>2014.json``).
        skip_bad_samples, out_of_frame: bad-input policy (see ``_base``).
    """

    def __init__(
        self,
        root: str,
        split: str,
        annotation_file: str | None = None,
        skip_bad_samples: bool = False,
        out_of_frame: OutOfFrame = "error",
    ) -> None:
        super().__init__(f"salicon/{split}", skip_bad_samples, out_of_frame)
        self.root = require(root, "dataset root")
        ann_path = require(
            annotation_file or self.root / "annotations" / f"fixations_{split}2014.json", "annotation file"
        )
        self.image_dir = require(self.root / "images" / split, "image folder")
        self.map_dir = self.root / "maps" / split
        coco = load_coco(ann_path)
        if coco.dataset.get("type") != "fixations":
            raise DataError(f"{ann_path}: not a SALICON fixation file (its 'type' is not 'fixations')")
        records = [self._record(coco, img_id, ann_path) for img_id in sorted(coco.imgs)]
        self.records = self.keep_valid(records, self._check)
        self.image_ids = [str(r.image_id) for r in self.records]
        self.class_names = [FIXATION_CLASS]
        self.ground_truth = frozenset({"fixations"})
        self.log_summary()

    def _record(self, coco, img_id: int, ann_path: Path) -> _Record:
        info = coco.imgs[img_id]
        try:
            rows_cols = [
                np.asarray(a["fixations"], dtype=np.float64).reshape(-1, 2)
                for a in coco.imgToAnns.get(img_id, [])
            ]
        except (KeyError, ValueError, TypeError) as err:
            raise DataError(f"{ann_path}: bad 'fixations' for image id {img_id} ({err})") from None
        rows_cols = np.concatenate(rows_cols) if rows_cols else np.zeros((0, 2))
        points = rows_cols[:, ::-1] - 1  # 1-based [row, col] -> 0-based (x, y)
        return _Record(
            img_id, self.image_dir / info["file_name"], (int(info["width"]), int(info["height"])), points
        )

    def _check(self, record: _Record) -> None:
        if len(record.points) == 0:
            raise DataError(f"{record.path}: no fixations (image id {record.image_id})")
        require(record.path, "image")
        record.points = self.fit_points(record.points, record.size, str(record.path))

    def make_sample(self, index: int, image: np.ndarray | None, size: tuple[int, int]) -> Sample:
        record = self.records[index]
        sample = Sample(self.image_ids[index], image, 0, size=size, fixations=record.points.copy())
        map_path = self.map_dir / f"{record.path.stem}.png"
        if map_path.is_file():
            sample.fixation_map = check_map_size(read_map(map_path), size, map_path, record.path.name) / 255.0
        return sample
