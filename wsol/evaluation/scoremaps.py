"""Scores saved score maps against wsolevaluation metadata (``tools/eval_loc.py scoremaps``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from wsol.data.datasets import create_dataset, require_images
from wsol.errors import DataError
from wsol.metrics import METRICS
from wsol.metrics.scoremap import read_scoremap


def scoremap_path(root: Path, image_id: str) -> Path:
    """The saved map of ``image_id``: ``<root>/<image_id minus extension>.npy`` (wsolevaluation's
    README), else ``<root>/<image_id>.npy`` (the file its ``evaluation.py`` reads and its
    ``inference.py`` writes). A :class:`DataError` naming both files if neither exists."""
    candidates = (root / (str(Path(image_id).with_suffix("")) + ".npy"), root / f"{image_id}.npy")
    for path in candidates:
        if path.is_file():
            return path
    raise DataError(f"{image_id}: score map not found: {candidates[0]} or {candidates[1]}")


@dataclass
class ScoremapEval:
    """Saved maps in ``scoremaps``, scored on ``split`` of the metadata folder ``metadata``.

    Paths are relative to the current directory; ``mask_root`` is the folder the mask
    paths of ``localization.txt`` are under.
    """

    scoremaps: Path
    metadata: Path
    split: str = "test"
    mask_root: Path | None = None
    interval: float = 0.01  # cam_curve_interval
    iou_thresholds: tuple[int, ...] = (30, 50, 70)
    resolution: int = 224
    progress: bool = True


def evaluate_scoremaps(job: ScoremapEval) -> dict[str, Any]:
    """Score saved maps like wsolevaluation's ``evaluation.py``.

    Maps are read as given (``input_maps="prepared"``): ``resolution`` x ``resolution``
    arrays in [0, 1], one per image id. The metadata folder holds ``<split>/image_ids.txt``,
    ``class_labels.txt``, ``image_sizes.txt`` and ``localization.txt`` (boxes, or
    ``mask,ignore`` lines resolved against ``mask_root``).
    """
    metadata = str(Path(job.metadata).resolve())  # relative to the current directory, not the dataset root
    spec = {"name": "wsoleval", "root": metadata, "metadata_root": metadata}
    if job.mask_root is not None:
        spec["mask_root"] = str(Path(job.mask_root).resolve())
    dataset = require_images(create_dataset(spec, job.split), spec, job.split)
    options = {
        "cam_curve_interval": job.interval,
        "resolution": job.resolution,
        "input_maps": "prepared",
        "iou_thresholds": list(job.iou_thresholds),
    }
    metrics = [
        METRICS.build(n, **options)
        for n in ("maxboxacc", "pxap")
        if METRICS.get(n).requires <= dataset.ground_truth
    ]
    for index in tqdm(range(len(dataset)), desc=job.split, disable=not job.progress, dynamic_ncols=True):
        target = dataset.load_target(index)
        scoremap = read_scoremap(scoremap_path(job.scoremaps, target.image_id))  # bad files: one line
        for metric in metrics:
            metric.update([scoremap], [target])
    results: dict[str, Any] = {"num_images": len(dataset)}
    for metric in metrics:
        results.update(metric.compute())
    return results
