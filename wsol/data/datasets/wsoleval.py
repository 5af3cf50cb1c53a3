"""Datasets in the clovaai/wsolevaluation metadata layout (CUB, ILSVRC, OpenImages, SynthParts).

The files and their formats are described in :mod:`wsol.data.wsoleval_layout`. wsol's split
names map onto wsolevaluation's folders one to one: ``train`` (image labels only),
``val`` (wsolevaluation's *train-fullsup*, for thresholds and hyper-parameters) and
``test``.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from wsol.data.boxes import box_problem, clip_box_ends
from wsol.data.dataset import WSOLDataset, keep_fields
from wsol.data.datasets import DATASETS
from wsol.data.datasets._base import ProblemLog
from wsol.data.image_io import read_image
from wsol.data.sample import Sample
from wsol.data.wsoleval_layout import LOCALIZATION, ImageRecord, read_class_names, read_split_metadata
from wsol.errors import ConfigError, DataError

MASK_RESIZE = ("direct", "image")
_EXIF_ORIENTATION = 0x0112
_TRANSPOSED_ORIENTATIONS = (5, 6, 7, 8)


@DATASETS.register("wsoleval")
class WSOLEvalDataset(WSOLDataset):
    """One split of a dataset in the wsolevaluation layout.

    Args:
        root: dataset folder; relative ``image_root``, ``metadata_root`` and ``mask_root``
            are resolved against it.
        split: ``train``, ``val`` or ``test``: the metadata sub-folder to read.
        image_root: folder the image ids are relative to (default ``root``; in
            wsolevaluation ``dataset/<DATASET>``).
        metadata_root: folder holding one metadata folder per split (default
            ``<root>/metadata``; in wsolevaluation ``metadata/<DATASET>``).
        mask_root: folder the mask paths are relative to (default ``image_root``).
        num_classes: number of classes when ``<metadata_root>/class_names.txt`` is absent
            (default: the split's largest label + 1).
        mask_resize: how evaluation ground truth (:meth:`load_target`) treats masks whose
            resolution differs from the image's. ``"direct"`` (default, as wsolevaluation's
            ``get_mask``): masks stay at their own resolution, so the metric resizes them
            straight to the evaluation grid; ``"image"``: they are first resized to the
            image size (nearest neighbour), then to the grid.

    The ignore region is the ignore mask minus the union of the instance masks, as in
    wsolevaluation. With ``"direct"``, an image whose mask files differ in resolution has
    them resized (nearest) to its first instance mask's resolution before the union
    (wsolevaluation resizes each to 224 x 224 first; the two agree when the files share a
    resolution). Training samples (:meth:`load_sample`) always get image-sized masks.

    Sizes: ``image_sizes.txt`` may be absent or empty (OpenImages); the size is then read
    from the image's header, or, for an image with masks whose file is not there (scoring
    saved maps), taken from its first mask: mask metrics do not depend on it.
    Boxes are checked against the image size under :mod:`wsol.data.boxes`' policy: an end
    one past the last pixel (``x1 == W``) is clipped to ``W - 1`` and counted in
    ``problems``; any other box outside the image is a :class:`DataError` naming the
    image and its ``localization.txt`` line.
    """

    def __init__(
        self,
        root: str,
        split: str,
        image_root: str | None = None,
        metadata_root: str | None = None,
        mask_root: str | None = None,
        num_classes: int | None = None,
        mask_resize: str = "direct",
    ) -> None:
        if mask_resize not in MASK_RESIZE:
            raise ConfigError(f"data.dataset.mask_resize: {mask_resize!r} is not one of {MASK_RESIZE}")
        self.mask_resize = mask_resize
        base = Path(root)
        self.image_root = base / (image_root or "")
        self.mask_root = base / mask_root if mask_root else self.image_root
        metadata = base / (metadata_root or "metadata")
        folder = metadata / split
        if not folder.is_dir():
            known = sorted(p.name for p in metadata.iterdir() if p.is_dir()) if metadata.is_dir() else []
            raise DataError(f"no wsoleval metadata for split {split!r}: {folder} not found (found: {known})")
        parsed = read_split_metadata(folder)
        self.split = split
        self.records: list[ImageRecord] = parsed.records
        self.image_ids = [r.image_id for r in self.records]
        self.ground_truth = parsed.ground_truth
        self.class_names = self._class_names(metadata, num_classes)
        self.problems = ProblemLog(f"wsoleval/{split}")

    def _class_names(self, metadata: Path, num_classes: int | None) -> list[str]:
        names = read_class_names(metadata)
        if names is None:
            count = num_classes or 1 + max((r.label for r in self.records), default=0)
            names = [str(k) for k in range(count)]
        top = max((r.label for r in self.records), default=-1)
        if top >= len(names):
            raise DataError(f"{metadata}: class label {top} but only {len(names)} classes")
        return names

    def image_path(self, index: int) -> Path:
        return self.image_root / self.records[index].image_id

    def load_sample(self, index: int) -> Sample:
        return self.load_fields(index, None)

    def load_fields(self, index: int, fields: frozenset[str] | None) -> Sample:
        """The image and the ground truth in ``fields`` (None: all); other masks are not read."""
        record = self.records[index]
        image = read_image(self.image_path(index))
        size = (image.shape[1], image.shape[0])
        if record.size is not None and record.size != size:
            raise DataError(
                f"image {record.image_id!r} is {size[0]}x{size[1]} but image_sizes.txt says "
                f"{record.size[0]}x{record.size[1]}"
            )
        return self._target(record, image, size, fields)

    def load_target(self, index: int) -> Sample:
        record = self.records[index]
        size = record.size or self._size_without_metadata(record)
        return self._target(record, None, size, None, native_masks=self.mask_resize == "direct")

    def _size_without_metadata(self, record: ImageRecord) -> tuple[int, int]:
        path = self.image_root / record.image_id
        if record.mask_paths and not path.is_file():
            first = self._mask(record.mask_paths[0], record.image_id, None)
            return first.shape[1], first.shape[0]
        return _header_size(path)

    def check_target(self, index: int) -> Sample:
        """:meth:`load_target` with the mask files' headers read instead of their pixels."""
        record = self.records[index]
        size = record.size or self._size_without_metadata(record)
        for relative in [*record.mask_paths, record.ignore_path, *record.part_paths.values()]:
            if relative:
                _mask_header(self.mask_root / relative, record.image_id)
        sample = Sample(image_id=record.image_id, image=None, label=record.label, size=size)
        if record.boxes:
            sample.boxes = self._boxes(record, size)
        if record.fixations:
            sample.fixations = _fixations(record, size)
        return sample

    def _target(
        self,
        record: ImageRecord,
        image: np.ndarray | None,
        size: tuple[int, int],
        fields: frozenset[str] | None,
        native_masks: bool = False,
    ) -> Sample:
        sample = Sample(image_id=record.image_id, image=image, label=record.label, size=size)
        if record.boxes:
            sample.boxes = self._boxes(record, size)
        if record.mask_paths and _wanted("masks", fields):
            first = self._mask(record.mask_paths[0], record.image_id, None if native_masks else size)
            grid = (first.shape[1], first.shape[0])
            masks = [first] + [self._mask(p, record.image_id, grid) for p in record.mask_paths[1:]]
            union = np.logical_or.reduce(masks)
            sample.mask = union.astype(np.uint8)
            if record.ignore_path:
                sample.ignore = self._mask(record.ignore_path, record.image_id, grid) & ~union
        if _wanted("parts", fields):
            sample.part_masks = {
                name: self._mask(path, record.image_id, size).astype(np.uint8)
                for name, path in record.part_paths.items()
            }
        if record.fixations and _wanted("fixations", fields):
            sample.fixations = _fixations(record, size)
        return keep_fields(sample, fields)

    def _boxes(self, record: ImageRecord, size: tuple[int, int]) -> np.ndarray:
        boxes, clipped = clip_box_ends(np.asarray(record.boxes), size)
        if clipped:
            self.problems.add("box end at the image size (clipped)", f"image {record.image_id!r}")
        for box, where in zip(boxes, record.box_lines or [LOCALIZATION] * len(boxes), strict=True):
            problem = box_problem(box, size)
            if problem:
                raise DataError(f"{where}: image {record.image_id!r}: {problem}")
        return boxes

    def _mask(self, relative: str, image_id: str, size: tuple[int, int] | None) -> np.ndarray:
        """Binary ``(H, W)`` bool mask (nonzero pixels) resized to ``size`` (if given) if needed."""
        path = self.mask_root / relative
        if not path.is_file():
            raise DataError(f"mask file not found: {path} (image {image_id!r})")
        mask = cv2.imread(os.fspath(path), cv2.IMREAD_GRAYSCALE)
        if mask is None:
            raise DataError(f"cannot decode mask {path} (image {image_id!r})")
        if size is not None and (mask.shape[1], mask.shape[0]) != size:
            mask = cv2.resize(mask, size, interpolation=cv2.INTER_NEAREST)
        return mask > 0


def _wanted(kind: str, fields: frozenset[str] | None) -> bool:
    return fields is None or kind in fields


def _fixations(record: ImageRecord, size: tuple[int, int]) -> np.ndarray:
    points = np.asarray([(x, y) for x, y, _ in record.fixations], dtype=np.float64)
    width, height = size
    inside = (
        (points[:, 0] >= 0) & (points[:, 0] <= width - 1) & (points[:, 1] >= 0) & (points[:, 1] <= height - 1)
    )
    if not inside.all():
        x, y = points[np.argmin(inside)]
        raise DataError(
            f"fixation ({x:g}, {y:g}) of image {record.image_id!r} lies outside its {width}x{height} pixels"
        )
    return points


def _mask_header(path: Path, image_id: str) -> None:
    """A :class:`DataError` unless ``path`` is an image whose header reads."""
    try:
        with Image.open(path):
            pass
    except FileNotFoundError:
        raise DataError(f"mask file not found: {path} (image {image_id!r})") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
        raise DataError(f"cannot decode mask {path} (image {image_id!r}): {err}") from None


def _header_size(path: Path) -> tuple[int, int]:
    """``(width, height)`` after EXIF orientation, read from the header without decoding."""
    try:
        with Image.open(path) as img:
            width, height = img.size
            if img.getexif().get(_EXIF_ORIENTATION) in _TRANSPOSED_ORIENTATIONS:
                width, height = height, width
    except FileNotFoundError:
        raise DataError(f"image file not found: {path}") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
        raise DataError(f"cannot read the header of image {path}: {err}") from None
    return width, height
