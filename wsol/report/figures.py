"""Evaluation pictures: test images collected while evaluating, their overlays, threshold curves.

:func:`save_figures` writes into an evaluation folder

* ``overlays.png``: a grid of heatmap overlays with ground-truth (green) and predicted
  (red) boxes, the prediction taken at the threshold chosen on val;
* ``overlays/NNN.png`` with ``overlays/index.json`` (image id -> file): the same panels one
  by one, so ``tools/compare.py`` can put the same images of several runs side by side;
* ``curves.png``: the threshold curves of :mod:`wsol.report.curves`.

The W&B versions of these pictures are made by :mod:`wsol.report.wandb_media`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from wsol import keys, run_files
from wsol.metrics.scoremap import prepare_scoremap
from wsol.report.curves import plot_curves, threshold_curves
from wsol.utils.atomic import atomic_write_text
from wsol.visualize import Overlay, grid, predicted_box, save_png


@dataclass
class Panel:
    """One evaluated image at network input resolution with its raw map and ground truth."""

    image_id: str
    image: np.ndarray  # (S, S, 3) uint8 RGB
    heatmap: np.ndarray  # raw (h, w) map
    label: int
    prediction: int
    gt_boxes: np.ndarray  # (N, 4) inclusive input-pixel boxes
    gt_mask: np.ndarray | None = None  # (S, S) uint8, 1 = object

    def scoremap(self) -> np.ndarray:
        """The map resized to the image and min-max normalised to [0, 1] (as the metrics do)."""
        return prepare_scoremap(self.heatmap, self.image.shape[0]).scoremap

    def predicted_boxes(self, threshold: float | None) -> np.ndarray:
        """Largest-contour box at ``threshold`` (none without a threshold)."""
        if threshold is None:
            return np.zeros((0, 4))
        return predicted_box(self.heatmap, threshold, self.image.shape[0])

    def predicted_mask(self, threshold: float | None) -> np.ndarray | None:
        """Pixels whose normalised score reaches ``threshold``."""
        return None if threshold is None else (self.scoremap() >= threshold).astype(np.uint8)

    def overlay(self, threshold: float | None) -> Overlay:
        name = self.image_id.rsplit("/", 1)[-1]
        title = f"{name} y={self.label} p={self.prediction}"
        return Overlay(self.image, self.heatmap, self.gt_boxes, self.predicted_boxes(threshold), title)


@dataclass
class EvalReport:
    """What the pictures of one evaluated split are made from.

    ``results`` are the flat ``<split>/<key>`` numbers and curves; ``rows`` the per-image
    table (image id -> column -> value); ``threshold`` the score-map threshold drawn
    (chosen on val), or None.
    """

    split: str
    results: Mapping[str, Any]
    panels: list[Panel]
    rows: dict[str, dict[str, Any]]
    class_names: list[str] = field(default_factory=list)
    threshold: float | None = None

    def class_name(self, index: int) -> str:
        return self.class_names[index] if 0 <= index < len(self.class_names) else str(index)


def display_threshold(results: Mapping[str, Any], split: str = "test") -> float | None:
    """The threshold pictures use: the one carried from val for boxes, else val's best pIoU one."""
    for key in (keys.split_key(split, keys.VAL_THRESHOLD), keys.split_key("val", keys.PIOU_THRESHOLD)):
        if key in results:
            return float(results[key])
    return None


def save_figures(report: EvalReport, out_dir: Path) -> None:
    """``overlays.png``, ``overlays/`` (one PNG per image and ``index.json``) and ``curves.png``."""
    if report.panels:
        overlays = [panel.overlay(report.threshold) for panel in report.panels]
        save_png(grid(overlays, columns=min(len(overlays), 8)), out_dir / run_files.OVERLAYS)
        index = {}
        for i, (panel, overlay) in enumerate(zip(report.panels, overlays, strict=True)):
            index[panel.image_id] = f"{i:03d}.png"
            save_png(grid([overlay], columns=1), out_dir / run_files.OVERLAY_DIR / index[panel.image_id])
        index_path = out_dir / run_files.OVERLAY_DIR / run_files.OVERLAY_INDEX
        atomic_write_text(index_path, json.dumps(index, indent=1))
    curves = threshold_curves(report.results, report.split)
    if curves:
        plot_curves(curves, out_dir / run_files.CURVES_PNG)
