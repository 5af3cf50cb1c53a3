"""Models: backbones (timm), attention layers (ATTENTION registry), heads (HEADS registry) and
the WSOLModel that joins backbone and head."""

from wsol.models.output import ModelOutput
from wsol.models.wsol_model import WSOLModel, build_model

__all__ = ["ModelOutput", "WSOLModel", "build_model"]
