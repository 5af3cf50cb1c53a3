"""A whole training run: build from the config, train, validate, checkpoint, test, summarise."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import torch
from torch.nn.parallel import DistributedDataParallel

from wsol.config import RunConfig, save_config, to_dict
from wsol.engine.builders import build_dataset, build_loader, build_metrics, build_optimizer, build_scheduler
from wsol.engine.checkpoint import (
    atomic_torch_save,
    check_checkpoint_choice,
    epoch_checkpoints,
    load_evaluated,
    load_latest,
    save_epoch_checkpoint,
)
from wsol.engine.evaluator import evaluate, method_maps
from wsol.engine.reporting import evaluate_and_report
from wsol.engine.summary import DIAGNOSTIC_PREFIX, HEADLINE, format_summary, selection_key
from wsol.engine.tracking import RunTracker
from wsol.engine.trainer import train_one_epoch
from wsol.errors import ConfigError
from wsol.methods import METHODS
from wsol.methods.base import Method
from wsol.models import build_model
from wsol.utils.distributed import barrier, dist_info, init_distributed, select_device
from wsol.utils.seed import derive_seed, rng_states, seed_everything, set_rng_states

log = logging.getLogger(__name__)


def run_training(
    cfg: RunConfig, resume: bool = False, progress: bool = True, method: Method | None = None
) -> dict[str, Any]:
    """Train ``cfg`` into ``<output_dir>/<name>/`` and return the final metrics.

    Every epoch re-seeds the model RNG and the loader's shuffling from
    ``(seed, epoch, rank)``, so a run resumed from an epoch checkpoint replays exactly
    what an uninterrupted run would have done. ``method`` replaces the method built from
    ``cfg.method`` (cascades pass theirs); a cascade method built from ``cfg.method``
    runs through :func:`wsol.engine.cascade.run_cascade` instead.
    """
    check_checkpoint_choice(cfg.eval.checkpoint)
    if method is None:
        method = METHODS.build(cfg.method, key="method")
        if method.is_cascade:
            from wsol.engine.cascade import run_cascade

            return run_cascade(cfg, method, resume=resume, progress=progress)
    info = dist_info()
    init_distributed(info)
    device = select_device(cfg.device, info)
    torch.use_deterministic_algorithms(cfg.train.deterministic, warn_only=True)
    run_dir = Path(cfg.output_dir) / cfg.name
    ckpt_dir = run_dir / "checkpoints"
    if epoch_checkpoints(ckpt_dir) and not resume:
        raise ConfigError(f"name: {run_dir} already holds checkpoints; pass --resume or choose another name=")
    if info.is_main:
        save_config(cfg, run_dir / "config.yaml")
    seed_everything(derive_seed(cfg.seed, info.rank))

    train_set = build_dataset(cfg, cfg.data.train_split, train=True)
    val_set = build_dataset(cfg, cfg.data.val_split, train=False)
    generator = torch.Generator()
    train_loader = build_loader(train_set, cfg, True, info, generator)
    val_loader = build_loader(val_set, cfg, False, info)

    model = build_model(cfg.model, train_set.num_classes)
    method.setup(model)
    model.to(device)
    if cfg.train.channels_last:
        model.to(memory_format=torch.channels_last)
    optimizer = build_optimizer(model, cfg)
    scheduler = build_scheduler(optimizer, cfg, len(train_loader))
    scaler = torch.amp.GradScaler(device.type) if cfg.train.amp == "fp16" else None

    start_epoch, best = 0, {"value": float("-inf"), "epoch": -1}
    state = load_latest(ckpt_dir) if resume else None
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        set_rng_states(state["rng"])
        start_epoch, best = state["epoch"] + 1, state["best"]
        log.info("resumed from epoch %d", state["epoch"])
    train_model = (
        DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
        if info.enabled
        else model
    )
    if cfg.train.compile:
        train_model = torch.compile(train_model)

    tracker = RunTracker(cfg, run_dir, job_type="train", enabled=info.is_main)
    key = selection_key(val_set.ground_truth)
    started = time.time()
    for epoch in range(start_epoch, cfg.optim.epochs):
        torch.manual_seed(derive_seed(cfg.seed, epoch, info.rank))
        generator.manual_seed(derive_seed(cfg.seed, epoch))
        if info.enabled:
            train_loader.sampler.set_epoch(epoch)
        stats = train_one_epoch(
            train_model,
            method,
            train_loader,
            optimizer,
            scheduler,
            device,
            epoch,
            amp=cfg.train.amp,
            grad_clip=cfg.optim.grad_clip,
            scaler=scaler,
            progress=progress and info.is_main,
        )
        last = epoch == cfg.optim.epochs - 1
        localize = last or (cfg.eval.every_n_epochs > 0 and (epoch + 1) % cfg.eval.every_n_epochs == 0)
        model.eval()
        val = evaluate(
            method_maps(model, method, cfg.train.amp, device),
            val_loader,
            val_set,
            build_metrics(cfg, val_set.ground_truth) if localize else [],
            device,
            desc="val",
            progress=progress and info.is_main,
        )
        record = {
            "epoch": epoch,
            "lr": scheduler.get_last_lr()[0],
            **{f"train/{k}": v for k, v in stats.items()},
            **{f"val/{k}": v for k, v in val.items() if _is_scalar(v)},
        }
        tracker.log(record, step=epoch)
        if info.is_main:
            print(_epoch_line(record), flush=True)
        score = val.get(key, val["top1"]) if localize else float("-inf")
        is_best = score > best["value"] or best["epoch"] < 0
        if is_best:
            best = {"value": score, "epoch": epoch}
        if info.is_main:
            state = {
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "epoch": epoch,
                "best": best,
                "rng": rng_states(),
                "config": to_dict(cfg),
                "num_classes": train_set.num_classes,
            }
            save_epoch_checkpoint(state, ckpt_dir, epoch)
            if is_best:
                atomic_torch_save(state, ckpt_dir / "best.pth")
        barrier()  # no rank reads best.pth before rank 0 has written it
    train_seconds = time.time() - started

    results = final_evaluation(cfg, model, method, device, info, tracker, progress)
    results["train/seconds"] = train_seconds
    results["best_epoch"] = best["epoch"]
    if info.is_main:
        tracker.summary({k: v for k, v in results.items() if _is_scalar(v)})
        if (ckpt_dir / "best.pth").exists():
            best_meta = {"epoch": best["epoch"], f"val/{key}": best["value"]}
            tracker.log_checkpoint(ckpt_dir / "best.pth", ["best", f"epoch-{best['epoch']}"], best_meta)
        print(format_summary(cfg, results), flush=True)
    tracker.finish()
    return results


def final_evaluation(
    cfg: RunConfig, model, method, device: torch.device, info, tracker: RunTracker, progress: bool
) -> dict[str, Any]:
    """Evaluate the ``eval.checkpoint`` weights on val and test into ``<run>/eval``.

    ``last`` (default, as wsolevaluation's ``--eval_checkpoint_type``) scores the weights the
    training ended with; ``best`` reloads the epoch with the best validation localization
    (:func:`wsol.engine.summary.selection_key`). See :mod:`wsol.engine.reporting`.
    """
    run_dir = Path(cfg.output_dir) / cfg.name
    ckpt_dir = run_dir / "checkpoints"
    if epoch_checkpoints(ckpt_dir):  # every rank scores rank 0's saved weights (BatchNorm buffers differ)
        model.load_state_dict(load_evaluated(ckpt_dir, cfg.eval.checkpoint)["model"])
    return evaluate_and_report(cfg, model, method, device, info, run_dir / "eval", tracker, progress=progress)


def _is_scalar(value: Any) -> bool:
    return isinstance(value, (int, float)) or (hasattr(value, "ndim") and value.ndim == 0)


def _epoch_line(record: dict[str, Any]) -> str:
    """One line per epoch: loss, lr and the headline validation numbers present."""
    keys = ["train/loss", "train/top1", "lr"] + [f"val/{k}" for k, _ in HEADLINE]
    keys.append(f"val/{DIAGNOSTIC_PREFIX}partial_highlighting_index")
    parts = [f"epoch {record['epoch']}"] + [f"{k} {record[k]:.4g}" for k in keys if k in record]
    return "  ".join(parts)
