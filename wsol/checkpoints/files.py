"""Checkpoint files: atomic, resumable, kept two deep.

A checkpoint is written to a temporary file in the same directory, flushed to disk and
renamed over its target, so a crash or SIGKILL never leaves a half-written file under
a checkpoint's name. Epoch checkpoints are kept two deep: if the newest one turns out
unreadable (e.g. the disk lost its tail), resuming falls back to the previous one and
says so.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Any

import torch

from wsol.errors import CheckpointError
from wsol.run_files import BEST
from wsol.utils.atomic import atomic_torch_save

log = logging.getLogger(__name__)
EPOCH_FILE = re.compile(r"epoch_(\d+)\.pth$")


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Load a checkpoint written by :func:`save_epoch_checkpoint`; one-line error if unreadable."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as err:  # truncated zip, pickle errors, ...
        raise CheckpointError(f"checkpoint {path} is unreadable (truncated or corrupt): {err}") from None
    if not isinstance(state, dict) or "model" not in state:
        raise CheckpointError(f"{path} is not a wsol checkpoint (no 'model' entry)")
    return state


def save_epoch_checkpoint(state: dict[str, Any], directory: Path, epoch: int, keep: int = 2) -> Path:
    """Write ``epoch_NNNN.pth`` and drop all but the ``keep`` newest epoch files."""
    path = directory / f"epoch_{epoch:04d}.pth"
    atomic_torch_save(state, path)
    for old in epoch_checkpoints(directory)[:-keep]:
        old.unlink(missing_ok=True)
    return path


def epoch_checkpoints(directory: Path) -> list[Path]:
    """Epoch checkpoint files in ``directory``, oldest first."""
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if EPOCH_FILE.search(p.name))


def load_latest(directory: Path) -> dict[str, Any] | None:
    """The newest readable epoch checkpoint, falling back past unreadable ones.

    Returns None if ``directory`` holds no epoch checkpoint; raises
    :class:`CheckpointError` if it holds some but none is readable.
    """
    paths = epoch_checkpoints(directory)
    for path in reversed(paths):
        try:
            return load_checkpoint(path)
        except CheckpointError as err:
            log.warning("%s; trying the previous checkpoint", err)
    if paths:
        raise CheckpointError(f"no readable checkpoint in {directory}")
    return None


def evaluated_path(directory: Path, choice: str) -> Path:
    """The file ``eval.checkpoint`` names: ``best.pth``, or the newest epoch checkpoint for ``last``."""
    if choice == "best":
        return directory / BEST
    paths = epoch_checkpoints(directory)
    if not paths:
        raise CheckpointError(f"no epoch checkpoint in {directory}")
    return paths[-1]


def load_evaluated(directory: Path, choice: str) -> dict[str, Any]:
    """The checkpoint ``eval.checkpoint`` names: ``last`` (newest epoch) or ``best`` (``best.pth``)."""
    state = load_checkpoint(directory / BEST) if choice == "best" else load_latest(directory)
    if state is None:
        raise CheckpointError(f"no epoch checkpoint in {directory}")
    return state
