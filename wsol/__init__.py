"""wsol: weakly-supervised object localization in PyTorch."""

import os

# albumentations checks PyPI for a newer version on import unless told not to.
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

__version__ = "0.1.0"
