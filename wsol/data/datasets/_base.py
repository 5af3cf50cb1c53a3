"""What every file-based format shares: bad-input policy, geometry checks, logging.

Bad input never yields a silently wrong sample. By default every problem raises a
one-line :class:`DataError` naming the file or image id. Two options relax that:

* ``skip_bad_samples=True``: a sample that cannot be used at all (image or annotation
  file missing, image undecodable, no usable annotation) is skipped, counted and
  logged. Problems found when the dataset is built remove the sample from
  ``image_ids``; an image that fails to decode while training makes ``dataset[i]``
  return ``None``, which :func:`wsol.data.collate.collate_samples` drops and counts
  in the batch's ``num_skipped`` (``dataset.problems`` counts per process, so skips
  in DataLoader workers reach the main process only through ``num_skipped``).
* A box end one past the last pixel (``x1 == W``, the common off-by-one) is clipped
  and counted whatever the options (:mod:`wsol.data.boxes`).
* ``out_of_frame``: boxes or points outside the image are an error (``"error"``,
  default), clipped into it (``"clip"``) or removed from the sample (``"drop"``), each
  fix counted and logged. Excess below ``FRAME_TOLERANCE`` pixels (float noise in
  annotation files) is clipped quietly.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Literal, TypeVar, get_args

import numpy as np

from wsol.data.boxes import TOLERANCE as FRAME_TOLERANCE
from wsol.data.boxes import clip_box_ends
from wsol.data.dataset import WSOLDataset
from wsol.data.image_io import read_image, read_image_size
from wsol.data.sample import Sample
from wsol.errors import DataError, check_choice

log = logging.getLogger("wsol.data")

OutOfFrame = Literal["error", "clip", "drop"]
OUT_OF_FRAME_POLICIES = get_args(OutOfFrame)
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
_LOGGED_PER_KIND = 10

R = TypeVar("R")


def require(path: str | os.PathLike, what: str) -> Path:
    """``path`` as a Path, or :class:`DataError` naming it (``what``: "image", "annotation file")."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{what} not found: {path}")
    return path


class ProblemLog:
    """Counts fixed or skipped problems by kind and logs the first few of each."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.counts: Counter[str] = Counter()

    def add(self, kind: str, message: str) -> None:
        self.counts[kind] += 1
        n = self.counts[kind]
        if n <= _LOGGED_PER_KIND:
            log.warning("%s: %s: %s", self.name, kind, message)
        if n == _LOGGED_PER_KIND:
            log.warning("%s: further '%s' problems are counted, not logged", self.name, kind)

    def summary(self) -> str:
        return ", ".join(f"{kind}: {n}" for kind, n in sorted(self.counts.items()))


class AnnotatedDataset(WSOLDataset):
    """Base of wsol's file formats: bad-input policy, GT-only loading, ``None`` for skipped images.

    Subclasses fill ``image_ids`` and ``class_names``, implement :meth:`image_path` and
    :meth:`make_sample`, and may override :meth:`annotated_size`.
    """

    def __init__(self, name: str, skip_bad_samples: bool = False, out_of_frame: OutOfFrame = "error") -> None:
        check_choice(out_of_frame, OUT_OF_FRAME_POLICIES, "data.dataset.out_of_frame")
        self.skip_bad_samples = skip_bad_samples
        self.out_of_frame = out_of_frame
        self.problems = ProblemLog(name)

    # -- what subclasses provide ------------------------------------------------------
    def image_path(self, index: int) -> Path:  # pragma: no cover - abstract
        raise NotImplementedError

    def annotated_size(self, index: int) -> tuple[int, int] | None:
        """``(width, height)`` the annotations were made on, if the format records it."""
        return None

    def make_sample(self, index: int, image: np.ndarray | None, size: tuple[int, int]) -> Sample:
        """The sample with ground truth in original pixels; ``image`` is None for GT-only."""
        raise NotImplementedError  # pragma: no cover - abstract

    # -- shared behaviour ---------------------------------------------------------------
    def load_sample(self, index: int) -> Sample:
        image = read_image(self.image_path(index), expected_size=self.annotated_size(index))
        return self.make_sample(index, image, (image.shape[1], image.shape[0]))

    def load_target(self, index: int) -> Sample:
        size = self.annotated_size(index) or read_image_size(self.image_path(index))
        return self.make_sample(index, None, size)

    def __getitem__(self, index: int) -> dict[str, Any] | None:
        try:
            return super().__getitem__(index)
        except DataError as err:
            if not self.skip_bad_samples:
                raise
            self.problems.add("skipped sample", str(err))
            return None

    def keep_valid(self, records: Iterable[R], check: Callable[[R], None]) -> list[R]:
        """Records for which ``check`` raises no :class:`DataError` (others skipped or raised)."""
        kept = []
        for record in records:
            try:
                check(record)
            except DataError as err:
                if not self.skip_bad_samples:
                    raise DataError(f"{err} (set skip_bad_samples to skip such samples)") from None
                self.problems.add("skipped sample", str(err))
                continue
            kept.append(record)
        return kept

    def log_summary(self) -> None:
        if self.problems.counts:
            name, kept = self.problems.name, len(self.image_ids)
            log.warning("%s: %d samples kept; %s", name, kept, self.problems.summary())

    def fit_boxes(self, boxes: np.ndarray, size: tuple[int, int], where: str) -> np.ndarray:
        """Inclusive ``(N, 4)`` boxes checked against ``size`` under the ``out_of_frame`` policy.

        An end one past the last pixel (``x1 == W``) is clipped and counted under any
        policy (:mod:`wsol.data.boxes`). ``"clip"`` clips boxes into the frame and removes
        those with no pixel inside it.
        """
        boxes, clipped = clip_box_ends(boxes, size)
        if clipped:
            self.problems.add("box end at the image size (clipped)", f"{where}: {clipped} boxes")
        width, height = size
        upper = np.array([width - 1, height - 1, width - 1, height - 1], dtype=np.float64)
        if np.any(boxes[:, :2] > boxes[:, 2:]):
            raise DataError(f"{where}: box with x1 < x0 or y1 < y0: {boxes.tolist()}")
        outside = np.any((boxes < -FRAME_TOLERANCE) | (boxes > upper + FRAME_TOLERANCE), axis=1)
        if outside.any():
            self._report(f"{where}: box outside the {width}x{height} image: {boxes[outside].tolist()}", "box")
            overlaps = np.all(boxes[:, :2] <= upper[:2], axis=1) & np.all(boxes[:, 2:] >= 0, axis=1)
            boxes = boxes[~outside] if self.out_of_frame == "drop" else boxes[overlaps]
        return np.clip(boxes, 0, upper)

    def fit_points(self, points: np.ndarray, size: tuple[int, int], where: str) -> np.ndarray:
        """``(M, 2)`` 0-based ``(x, y)`` points checked against ``size`` under ``out_of_frame``."""
        points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        upper = np.array([size[0] - 1, size[1] - 1], dtype=np.float64)
        outside = np.any((points < -FRAME_TOLERANCE) | (points > upper + FRAME_TOLERANCE), axis=1)
        if outside.any():
            count = int(outside.sum())
            self._report(f"{where}: {count} points outside the {size[0]}x{size[1]} image", "point")
            if self.out_of_frame == "drop":
                points = points[~outside]
        return np.clip(points, 0, upper)

    def _report(self, message: str, what: str) -> None:
        if self.out_of_frame == "error":
            raise DataError(f"{message} (set out_of_frame to 'clip' or 'drop' to fix such annotations)")
        self.problems.add(f"{what} outside image ({self.out_of_frame}ped)", message)


class RecordDataset(AnnotatedDataset):
    """An :class:`AnnotatedDataset` whose ``records[index]`` carry ``path`` (the image file)
    and ``size`` (``(width, height)`` the annotations were made on)."""

    records: list[Any]

    def image_path(self, index: int) -> Path:
        return self.records[index].path

    def annotated_size(self, index: int) -> tuple[int, int]:
        return self.records[index].size


def order_labels(classes: Iterable[int], areas: Iterable[float]) -> list[int]:
    """Distinct classes, the one with the largest total object area first (ties: lower index)."""
    total: dict[int, float] = {}
    for cls, area in zip(classes, areas, strict=True):
        total[int(cls)] = total.get(int(cls), 0.0) + float(area)
    return sorted(total, key=lambda c: (-total[c], c))


def box_areas(boxes: np.ndarray) -> np.ndarray:
    """Pixel areas of inclusive boxes."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    return (boxes[:, 2] - boxes[:, 0] + 1) * (boxes[:, 3] - boxes[:, 1] + 1)


def read_split_list(root: Path, split: str, names: list[str]) -> list[str]:
    """``names`` for split ``"all"``, else the names listed in ``root/<split>.txt`` (one per line)."""
    if split == "all":
        return names
    listing = root / f"{split}.txt"
    if not listing.is_file():
        raise DataError(f"split {split!r} needs a list file {listing} (or use split 'all')")
    wanted = [line.strip() for line in listing.read_text().splitlines() if line.strip()]
    known = {Path(n).stem: n for n in names} | {n: n for n in names}
    missing = [w for w in wanted if w not in known]
    if missing:
        raise DataError(f"{listing}: {len(missing)} listed images not in the dataset, first {missing[0]!r}")
    return [known[w] for w in wanted]


def list_images(folder: Path) -> list[str]:
    """Sorted names of the image files directly inside ``folder``."""
    return sorted(p.name for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)


def check_map_size(array: np.ndarray, size: tuple[int, int], path: Path, image: str) -> np.ndarray:
    """``array`` if it is ``size`` (width, height), else DataError naming both files."""
    if array.shape[:2] != (size[1], size[0]):
        raise DataError(
            f"{path} is {array.shape[1]}x{array.shape[0]} but image {image} is {size[0]}x{size[1]}"
        )
    return array


def points_of(binary: np.ndarray) -> np.ndarray:
    """0-based ``(x, y)`` of the nonzero pixels of a binary fixation map, row-major order."""
    rows, cols = np.nonzero(binary)
    return np.stack([cols, rows], axis=1).astype(np.float64)
