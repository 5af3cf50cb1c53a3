"""Localization evaluation of a trained model on val and test (wsolevaluation protocol).

MaxBoxAcc, MaxBoxAccV2 and PxAP pick their best threshold on the split itself, as in
clovaai/wsolevaluation. GT-known loc and top-1 loc use one threshold chosen on val
(the train-fullsup split: best IoU-50 accuracy of the largest contour) and carried to
test, the protocol of the earlier WSOL papers that report them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from wsol.config import RunConfig
from wsol.engine.builders import build_dataset, build_loader, build_metrics
from wsol.engine.eval_cache import EvalCache
from wsol.engine.evaluator import BatchCallback, baseline_maps, evaluate, explainer_maps, method_maps
from wsol.methods.base import Method
from wsol.metrics.box_accuracy import BoxAccuracy
from wsol.utils.distributed import DistInfo

CARRY_IOU = 50
CacheSpec = tuple[Path, dict[str, Any]]  # evaluation cache folder and fingerprint


@dataclass
class SplitResult:
    split: str
    results: dict[str, Any]
    metrics: list[Any]
    class_names: list[str] = field(default_factory=list)


def evaluate_split(
    cfg: RunConfig,
    model: nn.Module,
    method: Method,
    split: str,
    device: torch.device,
    info: DistInfo,
    explainer: Mapping[str, Any] | None = None,
    progress: bool = True,
    on_batch: Sequence[BatchCallback] = (),
    baseline: str | None = None,
    cache: CacheSpec | None = None,
) -> SplitResult:
    """Every applicable metric on ``split``, maps from the head, ``explainer`` or ``baseline``
    (see :func:`wsol.engine.evaluator.baseline_maps`).

    ``cache`` is ``(folder, fingerprint)`` of an :class:`~wsol.engine.eval_cache.EvalCache`.
    """
    dataset = build_dataset(cfg, split, train=False)
    metrics = build_metrics(cfg, dataset.ground_truth)
    model.eval()
    if baseline:
        map_fn = baseline_maps(model, baseline)
    elif explainer:
        map_fn = explainer_maps(model, explainer)
    else:
        map_fn = method_maps(model, method, cfg.train.amp, device)
    loader = build_loader(dataset, cfg, False, info)
    results = evaluate(
        map_fn,
        loader,
        dataset,
        metrics,
        device,
        desc=split,
        progress=progress,
        on_batch=on_batch,
        cache=EvalCache(cache[0], split, info, cache[1]) if cache is not None else None,
    )
    return SplitResult(split, results, metrics, list(dataset.class_names))


def carry_threshold(val: SplitResult, test: SplitResult) -> dict[str, float]:
    """GT-known and top-1 loc on test at the threshold chosen on val (empty without boxes)."""
    box_val, box_test = _box_metric(val), _box_metric(test)
    if box_val is None or box_test is None:
        return {}
    threshold = box_val.best_threshold(CARRY_IOU, "single")
    out = {"val_threshold": threshold, "gt_known_loc": box_test.accuracy_at(threshold, CARRY_IOU, "single")}
    if "top1_loc" in test.results:
        out["top1_loc"] = box_test.accuracy_at(threshold, CARRY_IOU, "single", top1=True)
    return out


def flat_results(**splits: SplitResult) -> dict[str, Any]:
    """``{"<name>/<key>": value}`` for the results of each named split."""
    return {f"{name}/{k}": v for name, result in splits.items() for k, v in result.results.items()}


def _box_metric(result: SplitResult) -> BoxAccuracy | None:
    return next((m for m in result.metrics if isinstance(m, BoxAccuracy)), None)
