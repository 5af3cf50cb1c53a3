"""Evaluation pictures: test images collected while evaluating, their overlays, threshold curves.

:func:`save_figures` writes into an evaluation folder

* ``overlays.png``: a grid of heatmap overlays with ground-truth (green) and predicted
  (red) boxes, the prediction taken at the threshold chosen on val;
* ``overlays/NNN.png`` with ``overlays/index.json`` (image id -> file): the same panels one
  by one, so ``tools/compare.py`` can put the same images of several runs side by side;
* ``curves.png``: box accuracy against the score-map threshold, pixel precision-recall
  and pIoU against the threshold, as far as the results have them.

The W&B versions of these pictures are made by :mod:`wsol.engine.wandb_media`.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from torch import Tensor

from wsol.metrics.scoremap import prepare_scoremap
from wsol.visualize import Overlay, denormalize, grid, predicted_box, save_png

OVERLAY_DIR = "overlays"
OVERLAY_INDEX = "index.json"


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


class PanelCollector:
    """Batch callback (see :func:`wsol.engine.evaluator.evaluate`) keeping the first ``limit`` images."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.panels: list[Panel] = []

    def __call__(self, batch: dict[str, Any], predictions: Tensor, maps: Tensor) -> None:
        room = self.limit - len(self.panels)
        if room <= 0:
            return
        images = denormalize(batch["image"][:room])
        masks = batch.get("mask") or [None] * len(images)
        for i, image in enumerate(images):
            boxes = batch["boxes"][i].numpy() if "boxes" in batch else np.zeros((0, 4))
            mask = None if masks[i] is None else np.asarray(masks[i], dtype=np.uint8)
            self.panels.append(
                Panel(
                    batch["image_id"][i],
                    image,
                    maps[i].numpy(),
                    int(batch["label"][i]),
                    int(predictions[i]),
                    boxes,
                    mask,
                )
            )


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
    for key in (f"{split}/val_threshold", "val/best_threshold_piou"):
        if key in results:
            return float(results[key])
    return None


@dataclass(frozen=True)
class CurveSpec:
    """A family of curves in the results: ``y`` is a regex over result keys, its group the series label."""

    name: str
    title: str
    x: str
    y: str
    xlabel: str
    ylabel: str
    label: str = "{}"
    main: str = ""  # the series compared across runs (first series if empty)


CURVES = (
    CurveSpec(
        "box_accuracy",
        "BoxAcc vs threshold, all contours (MaxBoxAccV2)",
        "thresholds",
        r"curve_multi_iou(\d+)",
        "score-map threshold",
        "BoxAcc (%)",
        "IoU {}%",
        main="IoU 50%",
    ),
    CurveSpec(
        "box_accuracy_largest",
        "BoxAcc vs threshold, largest contour (MaxBoxAcc)",
        "thresholds",
        r"curve_single_iou(\d+)",
        "score-map threshold",
        "BoxAcc (%)",
        "IoU {}%",
        main="IoU 50%",
    ),
    CurveSpec(
        "precision_recall", "Pixel precision-recall (PxAP)", "curve_recall", "curve_precision",
        "recall", "precision", "pixels",
    ),
    CurveSpec(
        "piou", "pIoU vs threshold", "thresholds", "curve_piou", "score-map threshold", "pIoU (%)", "pIoU"
    ),
)


@dataclass
class Curve:
    """One figure: series label -> (x, y), finite points only."""

    spec: CurveSpec
    series: dict[str, tuple[np.ndarray, np.ndarray]]


def threshold_curves(results: Mapping[str, Any], split: str = "test") -> list[Curve]:
    """The curves of :data:`CURVES` present in flat ``results`` for ``split``."""
    curves = []
    prefix = f"{split}/"
    for spec in CURVES:
        x = results.get(prefix + spec.x)
        series = {}
        for key, y in results.items():
            match = re.fullmatch(re.escape(prefix) + spec.y, key)
            if match and x is not None:
                series[spec.label.format(*match.groups())] = finite_points(x, y)
        if series:
            curves.append(Curve(spec, dict(sorted(series.items(), key=lambda kv: _natural(kv[0])))))
    return curves


def finite_points(x: Sequence[float], y: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """``x`` and ``y`` as float arrays without the points where either is NaN or infinite."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    keep = np.isfinite(x) & np.isfinite(y)
    return x[keep], y[keep]


def plot_curves(curves: Sequence[Curve], path: str | Path) -> Path:
    """All ``curves`` as subplots of one PNG (matplotlib, Agg backend)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    columns = min(len(curves), 2)
    rows = math.ceil(len(curves) / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(5 * columns, 3.6 * rows), squeeze=False)
    for ax, curve in zip(axes.flat, curves, strict=False):
        for label, (x, y) in curve.series.items():
            ax.plot(x, y, label=label, linewidth=1.4)
        ax.set(title=curve.spec.title, xlabel=curve.spec.xlabel, ylabel=curve.spec.ylabel)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    for ax in axes.flat[len(curves) :]:
        ax.axis("off")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def save_figures(report: EvalReport, out_dir: Path) -> None:
    """``overlays.png``, ``overlays/`` (one PNG per image and ``index.json``) and ``curves.png``."""
    if report.panels:
        overlays = [panel.overlay(report.threshold) for panel in report.panels]
        save_png(grid(overlays, columns=min(len(overlays), 8)), out_dir / "overlays.png")
        index = {}
        for i, (panel, overlay) in enumerate(zip(report.panels, overlays, strict=True)):
            index[panel.image_id] = f"{i:03d}.png"
            save_png(grid([overlay], columns=1), out_dir / OVERLAY_DIR / index[panel.image_id])
        (out_dir / OVERLAY_DIR / OVERLAY_INDEX).write_text(json.dumps(index, indent=1))
    curves = threshold_curves(report.results, report.split)
    if curves:
        plot_curves(curves, out_dir / "curves.png")


def _natural(label: str) -> tuple[Any, ...]:
    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", label))
