"""Evaluation over a split: classification accuracy and every applicable metric."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import torch
from torch import Tensor, nn
from tqdm import tqdm

from wsol.data.dataset import WSOLDataset
from wsol.engine.eval_cache import EvalCache
from wsol.engine.trainer import autocast
from wsol.errors import ConfigError
from wsol.explainers import create_explainer
from wsol.methods.base import Method
from wsol.metrics.fixations import center_bias
from wsol.utils.distributed import gather_objects

MapFn = Callable[[Tensor, Tensor], tuple[Tensor, Tensor]]
BatchCallback = Callable[[dict[str, Any], Tensor, Tensor | None], None]


def method_maps(model: nn.Module, method: Method, amp: str, device: torch.device) -> MapFn:
    """``(images, labels) -> (logits, maps)`` from the model's own maps, without gradients."""

    def compute(images: Tensor, labels: Tensor) -> tuple[Tensor, Tensor]:
        with torch.no_grad(), autocast(device, amp):
            logits, maps = method.localization_map(model, images, labels)
        return logits.float(), maps.float()

    return compute


def explainer_maps(model: nn.Module, spec: Mapping[str, Any]) -> MapFn:
    """``(images, labels) -> (logits, maps)`` from a registered post-hoc explainer.

    For a :class:`~wsol.models.WSOLModel` the target layer defaults to the last backbone
    stage, and CAM's classifier to the head's ``classifier`` layer.
    """
    spec = dict(spec)
    if "target_layer" not in spec and hasattr(model, "backbone"):
        spec["target_layer"] = model.backbone.stage_modules[-1]
    if spec.get("name") == "cam" and "classifier" not in spec and hasattr(model.head, "classifier"):
        spec["classifier"] = model.head.classifier
    explainer = create_explainer(spec, model)

    def compute(images: Tensor, labels: Tensor) -> tuple[Tensor, Tensor]:
        with torch.no_grad():
            logits = model(images).logits
        return logits.float(), explainer(images, labels).detach().float()

    return compute


BASELINES = ("center",)


def baseline_maps(model: nn.Module, baseline: str, sigma_frac: float = 0.3) -> MapFn:
    """``(images, labels) -> (logits, maps)``: the model's logits with a map that ignores the image.

    ``center``: the centred Gaussian :func:`wsol.metrics.fixations.center_bias` (peak 1,
    standard deviation ``sigma_frac`` of each side) at the input's resolution, the same
    for every image; it tells how much of a score a map gets from photographers'
    centre bias alone.
    """
    if baseline not in BASELINES:
        raise ConfigError(f"unknown baseline {baseline!r}; choose from {BASELINES}")

    def compute(images: Tensor, labels: Tensor) -> tuple[Tensor, Tensor]:
        with torch.no_grad():
            logits = model(images).logits.float()
        gaussian = torch.as_tensor(center_bias(tuple(images.shape[-2:]), sigma_frac), dtype=torch.float32)
        return logits, gaussian.to(images.device).expand(images.shape[0], -1, -1)

    return compute


def evaluate(
    map_fn: MapFn,
    loader: Iterable[dict[str, Any]],
    dataset: WSOLDataset,
    metrics: Sequence[Any],
    device: torch.device,
    desc: str = "eval",
    progress: bool = True,
    on_batch: Sequence[BatchCallback] = (),
    cache: EvalCache | None = None,
) -> dict[str, Any]:
    """Stream a split through ``map_fn`` and the metric accumulators.

    Maps are taken for each image's ground-truth class (the GT-known protocol of
    wsolevaluation); predicted classes are passed to the metrics for top-1 loc.
    Each ``on_batch`` callback sees ``(batch, predictions, maps)`` (e.g. to save overlays);
    ``maps`` is None for a batch restored from ``cache`` (see :mod:`wsol.engine.eval_cache`).
    Returns ``{"top1": ..., "num_images": ..., **metric results}`` (accuracies in %; metric
    result keys are lowercase snake case, e.g. ``maxboxacc_v2``, ``pxap``).

    In a distributed job each rank streams its shard (``loader`` must visit every image
    once over all ranks, e.g. :class:`~wsol.utils.distributed.ShardSampler`); the counts
    and accumulator states are then gathered and merged in rank order on every rank, so
    every rank returns the numbers of a single-process pass.
    """
    correct, seen = 0, 0
    scratch = [copy.deepcopy(metric) for metric in metrics] if cache is not None else []
    batches = tqdm(loader, desc=desc, leave=False, disable=not progress, dynamic_ncols=True)
    for index, batch in enumerate(batches):
        entry = cache.load(index) if cache is not None else None
        maps_cpu = None
        if entry is None:
            images = batch["image"].to(device, non_blocking=True)
            labels = batch["label"].to(device, non_blocking=True)
            logits, maps = map_fn(images, labels)
            predictions = logits.argmax(1)
            entry = {"correct": int((predictions == labels).sum().item()), "seen": int(labels.shape[0])}
            maps_cpu, entry["predictions"] = maps.detach().cpu(), predictions.cpu()
            targets = [dataset.load_target(int(i)) for i in batch["index"]] if metrics else []
            update = (maps_cpu, targets, entry["predictions"].tolist())
            if cache is not None:
                entry["states"] = [_increment(blank, *update) for blank in scratch]
                cache.save(index, entry)
            else:
                for metric in metrics:
                    metric.update(list(maps_cpu), targets, predictions=update[2])
        if "states" in entry:
            for metric, state in zip(metrics, entry["states"], strict=True):
                metric.merge_state(state)
        correct, seen = correct + entry["correct"], seen + entry["seen"]
        for callback in on_batch:
            callback(batch, entry["predictions"], maps_cpu)
    correct, seen = merge_ranks(correct, seen, metrics)
    results: dict[str, Any] = {"top1": 100.0 * correct / max(seen, 1), "num_images": seen}
    for metric in metrics:
        results.update(metric.compute())
    return results


def merge_ranks(correct: int, seen: int, metrics: Sequence[Any]) -> tuple[int, int]:
    """Sum the top-1 counts of all ranks and merge their accumulators into ``metrics``."""
    gathered = gather_objects((correct, seen, [metric.state() for metric in metrics]))
    if len(gathered) == 1:
        return correct, seen
    for n, metric in enumerate(metrics):
        metric.reset()
        for _, _, states in gathered:
            metric.merge_state(states[n])
    return sum(g[0] for g in gathered), sum(g[1] for g in gathered)


def _increment(blank: Any, maps: Tensor, targets: list[Any], predictions: list[int]) -> dict[str, Any]:
    """The state one batch adds to an empty accumulator ``blank`` (which is reset after)."""
    blank.update(list(maps), targets, predictions=predictions)
    state = blank.state()
    blank.reset()
    return state
