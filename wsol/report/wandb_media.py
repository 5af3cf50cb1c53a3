"""An evaluation's pictures and curves as W&B media (the PNG versions: :mod:`wsol.report.figures`).

Logged under ``<split>/``:

* ``overlays``: heatmap overlays (``wandb.Image``) with ground-truth and predicted boxes
  and masks as W&B box and mask layers, which the W&B UI can toggle;
* ``per_image``: a ``wandb.Table`` with one row per image (id, class, prediction, best
  IoU, ...) and a thumbnail for the images that have a panel;
* ``curves/<name>``: line plots of :data:`wsol.report.curves.CURVES`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from wsol.report.curves import Curve, threshold_curves
from wsol.report.figures import EvalReport, Panel
from wsol.report.tracking import RunTracker
from wsol.visualize import Overlay, grid, render

BOX_CLASSES = {0: "ground truth", 1: "prediction"}
MASK_CLASSES = {0: "background", 1: "object"}
THUMBNAIL = 96


def log_evaluation(tracker: RunTracker, report: EvalReport) -> None:
    """Log ``report``'s overlays, per-image table and curves to the tracker's W&B run, if any."""
    if tracker.wandb_run is None:
        return
    media: dict[str, Any] = {}
    if report.panels:
        media[f"{report.split}/overlays"] = [overlay_image(p, report) for p in report.panels]
    if report.rows:
        media[f"{report.split}/per_image"] = per_image_table(report)
    for curve in threshold_curves(report.results, report.split):
        media[f"{report.split}/curves/{curve.spec.name}"] = line_plot(curve)
    tracker.log_media(media)


def overlay_image(panel: Panel, report: EvalReport):
    """The heatmap blended into the image; boxes and masks as W&B layers."""
    import wandb

    threshold = report.threshold
    boxes = [(0, b) for b in panel.gt_boxes] + [(1, b) for b in panel.predicted_boxes(threshold)]
    box_data = [
        {
            "position": {"minX": float(x0), "minY": float(y0), "maxX": float(x1), "maxY": float(y1)},
            "domain": "pixel",
            "class_id": cls,
            "box_caption": BOX_CLASSES[cls],
        }
        for cls, (x0, y0, x1, y1) in boxes
    ]
    masks = {
        name: {"mask_data": mask, "class_labels": MASK_CLASSES}
        for name, mask in (("ground_truth", panel.gt_mask), ("prediction", panel.predicted_mask(threshold)))
        if mask is not None
    }
    caption = f"{panel.image_id}: {report.class_name(panel.label)} -> {report.class_name(panel.prediction)}"
    return wandb.Image(
        render(Overlay(panel.image, panel.heatmap)),
        boxes={"boxes": {"box_data": box_data, "class_labels": BOX_CLASSES}} if box_data else None,
        masks=masks or None,
        caption=caption,
    )


def per_image_table(report: EvalReport):
    """One row per image: id, class, prediction, the per-image metric columns, thumbnail."""
    import wandb

    thumbnails = {
        p.image_id: wandb.Image(grid([p.overlay(report.threshold)], columns=1, tile=THUMBNAIL))
        for p in report.panels
    }
    metric_columns = sorted({c for row in report.rows.values() for c in row} - {"label", "prediction"})
    table = wandb.Table(columns=["image_id", "class", "prediction", "correct", *metric_columns, "thumbnail"])
    for image_id, row in report.rows.items():
        label, prediction = row.get("label", -1), row.get("prediction", -1)
        table.add_data(
            image_id,
            report.class_name(label),
            report.class_name(prediction),
            label == prediction,
            *(_cell(row.get(c)) for c in metric_columns),
            thumbnails.get(image_id),
        )
    return table


def line_plot(curve: Curve):
    """A W&B line-series plot of one figure's series."""
    import wandb

    labels = list(curve.series)
    return wandb.plot.line_series(
        xs=[curve.series[k][0].tolist() for k in labels],
        ys=[curve.series[k][1].tolist() for k in labels],
        keys=labels,
        title=curve.spec.title,
        xname=curve.spec.xlabel,
    )


def _cell(value: Any) -> Any:
    if value is None:
        return None
    value = value.item() if isinstance(value, np.generic) else value
    return None if isinstance(value, float) and not np.isfinite(value) else value
