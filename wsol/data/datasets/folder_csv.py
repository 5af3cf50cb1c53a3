"""A user's own data: an image folder plus one CSV file.

Layout::

    <root>/images/...                 # any sub-folders
    <root>/annotations.csv
    <root>/classes.txt                # optional: class names, one per line, in index order

``annotations.csv`` has a header row and one row per object (or per image):

=============== ========================================================================
column          meaning
=============== ========================================================================
``image``       path relative to ``images/`` (required)
``label``       class name, or class index when every label is an integer (required)
``x0,y0,x1,y1`` optional box: 0-based pixels with inclusive ends (wsol's convention);
                all four or none, per column set and per row
``mask``        optional mask path relative to ``<root>`` (nonzero = object); the masks
                of an image's rows are united
``split``       optional; rows whose value equals the requested split are used. Without
                this column only split ``"all"`` exists
=============== ========================================================================

Rows of the same image are merged: its boxes are all the rows' boxes, ``labels`` the
rows' classes in order of first appearance, ``label`` the first. Classes: ``classes.txt``
when present (labels must be in it), else integer labels as indices (names ``"0"``,
``"1"``, ...), else the sorted distinct names. Boxes are checked against the image size
when the image is read (the CSV does not record sizes).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from wsol.data.datasets import DATASETS
from wsol.data.datasets._base import AnnotatedDataset, OutOfFrame, check_map_size, require
from wsol.data.image_io import read_map
from wsol.data.sample import Sample
from wsol.errors import DataError, did_you_mean

BOX_COLUMNS = ("x0", "y0", "x1", "y1")


@dataclass
class _Record:
    image: str
    labels: list[str] = field(default_factory=list)
    boxes: list[list[float]] = field(default_factory=list)
    masks: list[str] = field(default_factory=list)


@DATASETS.register("folder_csv")
class FolderCSVDataset(AnnotatedDataset):
    """Images in ``<root>/images`` annotated by ``<root>/annotations.csv``.

    Args:
        root: dataset folder.
        split: a value of the ``split`` column, or ``"all"``.
        annotation_file: CSV path (default ``<root>/annotations.csv``).
        image_dir: image folder (default ``<root>/images``).
        skip_bad_samples, out_of_frame: bad-input policy (see ``_base``).
    """

    def __init__(
        self,
        root: str,
        split: str,
        annotation_file: str | None = None,
        image_dir: str | None = None,
        skip_bad_samples: bool = False,
        out_of_frame: OutOfFrame = "error",
    ) -> None:
        super().__init__(f"folder_csv/{split}", skip_bad_samples, out_of_frame)
        self.root = require(root, "dataset root")
        self.csv_path = require(annotation_file or self.root / "annotations.csv", "annotation file")
        self.image_dir = require(image_dir or self.root / "images", "image folder")
        columns, rows = self._read_rows(split)
        records = _merge_rows(rows, self.csv_path)
        self.class_names = self._class_names(records)
        self.records = self.keep_valid(records, self._check)
        self.image_ids = [r.image for r in self.records]
        kinds = {"boxes": set(BOX_COLUMNS) <= columns, "masks": "mask" in columns}
        self.ground_truth = frozenset(kind for kind, present in kinds.items() if present)
        self.log_summary()

    def _read_rows(self, split: str) -> tuple[set[str], list[tuple[int, dict[str, str]]]]:
        try:
            with open(self.csv_path, newline="", encoding="utf-8-sig") as f:
                reader = csv.DictReader(f)
                columns = {c.strip() for c in reader.fieldnames or []}
                rows = [
                    (n, {k.strip(): (v or "").strip() for k, v in row.items() if k})
                    for n, row in enumerate(reader, start=2)
                ]
        except (UnicodeDecodeError, csv.Error) as err:
            raise DataError(f"cannot read {self.csv_path}: {err}") from None
        for needed in ("image", "label"):
            if needed not in columns:
                raise DataError(f"{self.csv_path}: missing column {needed!r}{did_you_mean(needed, columns)}")
        partial = set(BOX_COLUMNS) & columns
        if partial and partial != set(BOX_COLUMNS):
            raise DataError(f"{self.csv_path}: box columns need all of {BOX_COLUMNS}, got {sorted(partial)}")
        if "split" in columns:
            rows = [(n, r) for n, r in rows if split == "all" or r["split"] == split]
        elif split != "all":
            raise DataError(f"{self.csv_path} has no 'split' column; use split 'all'")
        if not rows:
            raise DataError(f"{self.csv_path}: no rows for split {split!r}")
        return columns, rows

    def _class_names(self, records: list[_Record]) -> list[str]:
        names = {label for r in records for label in r.labels}
        listing = self.root / "classes.txt"
        if listing.is_file():
            classes = [line.strip() for line in listing.read_text().splitlines() if line.strip()]
            unknown = sorted(names - set(classes))
            if unknown:
                raise DataError(f"{self.csv_path}: label {unknown[0]!r} is not in {listing}")
            return classes
        if all(n.isdigit() for n in names):
            return [str(i) for i in range(max(int(n) for n in names) + 1)]
        return sorted(names)

    def _check(self, record: _Record) -> None:
        require(self.image_dir / record.image, "image")
        for mask in record.masks:
            require(self.root / mask, "mask")

    def image_path(self, index: int) -> Path:
        return self.image_dir / self.records[index].image

    def make_sample(self, index: int, image: np.ndarray | None, size: tuple[int, int]) -> Sample:
        record = self.records[index]
        labels = [self.class_names.index(n) if n in self.class_names else int(n) for n in record.labels]
        where = f"{self.csv_path} image {record.image}"
        boxes = self.fit_boxes(np.array(record.boxes, dtype=np.float64).reshape(-1, 4), size, where)
        sample = Sample(record.image, image, labels[0], size=size, labels=labels, boxes=boxes)
        if record.masks:
            sample.mask = np.zeros((size[1], size[0]), dtype=np.uint8)
            for mask_path in record.masks:
                path = self.root / mask_path
                sample.mask |= (check_map_size(read_map(path), size, path, record.image) > 0).astype(np.uint8)
        return sample


def _merge_rows(rows: list[tuple[int, dict[str, str]]], csv_path: Path) -> list[_Record]:
    records: dict[str, _Record] = {}
    for line, row in rows:
        if not row["image"] or not row["label"]:
            raise DataError(f"{csv_path} line {line}: empty image or label")
        record = records.setdefault(row["image"], _Record(row["image"]))
        if row["label"] not in record.labels:
            record.labels.append(row["label"])
        cells = [row.get(c, "") for c in BOX_COLUMNS]
        if any(cells):
            try:
                record.boxes.append([float(c) for c in cells])
            except ValueError:
                raise DataError(f"{csv_path} line {line}: box needs four numbers, got {cells}") from None
        if row.get("mask"):
            record.masks.append(row["mask"])
    return list(records.values())
