"""The engine's entry point: a plain run or a cascade, chosen by the method."""

from __future__ import annotations

from typing import Any

from wsol.config import RunConfig
from wsol.engine.cascade import run_cascade
from wsol.engine.training import run_training
from wsol.methods import METHODS
from wsol.methods.base import CascadeMethod


def train(cfg: RunConfig, resume: bool = False, progress: bool = True) -> dict[str, Any]:
    """Train ``cfg`` into ``<output_dir>/<name>/`` (every stage of a cascade) and return its final numbers."""
    method = METHODS.build(cfg.method, key="method")
    if isinstance(method, CascadeMethod):
        return run_cascade(cfg, method, resume=resume, progress=progress)
    return run_training(cfg, method, resume=resume, progress=progress)
