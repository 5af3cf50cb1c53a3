"""The final evaluation of a model on val and test, and everything it writes.

Used at the end of training (:func:`wsol.engine.training.run_training`) and by
``tools/eval_loc.py``. Into the evaluation folder (``<run>/eval`` by default) go

* ``metrics.json``: every number and curve of both splits (``val/...``, ``test/...``);
* ``per_image.csv``: per test image its label, predicted class and per-image metrics;
* the pictures of :func:`wsol.engine.figures.save_figures`;

and, when the run tracks to W&B, the same pictures as W&B media
(:mod:`wsol.engine.wandb_media`).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from wsol.config import RunConfig
from wsol.engine.figures import EvalReport, PanelCollector, display_threshold, save_figures
from wsol.engine.localization import CacheSpec, carry_threshold, evaluate_split, flat_results
from wsol.engine.tracking import RunTracker
from wsol.engine.wandb_media import log_evaluation
from wsol.methods.base import Method
from wsol.report import eval_files
from wsol.utils.atomic import atomic_write_text
from wsol.utils.distributed import DistInfo, gather_objects


class PredictionLog:
    """Batch callback recording each image's label and predicted class."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Any]] = {}

    def __call__(self, batch: dict[str, Any], predictions: Tensor, maps: Tensor | None) -> None:
        for image_id, label, pred in zip(
            batch["image_id"], batch["label"].tolist(), predictions.tolist(), strict=True
        ):
            self.rows[image_id] = {"label": label, "prediction": pred}


def evaluate_and_report(
    cfg: RunConfig,
    model: nn.Module,
    method: Method,
    device: torch.device,
    info: DistInfo,
    out_dir: Path,
    tracker: RunTracker,
    explainer: Mapping[str, Any] | None = None,
    num_overlays: int | None = None,
    progress: bool = True,
    baseline: str | None = None,
    cache: CacheSpec | None = None,
) -> dict[str, Any]:
    """Evaluate val and test, carry val's threshold to test, write the outputs (rank 0).

    Maps come from the head, ``explainer`` or ``baseline`` (see
    :func:`wsol.engine.localization.evaluate_split`). Distributed, every rank evaluates
    its shard; the numbers and per-image predictions are gathered, the overlays are
    rank 0's first images (the split's first images).

    ``num_overlays`` test images (default ``cfg.eval.num_overlays``) are drawn. Returns
    the flat ``{"val/<key>": ..., "test/<key>": ...}`` results, curves included. With
    ``cache`` (folder, fingerprint) batches are cached and restored (see
    :mod:`wsol.engine.eval_cache`; overlays are drawn only from batches computed now).
    """
    val = evaluate_split(
        cfg,
        model,
        method,
        cfg.data.val_split,
        device,
        info,
        explainer,
        progress,
        baseline=baseline,
        cache=cache,
    )
    predictions = PredictionLog()
    panels = PanelCollector(cfg.eval.num_overlays if num_overlays is None else num_overlays)
    test = evaluate_split(
        cfg,
        model,
        method,
        cfg.data.test_split,
        device,
        info,
        explainer,
        progress,
        (predictions, panels),
        baseline,
        cache,
    )
    predictions.rows = {k: v for rows in gather_objects(predictions.rows) for k, v in rows.items()}
    test.results.update(carry_threshold(val, test))
    results = flat_results(val=val, test=test)
    if info.is_main:
        report = EvalReport(
            "test",
            results,
            panels.panels,
            per_image_rows(predictions.rows, test.metrics),
            test.class_names,
            display_threshold(results),
        )
        write_outputs(cfg.name, results, report.rows, out_dir)
        save_figures(report, out_dir)
        log_evaluation(tracker, report)
    return results


def per_image_rows(
    predictions: Mapping[str, Mapping[str, Any]], metrics: Sequence[Any]
) -> dict[str, dict[str, Any]]:
    """Image id -> columns: the predictions plus every metric's ``per_image()`` values."""
    rows = {image_id: dict(values) for image_id, values in predictions.items()}
    for metric in metrics:
        if not hasattr(metric, "per_image"):
            continue
        table = metric.per_image()
        if "image_id" in table:  # columns of equal length (box metrics)
            columns = {k: v for k, v in table.items() if k != "image_id"}
            table = {str(i): {k: v[n] for k, v in columns.items()} for n, i in enumerate(table["image_id"])}
        for image_id, values in table.items():  # image id -> {column: value} (saliency metrics)
            rows.setdefault(str(image_id), {}).update(values)
    return rows


def write_outputs(
    name: str, results: Mapping[str, Any], rows: Mapping[str, Mapping[str, Any]], out_dir: Path
) -> None:
    """``metrics.json`` (numbers and curves) and ``per_image.csv`` in ``out_dir``, each written atomically."""
    out_dir.mkdir(parents=True, exist_ok=True)
    plain = {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in results.items()}
    metrics = json.dumps({"run": name, **plain}, indent=1, default=float)
    atomic_write_text(out_dir / eval_files.METRICS, metrics)
    columns = sorted({c for row in rows.values() for c in row})
    table = io.StringIO()
    writer = csv.writer(table)
    writer.writerow(["image_id", *columns])
    for image_id, row in rows.items():
        writer.writerow([image_id, *(row.get(c, "") for c in columns)])
    atomic_write_text(out_dir / eval_files.PER_IMAGE, table.getvalue())
