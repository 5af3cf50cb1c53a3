"""What the 2020-2024 CAM-based methods need of a model: its last features and linear classifier."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from wsol.errors import ConfigError
from wsol.models.output import ModelOutput


def linear_classifier(model: nn.Module, method: str) -> nn.Linear:
    """The head's ``classifier`` (an ``nn.Linear`` on the last stage's channels: the CAM head)."""
    classifier = getattr(model.head, "classifier", None)
    if not isinstance(classifier, nn.Linear):
        raise ConfigError(f"method {method} needs a head with a linear classifier (model.head.name: cam)")
    return classifier


def forward_with_features(model: nn.Module, images: Tensor) -> tuple[list[Tensor], ModelOutput]:
    """The backbone's features and the head's output for ``images`` (one pass through each)."""
    features = model.backbone(images)
    return features, model.head(features)


def class_activation(classifier: nn.Linear, features: Tensor, classes: Tensor) -> Tensor:
    """``(B, h, w)`` CAM ``sum_k w_{c_b, k} F_b,k`` of class ``classes[b]`` for ``features (B, C, h, w)``."""
    return torch.einsum("bk,bkhw->bhw", classifier.weight[classes], features)
