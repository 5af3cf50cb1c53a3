"""The evaluation loop: stream a split through a map function and the metric accumulators."""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor
from tqdm import tqdm

from wsol import keys
from wsol.data.dataset import WSOLDataset
from wsol.evaluation.cache import EvalCache
from wsol.evaluation.maps import MapFn
from wsol.metrics.base import MetricAccumulator
from wsol.utils.distributed import gather_objects

log = logging.getLogger(__name__)

BatchCallback = Callable[[dict[str, Any], Tensor, Tensor | None], None]


@dataclass
class Stream:
    """One pass over a split: what is read, what accumulates, who watches.

    Each ``on_batch`` callback sees ``(batch, predictions, maps)`` (e.g. to save
    overlays); ``maps`` is None for a batch restored from ``cache``.
    """

    loader: Iterable[dict[str, Any]]
    dataset: WSOLDataset
    metrics: Sequence[MetricAccumulator] = ()
    on_batch: Sequence[BatchCallback] = ()
    cache: EvalCache | None = None
    desc: str = "eval"


def evaluate(map_fn: MapFn, stream: Stream, device: torch.device, progress: bool = True) -> dict[str, Any]:
    """Stream a split through ``map_fn`` and ``stream.metrics``.

    Maps are taken for each image's ground-truth class (the GT-known protocol of
    wsolevaluation); predicted classes are passed to the metrics for top-1 loc.
    Returns ``{"top1": ..., "num_images": ..., **metric results}`` (accuracies in %; see
    :mod:`wsol.keys`).

    In a distributed job each rank streams its shard (the loader must visit every image
    once over all ranks, e.g. :class:`~wsol.utils.distributed.ShardSampler`); the counts
    and accumulator states are then gathered and merged in rank order on every rank, so
    every rank returns the numbers of a single-process pass.
    """
    correct, seen, skipped = 0, 0, 0
    batches = tqdm(stream.loader, desc=stream.desc, leave=False, disable=not progress, dynamic_ncols=True)
    step = _cached_step if stream.cache is not None else _plain_step
    scratch = [copy.deepcopy(metric) for metric in stream.metrics] if stream.cache is not None else []
    for index, batch in enumerate(batches):
        skipped += batch.get("num_skipped", 0)
        entry, maps = step(map_fn, stream, device, batch, index, scratch)
        correct, seen = correct + entry["correct"], seen + entry["seen"]
        for callback in stream.on_batch:
            callback(batch, entry["predictions"], maps)
    if skipped:
        log.warning("%s: %d unreadable samples skipped, not scored", stream.desc, skipped)
    correct, seen = merge_ranks(correct, seen, stream.metrics)
    results: dict[str, Any] = {keys.TOP1: 100.0 * correct / max(seen, 1), keys.NUM_IMAGES: seen}
    for metric in stream.metrics:
        results.update(metric.compute())
    return results


def merge_ranks(correct: int, seen: int, metrics: Sequence[MetricAccumulator]) -> tuple[int, int]:
    """Sum the top-1 counts of all ranks and merge their accumulators into ``metrics``."""
    gathered = gather_objects((correct, seen, [metric.state() for metric in metrics]))
    if len(gathered) == 1:
        return correct, seen
    for n, metric in enumerate(metrics):
        metric.reset()
        for _, _, states in gathered:
            metric.merge_state(states[n])
    return sum(g[0] for g in gathered), sum(g[1] for g in gathered)


def _run_batch(map_fn: MapFn, stream: Stream, device: torch.device, batch: dict[str, Any]):
    """``(entry, maps on CPU, targets)`` of one batch: top-1 counts and predictions in ``entry``."""
    images = batch["image"].to(device, non_blocking=True)
    labels = batch["label"].to(device, non_blocking=True)
    logits, maps = map_fn(images, labels)
    predictions = logits.argmax(1)
    entry = {
        "correct": int((predictions == labels).sum().item()),
        "seen": int(labels.shape[0]),
        "predictions": predictions.cpu(),
    }
    targets = [stream.dataset.load_target(int(i)) for i in batch["index"]] if stream.metrics else []
    return entry, maps.detach().cpu(), targets


def _plain_step(map_fn, stream, device, batch, index, scratch):
    entry, maps, targets = _run_batch(map_fn, stream, device, batch)
    for metric in stream.metrics:
        metric.update(list(maps), targets, predictions=entry["predictions"].tolist())
    return entry, maps


def _cached_step(map_fn, stream, device, batch, index, scratch):
    """Restore batch ``index`` from the cache, or compute it and cache what it adds to each metric."""
    entry, maps = stream.cache.load(index), None
    if entry is None:
        entry, maps, targets = _run_batch(map_fn, stream, device, batch)
        predictions = entry["predictions"].tolist()
        entry["states"] = [_increment(blank, maps, targets, predictions) for blank in scratch]
        stream.cache.save(index, entry)
    for metric, state in zip(stream.metrics, entry["states"], strict=True):
        metric.merge_state(state)
    return entry, maps


def _increment(
    blank: MetricAccumulator, maps: Tensor, targets: list[Any], predictions: list[int]
) -> dict[str, Any]:
    """The state one batch adds to an empty accumulator ``blank`` (which is reset after)."""
    blank.update(list(maps), targets, predictions=predictions)
    state = blank.state()
    blank.reset()
    return state
