"""Models: backbones (timm), heads (HEADS registry) and the WSOLModel that joins them."""

from wsol.models.output import ModelOutput
from wsol.models.wsol_model import WSOLModel, build_model

__all__ = ["ModelOutput", "WSOLModel", "build_model"]
