"""Localization metrics and the METRICS registry.

Contract of a member (see :class:`wsol.metrics.base.MetricAccumulator`): a class built
from keyword options (e.g. ``cam_curve_interval``, ``resolution``) that

* declares ``requires``, the ground-truth kinds it reads (subset of
  ``{"boxes", "masks", "fixations", "parts"}``); evaluation runs every member whose needs
  the dataset's ``ground_truth`` covers;
* streams: ``update(maps, targets, predictions=None)`` takes a batch of raw score maps
  (``(h, w)`` numpy or torch arrays, float32 or float64, any resolution), the matching
  ground-truth :class:`~wsol.data.sample.Sample` records (original pixels) and optionally
  the predicted top-1 classes (for top-1 localization), and keeps only additive state
  (counts, histograms, sums, per-image rows keyed by image id);
* combines: ``state()`` returns that state as a dict of numpy arrays and
  ``merge_state(state)`` adds another process's, so sharded evaluation is exact;
* ``compute()`` returns a flat dict of named numbers (and arrays for curves).

A member documents its definition (formula, paper, reference code) in its docstring and
says where wsol deliberately differs from the reference.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from wsol.config.schema import EvalConfig
from wsol.registry import Registry

if TYPE_CHECKING:
    from wsol.metrics.base import MetricAccumulator

METRICS = Registry("metric", __name__)


def create_metrics(
    cfg: EvalConfig, ground_truth: frozenset[str], names: Sequence[str] = ("*",)
) -> list[MetricAccumulator]:
    """Every member matching ``names`` whose required ground truth the dataset has, built with the
    ``eval`` section's options (threshold interval, resolution, IoU thresholds)."""
    options: dict[str, Any] = {
        "cam_curve_interval": cfg.cam_curve_interval,
        "resolution": cfg.resolution,
        "iou_thresholds": list(cfg.iou_thresholds),
    }
    return [
        METRICS.build(name, key="eval", **options)
        for name in METRICS.list(list(names))
        if METRICS.get(name).requires <= ground_truth
    ]
