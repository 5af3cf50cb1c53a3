"""Test-wide settings: no network, no W&B, one torch thread per xdist worker."""

import os

os.environ.setdefault("WANDB_MODE", "disabled")
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
os.environ.setdefault("WANDB_SILENT", "true")

import pytest
import torch

if os.environ.get("PYTEST_XDIST_WORKER"):
    torch.set_num_threads(1)


@pytest.fixture(scope="module")
def base_model():
    """An untrained resnet10t CAM model for the METHODS tests (``method_inputs.NUM_CLASSES`` classes)."""
    from method_inputs import NUM_CLASSES

    from wsol.config.schema import BackboneConfig, ModelConfig
    from wsol.models import build_model

    torch.manual_seed(0)
    return build_model(ModelConfig(backbone=BackboneConfig(name="resnet10t")), NUM_CLASSES)
