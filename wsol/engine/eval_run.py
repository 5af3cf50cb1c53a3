"""``tools/eval_loc.py``: score a checkpoint's maps, or saved score maps, and report."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np

from wsol.config import load_config, to_dict
from wsol.engine.checkpoint import load_checkpoint
from wsol.engine.reporting import evaluate_and_report
from wsol.engine.summary import format_summary
from wsol.engine.tracking import RunTracker
from wsol.methods import METHODS
from wsol.models import build_model
from wsol.utils.distributed import dist_info, init_distributed, select_device


def evaluate_checkpoint(
    checkpoint: Path,
    overrides: list[str],
    out_dir: Path | None = None,
    explainer: str | None = None,
    num_overlays: int = 16,
    progress: bool = True,
    baseline: str | None = None,
    cache: Path | None = None,
) -> dict[str, Any]:
    """Evaluate ``checkpoint`` on val and test; write metrics.json, per_image.csv and figures.

    ``baseline`` (``center``) replaces the maps by a baseline map (the model still
    classifies); outputs then go to ``eval_<baseline>`` by default.

    See :func:`wsol.engine.reporting.evaluate_and_report`; the results are also tracked
    as a W&B run of job type ``eval`` (offline unless configured otherwise). Under
    torchrun each rank evaluates a shard and all ranks return the merged numbers. With
    ``cache`` (a folder) every batch's contribution is kept there, so an evaluation that
    was killed continues where it stopped (:mod:`wsol.engine.eval_cache`).
    """
    state = load_checkpoint(checkpoint)
    cfg = load_config(None, overrides, base=state["config"])
    info = dist_info()
    init_distributed(info)
    device = select_device(cfg.device, info)
    # the weights come from the checkpoint
    backbone = dataclasses.replace(cfg.model.backbone, weights="none", checkpoint=None)
    model = build_model(dataclasses.replace(cfg.model, backbone=backbone), state["num_classes"])
    method = METHODS.build(cfg.method, key="method")
    method.setup(model)
    model.load_state_dict(state["model"])
    model.to(device)
    spec = {"name": explainer} if explainer else cfg.eval.explainer
    source = baseline or explainer
    out_dir = out_dir or checkpoint.parent.parent / (f"eval_{source}" if source else "eval")
    tracker = RunTracker(cfg, out_dir, job_type="eval", enabled=info.is_main)
    fingerprint = {"checkpoint": _file_identity(checkpoint), "config": to_dict(cfg), "explainer": spec}
    results = evaluate_and_report(
        cfg,
        model,
        method,
        device,
        info,
        out_dir,
        tracker,
        spec,
        num_overlays,
        progress,
        baseline,
        (cache, fingerprint) if cache is not None else None,
    )
    tracker.summary({k: v for k, v in results.items() if np.ndim(v) == 0})
    tracker.finish()
    if info.is_main:
        print(format_summary(cfg, results), flush=True)
    return results


def _file_identity(path: Path) -> str:
    """Path, size and modification time: changes when the checkpoint is rewritten."""
    stat = path.stat()
    return f"{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}"


def scoremap_path(root: Path, image_id: str) -> Path:
    """``<root>/<image_id minus extension>.npy`` (wsolevaluation), else ``<root>/<image_id>.npy``."""
    reference = root / (str(Path(image_id).with_suffix("")) + ".npy")
    return (
        reference
        if reference.exists() or not (root / f"{image_id}.npy").exists()
        else root / f"{image_id}.npy"
    )


def evaluate_scoremaps(
    scoremaps: Path,
    metadata: Path,
    split: str,
    mask_root: Path | None = None,
    interval: float = 0.01,
    iou_thresholds: tuple[int, ...] = (30, 50, 70),
    resolution: int = 224,
    progress: bool = True,
) -> dict[str, Any]:
    """Score saved maps like wsolevaluation's ``evaluation.py``.

    Maps are read as given (``input_maps="prepared"``): ``resolution`` x ``resolution``
    arrays in [0, 1], one per image id. The metadata folder holds ``<split>/image_ids.txt``,
    ``class_labels.txt``, ``image_sizes.txt`` and ``localization.txt`` (boxes, or
    ``mask,ignore`` lines resolved against ``mask_root``).
    """
    from tqdm import tqdm

    from wsol.data.datasets import create_dataset, require_images
    from wsol.errors import DataError
    from wsol.metrics import METRICS

    spec = {"name": "wsoleval", "root": str(metadata), "metadata_root": str(metadata)}
    if mask_root is not None:
        spec["mask_root"] = str(mask_root)
    dataset = require_images(create_dataset(spec, split), spec, split)
    options = {
        "cam_curve_interval": interval,
        "resolution": resolution,
        "input_maps": "prepared",
        "iou_thresholds": list(iou_thresholds),
    }
    metrics = [
        METRICS.build(n, **options)
        for n in ("maxboxacc", "pxap")
        if METRICS.get(n).requires <= dataset.ground_truth
    ]
    for index in tqdm(range(len(dataset)), desc=split, disable=not progress, dynamic_ncols=True):
        target = dataset.load_target(index)
        path = scoremap_path(scoremaps, target.image_id)
        if not path.is_file():
            raise DataError(f"{target.image_id}: score map not found: {path}")
        scoremap = np.load(path)
        for metric in metrics:
            metric.update([scoremap], [target])
    results: dict[str, Any] = {"num_images": len(dataset)}
    for metric in metrics:
        results.update(metric.compute())
    return results
