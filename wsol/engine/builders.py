"""Build a run's parts (datasets, loaders, model, optimizer, schedule, metrics) from its config."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, DistributedSampler, Sampler

from wsol.config import RunConfig
from wsol.data.collate import collate_samples, seed_worker
from wsol.data.dataset import WSOLDataset
from wsol.data.datasets import create_dataset, require_images
from wsol.data.transforms import TRANSFORMS
from wsol.errors import ConfigError
from wsol.metrics import METRICS
from wsol.utils.distributed import DistInfo, ShardSampler


def build_dataset(cfg: RunConfig, split: str, train: bool) -> WSOLDataset:
    """The split ``split`` of ``cfg.data.dataset`` with the train or eval transform attached
    (an empty split is a :class:`~wsol.errors.DataError`)."""
    dataset = require_images(create_dataset(cfg.data.dataset, split), cfg.data.dataset, split)
    name = cfg.data.train_transform if train else cfg.data.eval_transform
    dataset.transform = TRANSFORMS.build(name, key="data.transform", image_size=cfg.data.image_size)
    return dataset


def build_loader(
    dataset: WSOLDataset,
    cfg: RunConfig,
    train: bool,
    info: DistInfo,
    generator: torch.Generator | None = None,
) -> DataLoader:
    """Loader that shuffles (training) with ``generator`` and shards across ranks.

    Training shards with :class:`DistributedSampler` (padded to equal lengths, as DDP
    needs); evaluation with :class:`ShardSampler` (every image once, see
    :func:`wsol.engine.evaluator.evaluate`). Memory is pinned when a GPU is present.
    """
    sampler: Sampler[int] | None = None
    if info.enabled:
        sampler = (
            DistributedSampler(dataset, info.world_size, info.rank, shuffle=True, seed=cfg.seed)
            if train
            else ShardSampler(dataset, info.world_size, info.rank)
        )
    return DataLoader(
        dataset,
        batch_size=cfg.data.batch_size if train else cfg.data.eval_batch_size,
        shuffle=train and sampler is None,
        sampler=sampler,
        num_workers=cfg.data.num_workers,
        collate_fn=collate_samples,
        worker_init_fn=seed_worker,
        generator=generator,
        drop_last=train and len(dataset) > cfg.data.batch_size,
        pin_memory=torch.cuda.is_available(),
    )


def build_optimizer(model: nn.Module, cfg: RunConfig) -> torch.optim.Optimizer:
    """SGD or AdamW; parameters outside the pretrained backbone body train at ``head_lr_mult`` x lr."""
    body, rest = [], []
    for name, param in model.named_parameters():
        if param.requires_grad:
            (body if name.startswith("backbone.body.") else rest).append(param)
    o = cfg.optim
    groups = [{"params": body, "lr": o.lr}, {"params": rest, "lr": o.lr * o.head_lr_mult}]
    if o.name == "sgd":
        return torch.optim.SGD(
            groups, lr=o.lr, momentum=o.momentum, weight_decay=o.weight_decay, nesterov=False
        )
    if o.name == "adamw":
        return torch.optim.AdamW(groups, lr=o.lr, weight_decay=o.weight_decay)
    raise ConfigError(f"optim.name: unknown optimizer {o.name!r} (known: 'sgd', 'adamw')")


def build_scheduler(optimizer: torch.optim.Optimizer, cfg: RunConfig, steps_per_epoch: int):
    """Per-iteration schedule: linear warm-up, then cosine decay, steps, or a constant."""
    o = cfg.optim
    if o.scheduler not in ("cosine", "step", "none"):
        raise ConfigError(f"optim.scheduler: unknown schedule {o.scheduler!r} (known: cosine, step, none)")
    total = max(1, o.epochs * steps_per_epoch)
    warmup = int(o.warmup_epochs * steps_per_epoch)

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        if o.scheduler == "cosine":
            progress = (step - warmup) / max(1, total - warmup)
            return 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))
        if o.scheduler == "step":
            return o.gamma ** (step // (o.step_size * steps_per_epoch))
        return 1.0

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def build_metrics(cfg: RunConfig, ground_truth: frozenset[str], names: Sequence[str] = ("*",)) -> list[Any]:
    """Every METRICS member whose required ground truth the dataset has."""
    options: dict[str, Any] = {
        "cam_curve_interval": cfg.eval.cam_curve_interval,
        "resolution": cfg.eval.resolution,
        "iou_thresholds": list(cfg.eval.iou_thresholds),
    }
    return [
        METRICS.build(name, key="eval", **options)
        for name in METRICS.list(list(names))
        if METRICS.get(name).requires <= ground_truth
    ]
