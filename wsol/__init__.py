"""wsol: weakly-supervised object localization in PyTorch."""

import os

# albumentations checks PyPI for a newer version on import unless told not to.
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

__version__ = "0.1.0"

__all__ = ["load_model"]


def __getattr__(name: str):
    """``wsol.load_model``, imported on first use (``import wsol`` stays light)."""
    if name == "load_model":
        from wsol.checkpoints.loading import load_model

        return load_model
    raise AttributeError(f"module 'wsol' has no attribute {name!r}")
