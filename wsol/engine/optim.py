"""The optimizer and the per-iteration learning-rate schedule of a run."""

from __future__ import annotations

import math

import torch
from torch import nn

from wsol.config import RunConfig


def build_optimizer(model: nn.Module, cfg: RunConfig) -> torch.optim.Optimizer:
    """SGD or AdamW (``optim.name``, checked when the config loads); parameters outside the
    pretrained backbone body train at ``head_lr_mult`` x lr."""
    body, rest = [], []
    for name, param in model.named_parameters():
        if param.requires_grad:
            (body if name.startswith("backbone.body.") else rest).append(param)
    o = cfg.optim
    groups = [{"params": body, "lr": o.lr}, {"params": rest, "lr": o.lr * o.head_lr_mult}]
    if o.name == "sgd":
        return torch.optim.SGD(
            groups, lr=o.lr, momentum=o.momentum, weight_decay=o.weight_decay, nesterov=False
        )
    return torch.optim.AdamW(groups, lr=o.lr, weight_decay=o.weight_decay)


def build_scheduler(optimizer: torch.optim.Optimizer, cfg: RunConfig, steps_per_epoch: int):
    """Per-iteration schedule: linear warm-up, then cosine decay, steps, or a constant."""
    o = cfg.optim
    total = max(1, o.epochs * steps_per_epoch)
    warmup = int(o.warmup_epochs * steps_per_epoch)

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        if o.scheduler == "cosine":
            progress = (step - warmup) / max(1, total - warmup)
            return 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))
        if o.scheduler == "step":
            return o.gamma ** (step // (o.step_size * steps_per_epoch))
        return 1.0

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
