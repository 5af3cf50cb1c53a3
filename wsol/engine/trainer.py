"""One training epoch: the optimisation step repeated over a loader."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from tqdm import tqdm

from wsol.methods.base import Method
from wsol.utils.precision import autocast

log = logging.getLogger(__name__)


@dataclass
class Optimisation:
    """What one optimisation step needs: the trained module (DDP or compiled wrapper included),
    the method that computes the loss, the optimizer, its per-iteration schedule and precision."""

    model: nn.Module
    method: Method
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    device: torch.device
    amp: str = "none"
    grad_clip: float = 0.0
    scaler: torch.amp.GradScaler | None = None

    def step(self, images: torch.Tensor, labels: torch.Tensor) -> tuple[float, int]:
        """One step on a batch; returns the loss and the number of correct top-1 predictions."""
        with autocast(self.device, self.amp):
            loss, output = self.method.training_step(self.model, images, labels)
        self.optimizer.zero_grad(set_to_none=True)
        if self.scaler is not None:
            self.scaler.scale(loss).backward()
            self.scaler.unscale_(self.optimizer)
        else:
            loss.backward()
        if self.grad_clip > 0:
            nn.utils.clip_grad_norm_(self.model.parameters(), self.grad_clip)
        if self.scaler is not None:
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            self.optimizer.step()
        self.scheduler.step()
        return loss.item(), int((output.logits.argmax(1) == labels).sum().item())


def train_one_epoch(
    opt: Optimisation, loader: Iterable[dict[str, Any]], epoch: int, progress: bool = True
) -> dict[str, float]:
    """Train for one pass over ``loader``; return mean loss and top-1 accuracy (%).

    Samples that the dataset skipped as unreadable (``skip_bad_samples``, counted per batch
    by :func:`~wsol.data.collate.collate_samples`) are added up and logged once per epoch.
    """
    opt.model.train()
    total_loss, correct, seen, skipped = 0.0, 0, 0, 0
    bar = tqdm(loader, desc=f"epoch {epoch}", leave=False, disable=not progress, dynamic_ncols=True)
    for batch in bar:
        skipped += batch.get("num_skipped", 0)
        images = batch["image"].to(opt.device, non_blocking=True)
        labels = batch["label"].to(opt.device, non_blocking=True)
        loss, right = opt.step(images, labels)
        n = labels.shape[0]
        total_loss += loss * n
        correct += right
        seen += n
        bar.set_postfix(loss=f"{total_loss / seen:.3f}", top1=f"{100 * correct / seen:.1f}")
    if skipped:
        log.warning("epoch %d: %d unreadable samples skipped", epoch, skipped)
    return {"loss": total_loss / max(seen, 1), "top1": 100.0 * correct / max(seen, 1)}
