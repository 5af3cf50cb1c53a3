"""The evaluation folder's table files: ``metrics.json`` (numbers and curves) and ``per_image.csv``."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from wsol import run_files
from wsol.metrics.base import MetricAccumulator
from wsol.utils.atomic import atomic_write_text


def per_image_rows(
    predictions: Mapping[str, Mapping[str, Any]], metrics: Sequence[MetricAccumulator]
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
    atomic_write_text(out_dir / run_files.METRICS, metrics)
    columns = sorted({c for row in rows.values() for c in row})
    table = io.StringIO()
    writer = csv.writer(table)
    writer.writerow(["image_id", *columns])
    for image_id, row in rows.items():
        writer.writerow([image_id, *(row.get(c, "") for c in columns)])
    atomic_write_text(out_dir / run_files.PER_IMAGE, table.getvalue())
