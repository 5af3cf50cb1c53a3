"""The engine's entry point: a plain run or a cascade, chosen by the method."""

from __future__ import annotations

from typing import Any

from wsol.config import RunConfig
from wsol.engine.cascade import run_cascade
from wsol.engine.training import run_training
from wsol.errors import CheckpointError
from wsol.methods import METHODS
from wsol.methods.base import CascadeMethod
from wsol.run_files import RunDir


def train(cfg: RunConfig, resume: bool = False, progress: bool = True) -> dict[str, Any]:
    """Train ``cfg`` into ``<output_dir>/<name>/`` (every stage of a cascade) and return its final numbers.

    Every split the run reads is validated before the first training step
    (:mod:`wsol.data.validate`). ``resume`` continues the run from its newest checkpoint;
    with no run at ``<output_dir>/<name>/`` (no ``config.yaml``: nothing was ever started
    there, e.g. a mistyped ``name``) it is a :class:`CheckpointError`; a run that started but
    wrote no checkpoint yet (stopped during its first epoch) starts at epoch 0 with a warning.
    """
    run = RunDir.of(cfg.output_dir, cfg.name)
    if resume and not run.config.exists():
        raise CheckpointError(
            f"--resume: nothing to resume at {run.root} (no {run.config.name}); check name= and "
            "output_dir=, or drop --resume to start the run"
        )
    method = METHODS.build(cfg.method, key="method")
    if isinstance(method, CascadeMethod):
        return run_cascade(cfg, method, resume=resume, progress=progress)
    return run_training(cfg, method, resume=resume, progress=progress)
