"""The evaluation protocol of a trained model on val and test (wsolevaluation's), and its report.

MaxBoxAcc, MaxBoxAccV2 and PxAP pick their best threshold on the split itself, as in
clovaai/wsolevaluation. GT-known loc and top-1 loc use one threshold chosen on val
(the train-fullsup split: best IoU-50 accuracy of the largest contour) and carried to
test, the protocol of the earlier WSOL papers that report them.

Used at the end of training and by ``tools/eval_loc.py checkpoint``. Into the evaluation
folder (``<run>/eval`` by default) go the files of :func:`wsol.report.outputs.write_evaluation`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from wsol import keys
from wsol.config import RunConfig
from wsol.data.loaders import build_dataset, build_loader
from wsol.evaluation.cache import EvalCache
from wsol.evaluation.callbacks import PanelCollector, PredictionLog
from wsol.evaluation.loop import BatchCallback, Stream, evaluate
from wsol.evaluation.maps import MapSource
from wsol.metrics import create_metrics
from wsol.metrics.base import MetricAccumulator
from wsol.metrics.box_accuracy import BoxAccuracy
from wsol.metrics.probe import ModelProbe
from wsol.report.figures import EvalReport, display_threshold
from wsol.report.files import per_image_rows
from wsol.report.outputs import write_evaluation
from wsol.report.tracking import RunTracker
from wsol.utils.distributed import DistInfo, gather_objects

CARRY_IOU = 50
CacheSpec = tuple[Path, dict[str, Any]]  # evaluation cache folder and fingerprint


@dataclass
class EvalContext:
    """What every split of one evaluation shares: the run's config, where it runs, how it shows."""

    cfg: RunConfig
    device: torch.device
    info: DistInfo
    progress: bool = True
    cache: CacheSpec | None = None  # (folder, fingerprint) of an :class:`EvalCache`
    num_overlays: int | None = None  # test images drawn (default ``cfg.eval.num_overlays``)
    faithfulness: bool = False  # also the faithfulness and sanity metrics (wsol.metrics.probe)


@dataclass
class SplitResult:
    split: str
    results: dict[str, Any]
    metrics: list[MetricAccumulator]
    class_names: list[str] = field(default_factory=list)


def evaluate_split(
    ctx: EvalContext, source: MapSource, split: str, on_batch: Sequence[BatchCallback] = ()
) -> SplitResult:
    """Every applicable metric on ``split``, maps from ``source``.

    With ``ctx.faithfulness`` the faithfulness and sanity metrics (the METRICS members that
    require ``"faithfulness"``) run too, on the same maps and classes, calling ``source.model``.
    """
    cfg = ctx.cfg
    dataset = build_dataset(cfg, split, train=False)
    extra = frozenset({"faithfulness"}) if ctx.faithfulness else frozenset()
    metrics = create_metrics(cfg.eval, dataset.ground_truth | extra)
    source.model.eval()
    cache = EvalCache(ctx.cache[0], split, ctx.info, ctx.cache[1]) if ctx.cache is not None else None
    stream = Stream(build_loader(dataset, cfg, False, ctx.info), dataset, metrics, on_batch, cache, split)
    if ctx.faithfulness:
        stream.probe = ModelProbe(source.model, explain=source.explain_fn(cfg.train.amp, ctx.device))
    results = evaluate(source.map_fn(cfg.train.amp, ctx.device), stream, ctx.device, ctx.progress)
    return SplitResult(split, results, metrics, list(dataset.class_names))


def carry_threshold(val: SplitResult, test: SplitResult) -> dict[str, float]:
    """GT-known and top-1 loc on test at the threshold chosen on val (empty without boxes)."""
    box_val, box_test = _box_metric(val), _box_metric(test)
    if box_val is None or box_test is None:
        return {}
    threshold = box_val.best_threshold(CARRY_IOU, "single")
    out = {
        keys.VAL_THRESHOLD: threshold,
        keys.GT_KNOWN_LOC: box_test.accuracy_at(threshold, CARRY_IOU, "single"),
    }
    if keys.TOP1_LOC in test.results:
        out[keys.TOP1_LOC] = box_test.accuracy_at(threshold, CARRY_IOU, "single", top1=True)
    return out


def flat_results(**splits: SplitResult) -> dict[str, Any]:
    """``{"<name>/<key>": value}`` for the results of each named split."""
    return {k: v for name, result in splits.items() for k, v in keys.prefixed(name, result.results).items()}


def evaluate_and_report(
    ctx: EvalContext, source: MapSource, out_dir: Path, tracker: RunTracker
) -> dict[str, Any]:
    """Evaluate val and test, carry val's threshold to test, write the outputs (rank 0).

    Distributed, every rank evaluates its shard; the numbers and per-image predictions
    are gathered, the overlays are rank 0's first images (the split's first images).
    Returns the flat ``{"val/<key>": ..., "test/<key>": ...}`` results, curves included.
    With ``ctx.cache`` batches are cached and restored (overlays are drawn only from
    batches computed now).
    """
    cfg = ctx.cfg
    val = evaluate_split(ctx, source, cfg.data.val_split)
    predictions = PredictionLog()
    panels = PanelCollector(cfg.eval.num_overlays if ctx.num_overlays is None else ctx.num_overlays)
    test = evaluate_split(ctx, source, cfg.data.test_split, (predictions, panels))
    predictions.rows = {k: v for rows in gather_objects(predictions.rows) for k, v in rows.items()}
    test.results.update(carry_threshold(val, test))
    results = flat_results(val=val, test=test)
    if ctx.info.is_main:
        rows = per_image_rows(predictions.rows, test.metrics)
        report = EvalReport(
            "test", results, panels.panels, rows, test.class_names, display_threshold(results)
        )
        write_evaluation(report, cfg.name, out_dir, tracker)
    return results


def _box_metric(result: SplitResult) -> BoxAccuracy | None:
    return next((m for m in result.metrics if isinstance(m, BoxAccuracy)), None)
