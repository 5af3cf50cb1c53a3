"""A run's datasets and loaders, built from its config (sharded across ranks in a distributed job)."""

from __future__ import annotations

import torch
from torch.utils.data import DataLoader, DistributedSampler, Sampler

from wsol.config import RunConfig
from wsol.data.collate import collate_samples, seed_worker
from wsol.data.dataset import WSOLDataset
from wsol.data.datasets import create_dataset, require_images
from wsol.data.transforms import TRANSFORMS
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
    :func:`wsol.evaluation.loop.evaluate`). Memory is pinned when a GPU is present.
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
