"""One training epoch."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from typing import Any

import torch
from torch import nn
from tqdm import tqdm

from wsol.errors import ConfigError
from wsol.methods.base import Method


def autocast(device: torch.device, amp: str) -> contextlib.AbstractContextManager:
    """Autocast context for ``amp`` in {none, bf16, fp16}."""
    if amp == "none":
        return contextlib.nullcontext()
    dtypes = {"bf16": torch.bfloat16, "fp16": torch.float16}
    if amp not in dtypes:
        raise ConfigError(f"train.amp: unknown precision {amp!r} (known: none, bf16, fp16)")
    dtype = dtypes[amp]
    return torch.autocast(device_type=device.type, dtype=dtype)


def train_one_epoch(
    model: nn.Module,
    method: Method,
    loader: Iterable[dict[str, Any]],
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    device: torch.device,
    epoch: int,
    amp: str = "none",
    grad_clip: float = 0.0,
    scaler: torch.amp.GradScaler | None = None,
    progress: bool = True,
) -> dict[str, float]:
    """Train for one pass over ``loader``; return mean loss and top-1 accuracy (%)."""
    model.train()
    total_loss, correct, seen = 0.0, 0, 0
    bar = tqdm(loader, desc=f"epoch {epoch}", leave=False, disable=not progress, dynamic_ncols=True)
    for batch in bar:
        images = batch["image"].to(device, non_blocking=True)
        labels = batch["label"].to(device, non_blocking=True)
        with autocast(device, amp):
            loss, output = method.training_step(model, images, labels)
        optimizer.zero_grad(set_to_none=True)
        if scaler is not None:
            scaler.scale(loss).backward()
            scaler.unscale_(optimizer)
        else:
            loss.backward()
        if grad_clip > 0:
            nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
        if scaler is not None:
            scaler.step(optimizer)
            scaler.update()
        else:
            optimizer.step()
        scheduler.step()
        n = labels.shape[0]
        total_loss += loss.item() * n
        correct += (output.logits.argmax(1) == labels).sum().item()
        seen += n
        bar.set_postfix(loss=f"{total_loss / seen:.3f}", top1=f"{100 * correct / seen:.1f}")
    return {"loss": total_loss / max(seen, 1), "top1": 100.0 * correct / max(seen, 1)}
