"""A whole training run: build from the config, train, validate, checkpoint, test, summarise.

Every epoch re-seeds the model RNG and the loader's shuffling from ``(seed, epoch, rank)``,
so a run resumed from an epoch checkpoint replays exactly what an uninterrupted run would
have done. The final evaluation scores the ``eval.checkpoint`` weights: ``last`` (default,
as wsolevaluation's ``--eval_checkpoint_type``) or ``best`` (the epoch with the best
validation localization, :func:`wsol.keys.selection_key`).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import torch
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader

from wsol import keys
from wsol.checkpoints.files import (
    epoch_checkpoints,
    load_evaluated,
    load_latest,
    save_epoch_checkpoint,
)
from wsol.config import RunConfig, save_config, to_dict
from wsol.data.dataset import WSOLDataset
from wsol.data.loaders import build_dataset, build_loader
from wsol.data.validate import validate_run
from wsol.engine.optim import build_optimizer, build_scheduler
from wsol.engine.trainer import Optimisation, train_one_epoch
from wsol.errors import ConfigError
from wsol.evaluation.loop import Stream, evaluate
from wsol.evaluation.maps import MapSource, method_maps
from wsol.evaluation.protocol import EvalContext, evaluate_and_report
from wsol.methods.base import Method
from wsol.metrics import create_metrics
from wsol.models import WSOLModel, build_model
from wsol.report.summary import epoch_line, format_summary
from wsol.report.tracking import RunTracker
from wsol.run_files import BEST, RunDir
from wsol.utils.atomic import atomic_torch_save
from wsol.utils.distributed import DistInfo, barrier, dist_info, init_distributed, select_device
from wsol.utils.seed import derive_seed, rng_states, seed_everything, set_rng_states

log = logging.getLogger(__name__)


@dataclass
class Best:
    """The best validation score so far and its epoch (-1: none yet)."""

    value: float = float("-inf")
    epoch: int = -1


@dataclass
class TrainingRun:
    """Everything one run builds before its first step."""

    cfg: RunConfig
    info: DistInfo
    run: RunDir
    train_set: WSOLDataset
    val_set: WSOLDataset
    train_loader: DataLoader
    val_loader: DataLoader
    generator: torch.Generator
    model: WSOLModel
    opt: Optimisation
    start_epoch: int = 0
    best: Best = field(default_factory=Best)


def run_training(
    cfg: RunConfig, method: Method, resume: bool = False, progress: bool = True
) -> dict[str, Any]:
    """Train ``cfg`` with ``method`` into ``<output_dir>/<name>/`` and return the final metrics."""
    run = prepare(cfg, method, resume)
    tracker = RunTracker(cfg, run.run.root, job_type="train", enabled=run.info.is_main)
    started = time.time()
    for epoch in range(run.start_epoch, cfg.optim.epochs):
        run_epoch(run, epoch, tracker, progress)
    train_seconds = time.time() - started
    results = final_evaluation(run, tracker, progress)
    results[keys.TRAIN_SECONDS] = train_seconds
    results[keys.BEST_EPOCH] = run.best.epoch
    if run.info.is_main:
        tracker.summary({k: v for k, v in results.items() if _is_scalar(v)})
        log_best_checkpoint(run, tracker)
        print(format_summary(cfg, results), flush=True)
    tracker.finish()
    return results


def prepare(cfg: RunConfig, method: Method, resume: bool) -> TrainingRun:
    """Seed, build data, model and optimizer (in this order: it fixes the RNG streams), restore."""
    info = dist_info()
    init_distributed(info)
    device = select_device(cfg.device, info)
    torch.use_deterministic_algorithms(cfg.train.deterministic, warn_only=True)
    run = RunDir.of(cfg.output_dir, cfg.name)
    if epoch_checkpoints(run.checkpoints) and not resume:
        raise ConfigError(
            f"name: {run.root} already holds checkpoints; pass --resume or choose another name="
        )
    seed_everything(derive_seed(cfg.seed, info.rank))

    train_set = build_dataset(cfg, cfg.data.train_split, train=True)
    val_set = build_dataset(cfg, cfg.data.val_split, train=False)
    validate_run(cfg, {cfg.data.train_split: train_set, cfg.data.val_split: val_set})  # every split, now
    if info.is_main:
        save_config(cfg, run.config)
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
    opt = Optimisation(
        model, method, optimizer, scheduler, device, cfg.train.amp, cfg.optim.grad_clip, scaler
    )
    training = TrainingRun(
        cfg, info, run, train_set, val_set, train_loader, val_loader, generator, model, opt
    )
    if resume:
        restore(training)
    opt.model = wrap_for_training(model, cfg, info, device)
    return training


def restore(run: TrainingRun) -> None:
    """Continue from the newest readable epoch checkpoint, if there is one."""
    state = load_latest(run.run.checkpoints)
    if state is None:
        log.warning("--resume: no checkpoint in %s yet; starting at epoch 0", run.run.checkpoints)
        return
    run.model.load_state_dict(state["model"])
    run.opt.optimizer.load_state_dict(state["optimizer"])
    run.opt.scheduler.load_state_dict(state["scheduler"])
    set_rng_states(state["rng"])
    run.start_epoch, run.best = state["epoch"] + 1, Best(**state["best"])
    log.info("resumed from epoch %d", state["epoch"])


def wrap_for_training(
    model: WSOLModel, cfg: RunConfig, info: DistInfo, device: torch.device
) -> torch.nn.Module:
    """``model`` in DDP when distributed, compiled when ``train.compile``."""
    wrapped = (
        DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
        if info.enabled
        else model
    )
    return torch.compile(wrapped) if cfg.train.compile else wrapped


def run_epoch(run: TrainingRun, epoch: int, tracker: RunTracker, progress: bool) -> None:
    """Train one epoch, validate, log, and checkpoint (rank 0)."""
    cfg, info = run.cfg, run.info
    torch.manual_seed(derive_seed(cfg.seed, epoch, info.rank))
    run.generator.manual_seed(derive_seed(cfg.seed, epoch))
    if info.enabled:
        run.train_loader.sampler.set_epoch(epoch)
    stats = train_one_epoch(run.opt, run.train_loader, epoch, progress and info.is_main)
    if epoch == cfg.optim.epochs - 1:
        fit_method(run)
    localize = epoch == cfg.optim.epochs - 1 or (
        cfg.eval.every_n_epochs > 0 and (epoch + 1) % cfg.eval.every_n_epochs == 0
    )
    val = validate(run, localize, progress)
    record = {
        keys.EPOCH: epoch,
        keys.LR: run.opt.scheduler.get_last_lr()[0],
        **keys.prefixed("train", stats),
        **keys.prefixed("val", {k: v for k, v in val.items() if _is_scalar(v)}),
    }
    tracker.log(record, step=epoch)
    if info.is_main:
        print(epoch_line(record), flush=True)
    key = keys.selection_key(run.val_set.ground_truth)
    score = val.get(key, val[keys.TOP1]) if localize else float("-inf")
    is_best = score > run.best.value or run.best.epoch < 0
    if is_best:
        run.best = Best(score, epoch)
    if info.is_main:
        save_checkpoints(run, epoch, is_best)
    barrier()  # no rank reads best.pth before rank 0 has written it


def fit_method(run: TrainingRun) -> None:
    """A method with dataset statistics (``fit(model, images)``: PC1, PSOL) fits them exactly on
    the training split after the last epoch, so the last checkpoint holds them. Images come with
    the eval transform, every image on every rank (the ranks' statistics agree)."""
    if not run.opt.method.fits_statistics:
        return
    dataset = build_dataset(run.cfg, run.cfg.data.train_split, train=False)
    loader = build_loader(dataset, run.cfg, False, DistInfo())
    run.opt.method.fit(run.model, (batch["image"].to(run.opt.device, non_blocking=True) for batch in loader))


def validate(run: TrainingRun, localize: bool, progress: bool) -> dict[str, Any]:
    """Top-1 on val, plus every localization metric when ``localize``."""
    cfg = run.cfg
    run.model.eval()
    metrics = create_metrics(cfg.eval, run.val_set.ground_truth) if localize else []
    map_fn = method_maps(run.model, run.opt.method, cfg.train.amp, run.opt.device)
    stream = Stream(run.val_loader, run.val_set, metrics, desc="val")
    return evaluate(map_fn, stream, run.opt.device, progress and run.info.is_main)


def save_checkpoints(run: TrainingRun, epoch: int, is_best: bool) -> None:
    """The epoch checkpoint (two kept) and, for the best epoch so far, ``best.pth``."""
    state = {
        "model": run.model.state_dict(),
        "optimizer": run.opt.optimizer.state_dict(),
        "scheduler": run.opt.scheduler.state_dict(),
        "epoch": epoch,
        "best": {"value": run.best.value, "epoch": run.best.epoch},
        "rng": rng_states(),
        "config": to_dict(run.cfg),
        "num_classes": run.train_set.num_classes,
    }
    save_epoch_checkpoint(state, run.run.checkpoints, epoch)
    if is_best:
        atomic_torch_save(state, run.run.checkpoints / BEST)


def final_evaluation(run: TrainingRun, tracker: RunTracker, progress: bool) -> dict[str, Any]:
    """Evaluate the ``eval.checkpoint`` weights on val and test into ``<run>/eval``."""
    cfg = run.cfg
    if epoch_checkpoints(run.run.checkpoints):  # every rank scores rank 0's saved weights
        run.model.load_state_dict(load_evaluated(run.run.checkpoints, cfg.eval.checkpoint)["model"])
    ctx = EvalContext(cfg, run.opt.device, run.info, progress)
    return evaluate_and_report(ctx, MapSource(run.model, run.opt.method), run.run.eval_dir, tracker)


def log_best_checkpoint(run: TrainingRun, tracker: RunTracker) -> None:
    """``best.pth`` as the run's W&B ``model`` artifact (nothing without W&B)."""
    path = run.run.checkpoints / BEST
    if path.exists():
        key = keys.selection_key(run.val_set.ground_truth)
        meta = {keys.EPOCH: run.best.epoch, keys.split_key("val", key): run.best.value}
        tracker.log_checkpoint(path, ["best", f"epoch-{run.best.epoch}"], meta)


def _is_scalar(value: Any) -> bool:
    return isinstance(value, (int, float)) or (hasattr(value, "ndim") and value.ndim == 0)
