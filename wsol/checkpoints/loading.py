"""Rebuild a trained model from its checkpoint: the one way training, evaluation and users load one.

``wsol.load_model(path)`` returns a :class:`~wsol.methods.localizer.Localizer` in eval
mode: the checkpoint's model with the method that makes its maps. For a cascade stage
checkpoint (``<run>/stage_<k>/checkpoints/*.pth``) the method holds stages ``0..k-1``,
loaded from the sibling stage folders with the run's ``eval.checkpoint`` choice, exactly
as training evaluated stage ``k``; so the fused map is the one the run reported. No
pretrained weights are fetched: every weight comes from the checkpoints.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from torch import nn

from wsol.checkpoints.files import load_checkpoint, load_evaluated
from wsol.config import RunConfig, load_checkpoint_config, load_config
from wsol.config.schema import ModelConfig
from wsol.methods import METHODS
from wsol.methods.base import CascadeMethod
from wsol.methods.localizer import Localizer
from wsol.models import WSOLModel, build_model
from wsol.run_files import RunDir


def load_model(path: str | os.PathLike, overrides: Sequence[str] = ()) -> Localizer:
    """The model of the wsol checkpoint ``path`` (config ``overrides`` applied; they may not
    change its architecture, see :func:`wsol.config.load_checkpoint_config`), on CPU, in eval mode."""
    path = Path(path)
    state = load_checkpoint(path)
    cfg = load_checkpoint_config(state["config"], list(overrides))
    return localizer_from_state(state, cfg, RunDir.of_checkpoint(path))


def localizer_from_state(state: dict[str, Any], cfg: RunConfig, run: RunDir) -> Localizer:
    """The :class:`Localizer` of a loaded checkpoint ``state`` of the run ``run`` under ``cfg``."""
    model = model_from_state(cfg.model, state)
    method = METHODS.build(cfg.method, key="method")
    method.setup(model)
    model.load_state_dict(state["model"])
    if isinstance(method, CascadeMethod):
        for stage in earlier_stages(run):
            method.add_stage(load_stage(stage, cfg.eval.checkpoint))
    return Localizer(model, method, state["num_classes"], state["config"]).eval()


def model_from_state(cfg: ModelConfig, state: dict[str, Any]) -> WSOLModel:
    """An untrained model of the checkpoint's architecture, built without fetching pretrained weights."""
    return build_model(without_pretrained(cfg), state["num_classes"])


def without_pretrained(cfg: ModelConfig) -> ModelConfig:
    """``cfg`` with no pretrained weights to fetch (the weights come from a checkpoint)."""
    backbone = dataclasses.replace(cfg.backbone, weights="none", checkpoint=None)
    return dataclasses.replace(cfg, backbone=backbone)


def load_stage(stage: RunDir, choice: str) -> nn.Module:
    """The ``choice`` (``last`` / ``best``) weights of a finished cascade stage, frozen in eval mode."""
    state = load_evaluated(stage.checkpoints, choice)
    cfg = load_config(None, [], base=state["config"])
    model = model_from_state(cfg.model, state)
    model.load_state_dict(state["model"])
    return model.eval().requires_grad_(False)


def earlier_stages(run: RunDir) -> list[RunDir]:
    """The stage folders before ``run`` in its cascade (empty unless ``run`` is ``.../stage_<k>``)."""
    k = run.stage_index()
    return [] if k is None else [RunDir(run.root.parent).stage(j) for j in range(k)]
