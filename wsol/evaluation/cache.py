"""Per-batch evaluation cache: a killed evaluation restarts where it stopped.

For each batch the cache keeps what the batch added: the top-1 counts, the predicted
classes and every metric accumulator's state increment (see
:meth:`wsol.metrics.base.MetricAccumulator.state`), one atomically written file per
batch under ``<root>/<split>/rank<r>-of-<w>/``. A later evaluation with the same
fingerprint merges the cached increments in batch order instead of running the model
and the metrics, which gives the same numbers to the last bit as an uninterrupted pass.
A different fingerprint (checkpoint, config, batch size, world size) is a
:class:`~wsol.errors.ConfigError`, never a silent mix of two evaluations.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from wsol.errors import ConfigError
from wsol.utils.atomic import atomic_torch_save, atomic_write_text
from wsol.utils.distributed import DistInfo

FINGERPRINT = "fingerprint.json"


class EvalCache:
    """Cached batch increments of one split's evaluation on one rank."""

    def __init__(self, root: Path, split: str, info: DistInfo, fingerprint: dict[str, Any]) -> None:
        self.directory = Path(root) / split / f"rank{info.rank}-of-{info.world_size}"
        self.directory.mkdir(parents=True, exist_ok=True)
        text = json.dumps(fingerprint, sort_keys=True, default=str)
        path = self.directory / FINGERPRINT
        if path.exists() and path.read_text() != text:
            raise ConfigError(
                f"--cache {root}: it holds a different evaluation of {split!r}; use a new folder"
            )
        atomic_write_text(path, text)

    def load(self, index: int) -> dict[str, Any] | None:
        """Batch ``index``'s increments, or None if not cached (entries are written atomically)."""
        path = self._path(index)
        return torch.load(path, weights_only=False) if path.exists() else None

    def save(self, index: int, entry: dict[str, Any]) -> None:
        atomic_torch_save(entry, self._path(index))

    def _path(self, index: int) -> Path:
        return self.directory / f"batch_{index:06d}.pt"
