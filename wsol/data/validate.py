"""Check every split a run will read, in one pass, before the first training step.

``validate_splits(spec, ["train", "val", "test"])`` builds each split of the dataset
``spec`` and checks every image without decoding its pixels:

* the split's index and annotation files parse (labels, sizes, boxes, masks, points:
  the dataset's own checks, which name ``file:line``);
* the image file exists and its header decodes, with the size the annotations say;
* the class label is one of the dataset's classes;
* boxes follow the inclusive convention ``0 <= x0 <= x1 <= W - 1`` under the off-by-one
  policy of :mod:`wsol.data.boxes` (an end at ``x1 == W`` is clipped and counted);
* masks and part masks exist and their headers decode (``WSOLDataset.check_target``;
  datasets without such a method decode them, as evaluation does).

All problems are collected, not only the first: up to ``limit`` are logged one per
line (split, file or ``file:line``, image id), followed by how many more there are, and
one :class:`~wsol.errors.DataError` then summarises them. A run that would fail on its
test split after hours of training thus fails in seconds instead.

Where a dataset skips bad samples (``skip_bad_samples=True``), an image that fails is
counted as a sample the run will skip, not a problem.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import repeat
from typing import Any

from wsol.config.schema import RunConfig
from wsol.data.boxes import box_problem
from wsol.data.dataset import WSOLDataset
from wsol.data.datasets import create_dataset, require_images
from wsol.data.image_io import read_image_size
from wsol.errors import DataError

log = logging.getLogger("wsol.data")

MAX_SHOWN = 20
THREADS = min(8, os.cpu_count() or 1)


@dataclass
class ValidationReport:
    """What :func:`validate_splits` checked: images per split, and samples a
    ``skip_bad_samples`` dataset will skip (one message each)."""

    images: dict[str, int] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)


def validate_run(
    cfg: RunConfig, built: Mapping[str, WSOLDataset] | None = None, limit: int = MAX_SHOWN
) -> ValidationReport:
    """Check the train, val and test splits of a run config; splits in ``built`` (split
    name -> dataset the run already built) are checked as they are, the others built."""
    built = built or {}
    data = cfg.data
    splits = dict.fromkeys([data.train_split, data.val_split, data.test_split])
    datasets = {s: built[s] if s in built else _build(data.dataset, s) for s in splits}
    return validate_datasets(datasets, limit)


def validate_splits(
    spec: Mapping[str, Any] | str, splits: Iterable[str], limit: int = MAX_SHOWN
) -> ValidationReport:
    """Build and check every image of ``splits`` of the dataset ``spec``; raise one summary
    :class:`DataError` after logging up to ``limit`` problems (see the module docstring)."""
    return validate_datasets({split: _build(spec, split) for split in dict.fromkeys(splits)}, limit)


def _build(spec: Mapping[str, Any] | str, split: str) -> WSOLDataset | DataError:
    try:
        return require_images(create_dataset(spec, split), spec, split)
    except DataError as err:
        return err


def validate_datasets(
    datasets: Mapping[str, WSOLDataset | DataError], limit: int = MAX_SHOWN
) -> ValidationReport:
    """:func:`validate_splits` for splits already built (a :class:`DataError` in place of a
    dataset is the problem that building it raised), e.g. the ones a run trains on."""
    report = ValidationReport()
    problems: list[str] = []
    for split, dataset in datasets.items():
        if isinstance(dataset, DataError):
            problems.append(f"split {split!r}: {dataset}")
            continue
        report.images[split] = len(dataset)
        skips = bool(getattr(dataset, "skip_bad_samples", False))
        for message in _split_problems(dataset):
            (report.skipped if skips else problems).append(f"split {split!r}: {message}")
    if report.skipped:
        log.warning("data validation: %d samples will be skipped as unreadable", len(report.skipped))
    if problems:
        _log_problems(problems, limit)
        listed = f" ({min(limit, len(problems))} listed above)" if len(problems) > 1 else ""
        raise DataError(f"data validation found {len(problems)} problem(s){listed}; first: {problems[0]}")
    return report


def _split_problems(dataset: WSOLDataset) -> Iterator[str]:
    """Problems of the split's images in index order; images are checked in threads
    (header and mask reads release the GIL)."""
    with ThreadPoolExecutor(THREADS) as pool:
        for problem in pool.map(_problem, repeat(dataset), range(len(dataset)), chunksize=64):
            if problem:
                yield problem


def _problem(dataset: WSOLDataset, index: int) -> str | None:
    try:
        check_image(dataset, index)
    except DataError as err:
        return str(err)
    return None


def check_image(dataset: WSOLDataset, index: int) -> None:
    """Raise the first problem of image ``index`` (header, size, label, boxes, masks)."""
    target = dataset.check_target(index)
    path = dataset.image_path(index)
    if path is not None:
        stored = read_image_size(path, exif=False)  # PNG's EXIF would need the pixels decoded
        if tuple(target.size) != stored and tuple(target.size) != (header := read_image_size(path)):
            raise DataError(
                f"image {path} is {header[0]}x{header[1]} but its annotation says "
                f"{target.size[0]}x{target.size[1]}"
            )
    labels = target.labels or [target.label]
    bad = [label for label in labels if not 0 <= label < dataset.num_classes]
    if bad:
        raise DataError(f"image {target.image_id!r}: class {bad[0]} is not in 0..{dataset.num_classes - 1}")
    problem = box_problem(target.boxes, target.size)
    if problem:
        raise DataError(f"image {target.image_id!r}: {problem}")


def _log_problems(problems: list[str], limit: int) -> None:
    for message in problems[:limit]:
        log.error("data validation: %s", message)
    if len(problems) > limit:
        log.error("data validation: ... and %d more problems", len(problems) - limit)
