"""WSOLModel: a backbone and a head."""

from __future__ import annotations

from torch import Tensor, nn

from wsol.config.schema import ModelConfig
from wsol.models.backbones import create_backbone
from wsol.models.heads import HEADS
from wsol.models.output import ModelOutput


class WSOLModel(nn.Module):
    """``backbone -> head``; ``forward(images) -> ModelOutput`` (see the HEADS contract).

    A head with ``runs_backbone = True`` (attention layers between stages) is called as
    ``head(backbone, images)`` and runs the backbone's stages itself; any other head as
    ``head(backbone(images))``.
    """

    def __init__(self, backbone: nn.Module, head: nn.Module) -> None:
        super().__init__()
        self.backbone = backbone
        self.head = head

    @property
    def map_kind(self) -> str:
        return self.head.map_kind

    def forward(self, images: Tensor) -> ModelOutput:
        if getattr(self.head, "runs_backbone", False):
            return self.head(self.backbone, images)
        return self.head(self.backbone(images))


def build_model(cfg: ModelConfig, num_classes: int) -> WSOLModel:
    """Build backbone and head from ``cfg`` for ``num_classes`` classes."""
    backbone = create_backbone(cfg.backbone)
    head = HEADS.build(
        cfg.head, key="model.head", in_channels=backbone.channels, num_classes=num_classes, backbone=backbone
    )
    return WSOLModel(backbone, head)
