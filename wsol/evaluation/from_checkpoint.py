"""Evaluate a checkpoint on val and test and report (``tools/eval_loc.py checkpoint``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from wsol import run_files
from wsol.checkpoints.files import load_checkpoint
from wsol.checkpoints.loading import localizer_from_state
from wsol.config import load_checkpoint_config, to_dict
from wsol.evaluation.maps import MapSource
from wsol.evaluation.protocol import EvalContext, evaluate_and_report
from wsol.report.summary import format_summary
from wsol.report.tracking import RunTracker
from wsol.run_files import RunDir, refuse_to_overwrite
from wsol.utils.distributed import dist_info, init_distributed, select_device


@dataclass
class CheckpointEval:
    """What to evaluate: a checkpoint, config overrides, and where maps come from and results go.

    ``out_dir`` defaults to ``<run>/eval``, ``<run>/eval_<explainer>`` or
    ``<run>/eval_<baseline>``; a folder that already holds results (e.g. the training run's
    own ``eval/``) is an error unless ``overwrite``. ``overrides`` may not change the
    architecture the checkpoint was trained with (:func:`wsol.config.load_checkpoint_config`).
    ``cache`` (a folder) keeps every batch's contribution, so an
    evaluation that was killed continues where it stopped (:mod:`wsol.evaluation.cache`).
    """

    checkpoint: Path
    overrides: Sequence[str] = ()
    explainer: str | None = None
    baseline: str | None = None
    out_dir: Path | None = None
    num_overlays: int | None = None
    cache: Path | None = None
    progress: bool = True
    overwrite: bool = False


def evaluate_checkpoint(job: CheckpointEval) -> dict[str, Any]:
    """Evaluate ``job.checkpoint`` on val and test; write metrics.json, per_image.csv and figures.

    The model is rebuilt as :func:`wsol.load_model` does (a cascade stage with its earlier
    stages), so the numbers are those the training run reported for that checkpoint.
    The results are also tracked as a W&B run of job type ``eval`` (offline unless
    configured otherwise). Under torchrun each rank evaluates a shard and all ranks return
    the merged numbers.
    """
    source_name = job.baseline or job.explainer
    out_dir = job.out_dir or RunDir.of_checkpoint(job.checkpoint).root / (
        f"eval_{source_name}" if source_name else run_files.EVAL
    )
    refuse_to_overwrite(out_dir, job.overwrite)
    state = load_checkpoint(job.checkpoint)
    cfg = load_checkpoint_config(state["config"], list(job.overrides))
    info = dist_info()
    init_distributed(info)
    device = select_device(cfg.device, info)
    localizer = localizer_from_state(state, cfg, RunDir.of_checkpoint(job.checkpoint)).to(device)
    explainer: Mapping[str, Any] | None = {"name": job.explainer} if job.explainer else cfg.eval.explainer
    source = MapSource(localizer.model, localizer.method, explainer, job.baseline)
    tracker = RunTracker(cfg, out_dir, job_type="eval", enabled=info.is_main)
    cache = None
    if job.cache is not None:
        fingerprint = {
            "checkpoint": _file_identity(job.checkpoint),
            "config": to_dict(cfg),
            "explainer": explainer,
        }
        cache = (job.cache, fingerprint)
    ctx = EvalContext(cfg, device, info, job.progress, cache, job.num_overlays)
    results = evaluate_and_report(ctx, source, out_dir, tracker)
    tracker.summary({k: v for k, v in results.items() if np.ndim(v) == 0})
    tracker.finish()
    if info.is_main:
        print(format_summary(cfg, results), flush=True)
    return results


def _file_identity(path: Path) -> str:
    """Path, size and modification time: changes when the checkpoint is rewritten."""
    stat = path.stat()
    return f"{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}"
