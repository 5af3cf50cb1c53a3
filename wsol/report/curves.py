"""Threshold curves in evaluation results: which result keys form which figure, and their plot.

Box accuracy against the score-map threshold (all contours, as MaxBoxAccV2, and the
largest contour, as MaxBoxAcc), pixel precision-recall (PxAP) and pIoU against the
threshold. Plain numpy and matplotlib (Agg backend), no torch, no W&B.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from wsol import keys


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
        "BoxAcc, all contours (MaxBoxAccV2)",
        keys.THRESHOLDS,
        keys.CURVE_BOX_MULTI,
        "score-map threshold",
        "BoxAcc (%)",
        "IoU {}%",
        main="IoU 50%",
    ),
    CurveSpec(
        "box_accuracy_largest",
        "BoxAcc, largest contour (MaxBoxAcc)",
        keys.THRESHOLDS,
        keys.CURVE_BOX_SINGLE,
        "score-map threshold",
        "BoxAcc (%)",
        "IoU {}%",
        main="IoU 50%",
    ),
    CurveSpec(
        "precision_recall",
        "Pixel precision-recall (PxAP)",
        keys.CURVE_RECALL,
        keys.CURVE_PRECISION,
        "recall",
        "precision",
        "pixels",
    ),
    CurveSpec(
        "piou",
        "pIoU vs threshold",
        keys.THRESHOLDS,
        keys.CURVE_PIOU,
        "score-map threshold",
        "pIoU (%)",
        "pIoU",
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


def _natural(label: str) -> tuple[Any, ...]:
    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", label))
