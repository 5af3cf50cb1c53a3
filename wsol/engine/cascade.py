"""Offline cascades (adversarial erasing): train stage after stage, each on what the earlier ones left.

``run_training`` hands a method with ``is_cascade`` here. Stage ``k`` is an ordinary run
of ``run_training`` named ``<name>/stage_<k>`` (so it lands in
``<output_dir>/<name>/stage_<k>/`` with its own config, checkpoints, metrics and
summary), trained and evaluated with the one cascade method object, which holds the
frozen stages before ``k``. Every stage uses the run's seed. A stage's val/test numbers
are those of the cascade up to and including it (the method's fused map), so with
``eval.checkpoint: best`` its best epoch is chosen for the cascade's validation score.
``<output_dir>/<name>/summary.json`` holds the numbers of the last stage kept plus
``cascade/*`` entries: the stages kept and each later stage's top-1 accuracy on erased
validation images.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from wsol.config import RunConfig, save_config
from wsol.engine.builders import build_dataset, build_loader
from wsol.engine.checkpoint import load_evaluated
from wsol.engine.summary import format_summary
from wsol.engine.tracking import RunTracker
from wsol.engine.trainer import autocast
from wsol.methods.adversarial_erasing import AdversarialErasing
from wsol.models import WSOLModel, build_model
from wsol.utils.distributed import dist_info, select_device

log = logging.getLogger(__name__)


def run_cascade(
    cfg: RunConfig, method: AdversarialErasing, resume: bool = False, progress: bool = True
) -> dict[str, Any]:
    """Train the stages of ``method`` under ``<output_dir>/<name>/`` and return the cascade's numbers.

    With ``resume``, stages that already have a ``summary.json`` are loaded, not retrained,
    and the first unfinished stage resumes from its newest checkpoint.
    """
    from wsol.engine.training import run_training  # training dispatches here: import late

    info = dist_info()
    run_dir = Path(cfg.output_dir) / cfg.name
    if info.is_main:
        save_config(cfg, run_dir / "config.yaml")
    results: dict[str, Any] = {}
    cascade: dict[str, Any] = {}
    for k in range(method.num_stages):
        stage_cfg = dataclasses.replace(cfg, name=f"{cfg.name}/stage_{k}")
        summary_path = run_dir / f"stage_{k}" / "summary.json"
        if resume and summary_path.exists():
            log.info("stage %d already trained; loading it", k)
            stage_results = json.loads(summary_path.read_text())
        else:
            stage_results = run_training(stage_cfg, resume=resume, progress=progress, method=method)
        _barrier()
        model = load_stage(stage_cfg, select_device(cfg.device, info))
        if k > 0:
            accuracy = erased_top1(method, model, stage_cfg)
            cascade[f"cascade/stage_{k}/erased_top1"] = accuracy
            if accuracy < method.min_accuracy:
                log.info("stage %d: %.2f%% < min_accuracy on erased images; stopping", k, accuracy)
                break
        method.add_stage(model)
        results = stage_results
    results = {**results, **cascade, "cascade/stages": len(method.previous)}
    tracker = RunTracker(cfg, run_dir, job_type="cascade", enabled=info.is_main)
    tracker.summary(results)
    if info.is_main:
        print(format_summary(cfg, results), flush=True)
    tracker.finish()
    return results


def load_stage(cfg: RunConfig, device: torch.device) -> WSOLModel:
    """The ``eval.checkpoint`` weights of the stage run ``cfg`` (no pretrained weights are fetched)."""
    state = load_evaluated(Path(cfg.output_dir) / cfg.name / "checkpoints", cfg.eval.checkpoint)
    backbone = dataclasses.replace(cfg.model.backbone, weights="none", checkpoint=None)
    model = build_model(dataclasses.replace(cfg.model, backbone=backbone), state["num_classes"])
    model.load_state_dict(state["model"])
    return model.to(device)


def erased_top1(method: AdversarialErasing, model: nn.Module, cfg: RunConfig) -> float:
    """Top-1 accuracy (%) of ``model`` on the validation split erased by ``method``'s frozen stages."""
    info = dist_info()
    device = next(model.parameters()).device
    dataset = build_dataset(cfg, cfg.data.val_split, train=False)
    counts = torch.zeros(2, dtype=torch.float64, device=device)
    model.eval()
    for batch in build_loader(dataset, cfg, False, info):
        images, labels = batch["image"].to(device), batch["label"].to(device)
        with torch.no_grad(), autocast(device, cfg.train.amp):
            logits = model(method.erase(images, labels)).logits
        counts[0] += (logits.argmax(1) == labels).sum()
        counts[1] += labels.numel()
    if dist.is_initialized():
        dist.all_reduce(counts)
    return 100.0 * counts[0].item() / max(counts[1].item(), 1.0)


def _barrier() -> None:
    if dist.is_initialized():
        dist.barrier()
