"""Offline cascades (e.g. adversarial erasing): train stage after stage, each on what the earlier ones left.

:func:`wsol.engine.train` hands a :class:`~wsol.methods.base.CascadeMethod` here. Stage
``k`` is an ordinary run of :func:`~wsol.engine.training.run_training` named
``<name>/stage_<k>`` (so it lands in ``<output_dir>/<name>/stage_<k>/`` with its own
config, checkpoints, metrics and summary), trained and evaluated with the one cascade
method object, which holds the frozen stages before ``k``. Every stage uses the run's
seed. A stage's val/test numbers are those of the cascade up to and including it (the
method's fused map), so with ``eval.checkpoint: best`` its best epoch is chosen for the
cascade's validation score. ``<output_dir>/<name>/summary.json`` holds the numbers of the
last stage kept plus ``cascade/*`` entries: the stages kept and each later stage's top-1
accuracy on the validation images as the earlier stages leave them.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from wsol import keys
from wsol.checkpoints.loading import load_stage
from wsol.config import RunConfig, save_config
from wsol.data.loaders import build_dataset, build_loader
from wsol.engine.training import run_training
from wsol.methods.base import CascadeMethod
from wsol.report.summary import format_summary
from wsol.report.tracking import RunTracker
from wsol.run_files import RunDir
from wsol.utils.distributed import barrier, dist_info, select_device
from wsol.utils.precision import autocast

log = logging.getLogger(__name__)


def run_cascade(
    cfg: RunConfig, method: CascadeMethod, resume: bool = False, progress: bool = True
) -> dict[str, Any]:
    """Train the stages of ``method`` under ``<output_dir>/<name>/`` and return the cascade's numbers.

    With ``resume``, stages that already have a ``summary.json`` are loaded, not retrained,
    and the first unfinished stage resumes from its newest checkpoint.
    """
    info = dist_info()
    run = RunDir.of(cfg.output_dir, cfg.name)
    if info.is_main:
        save_config(cfg, run.config)
    results: dict[str, Any] = {}
    cascade: dict[str, Any] = {}
    for k in range(method.num_stages):
        stage_cfg = dataclasses.replace(cfg, name=f"{cfg.name}/stage_{k}")
        stage = run.stage(k)
        if resume and stage.summary.exists():
            log.info("stage %d already trained; loading it", k)
            stage_results = json.loads(stage.summary.read_text())
        else:
            stage_results = run_training(stage_cfg, method, resume=resume, progress=progress)
        barrier()
        model = load_stage(stage, cfg.eval.checkpoint).to(select_device(cfg.device, info))
        if k > 0:
            accuracy = next_stage_top1(method, model, stage_cfg)
            cascade[keys.cascade_erased_top1(k)] = accuracy
            if accuracy < method.min_accuracy:
                log.info("stage %d: %.2f%% < min_accuracy on its input images; stopping", k, accuracy)
                break
        method.add_stage(model)
        results = stage_results
    results = {**results, **cascade, keys.CASCADE_STAGES: len(method.stages)}
    tracker = RunTracker(cfg, run.root, job_type="cascade", enabled=info.is_main)
    tracker.summary(results)
    if info.is_main:
        print(format_summary(cfg, results), flush=True)
    tracker.finish()
    return results


def next_stage_top1(method: CascadeMethod, model: nn.Module, cfg: RunConfig) -> float:
    """Top-1 accuracy (%) of ``model`` on the validation split as ``method``'s frozen stages leave it."""
    info = dist_info()
    device = next(model.parameters()).device
    dataset = build_dataset(cfg, cfg.data.val_split, train=False)
    counts = torch.zeros(2, dtype=torch.float64, device=device)
    model.eval()
    for batch in build_loader(dataset, cfg, False, info):
        images, labels = batch["image"].to(device), batch["label"].to(device)
        with torch.no_grad(), autocast(device, cfg.train.amp):
            logits = model(method.inputs_for_next(images, labels)).logits
        counts[0] += (logits.argmax(1) == labels).sum()
        counts[1] += labels.numel()
    if dist.is_initialized():
        dist.all_reduce(counts)
    return 100.0 * counts[0].item() / max(counts[1].item(), 1.0)
