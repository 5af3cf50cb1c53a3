"""Batch the dicts of :class:`wsol.data.transforms.GTTransform` and seed DataLoader workers.

Use both with a DataLoader::

    DataLoader(dataset, batch_size=64, num_workers=8,
               collate_fn=collate_samples, worker_init_fn=seed_worker)
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from wsol.errors import DataError

STACKED = ("image", "label", "index")


def collate_samples(batch: Sequence[dict[str, Any] | None]) -> dict[str, Any]:
    """Stack ``image``, ``label`` and ``index`` into tensors; keep everything else as lists.

    Variable-size ground truth (``boxes``, ``fixations``, ``mask``, ``labels``, ...) stays
    a list with one entry per sample, ``None`` where a sample lacks the key. ``None``
    items (samples a dataset skipped under ``skip_bad_samples``) are dropped and counted
    in ``num_skipped``, which the training and evaluation loops add up and log (a
    dataset's own counts stay in the worker process that loaded the sample). A batch
    whose samples were all skipped is a :class:`~wsol.errors.DataError`: there is
    nothing to train or score, and so many unreadable samples in a row mean the data
    is broken rather than a few files.
    """
    items = [item for item in batch if item is not None]
    if not items:
        raise DataError(
            f"all {len(batch)} samples of a batch were skipped as unreadable (skip_bad_samples); "
            "the warnings above name the files"
        )
    out: dict[str, Any] = {"num_skipped": len(batch) - len(items)}
    for key in dict.fromkeys(k for item in items for k in item):
        values = [item.get(key) for item in items]
        if key == "image":
            out[key] = torch.stack(values)
        elif key in STACKED:
            out[key] = torch.as_tensor(values, dtype=torch.long)
        else:
            out[key] = values
    return out


def seed_worker(worker_id: int) -> None:
    """``worker_init_fn`` seeding numpy's and python's global generators per worker.

    Both are seeded from ``torch.initial_seed()``, which PyTorch sets per worker (and
    per epoch, unless workers persist) from the main process's generator, so code that
    draws from ``np.random`` / ``random`` differs across workers and is reproducible
    under ``torch.manual_seed``. wsol's albumentations pipelines (``GTTransform``)
    follow the same torch seed by themselves and need no call here.
    """
    seed = torch.initial_seed() % 2**32
    np.random.seed(seed)
    random.seed(seed)
