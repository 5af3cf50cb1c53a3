"""Typed schema of a wsol run config.

A YAML file in ``configs/`` is merged onto :class:`RunConfig`; keys that the schema
does not define are rejected. Sections built from a registry (``data.dataset``,
``model.head``, ``method``, ``eval.explainer``) are mappings ``{name: ..., **options}``
whose options are checked against the registered member's signature when built.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


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
    skip_bad_samples: bool = False  # count and log unreadable samples instead of failing


@dataclass
class BackboneConfig:
    name: str = "resnet18"  # a BACKBONES member or any timm model name
    pretrained: str = "false"  # false | timm | efficientnet_lite0_package | <checkpoint path>
    feature_stage: int = -1  # index into the backbone's feature stages
    stride_one_stages: list[int] = field(default_factory=list)  # stages whose stride becomes 1
    options: dict[str, Any] = field(default_factory=dict)  # extra timm.create_model kwargs


@dataclass
class ModelConfig:
    backbone: BackboneConfig = field(default_factory=BackboneConfig)
    head: dict[str, Any] = field(default_factory=lambda: {"name": "cam"})


@dataclass
class OptimConfig:
    name: str = "sgd"  # sgd | adamw
    lr: float = 0.05
    head_lr_mult: float = 1.0  # wsolevaluation trains new layers at 10x the backbone lr
    momentum: float = 0.9
    weight_decay: float = 1e-4
    epochs: int = 10
    scheduler: str = "cosine"  # cosine | step | none
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
    checkpoint: str = "last"  # last | best (by val localization): the weights the final evaluation scores
    max_val_images: int = 0  # 0: the whole split
    num_overlays: int = 16


@dataclass
class WandbConfig:
    enabled: bool = True
    project: str = "wsol"
    entity: str | None = None
    group: str | None = None  # default: <dataset>/<backbone>
    job_type: str = "train"
    tags: list[str] = field(default_factory=list)
    mode: str = "offline"  # the WANDB_MODE environment variable takes precedence


@dataclass
class TrainConfig:
    log_interval: int = 20
    amp: str = "none"  # none | bf16 | fp16
    channels_last: bool = False
    compile: bool = False
    deterministic: bool = True


@dataclass
class RunConfig:
    name: str = "run"
    seed: int = 0
    output_dir: str = "runs"
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    method: dict[str, Any] = field(default_factory=lambda: {"name": "vanilla"})
    optim: OptimConfig = field(default_factory=OptimConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    wandb: WandbConfig = field(default_factory=WandbConfig)
