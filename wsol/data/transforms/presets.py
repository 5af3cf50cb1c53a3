"""The augmentation pipelines wsol ships.

``wsol_train`` and ``wsol_eval`` reproduce the protocol of wsolevaluation
(Choe et al., CVPR 2020; clovaai/wsolevaluation ``data_loaders.py``): training resizes
to a ``R x R`` square with ``R = round(S * 256 / 224)``, takes a random ``S x S`` crop
and flips horizontally with probability 0.5; evaluation resizes to ``S x S`` without
cropping. The resize is PIL bilinear, exactly as torchvision's ``Resize`` on PIL images
in the reference, so ``wsol_eval`` images equal the reference's tensors.
"""

from __future__ import annotations

from typing import Any

import albumentations as A
import numpy as np
from PIL import Image

from wsol.data.transforms import TRANSFORMS
from wsol.data.transforms.pipeline import GTTransform


class PILResize(A.Resize):
    """``A.Resize`` whose image resampling is PIL bilinear (antialiased), as torchvision does.

    Masks keep nearest-neighbour resizing and boxes / keypoints the rules of ``A.Resize``.
    """

    def apply(self, img: np.ndarray, **params: Any) -> np.ndarray:
        resized = Image.fromarray(img).resize((self.width, self.height), Image.Resampling.BILINEAR)
        return np.array(resized)


TRAIN_FIELDS: frozenset[str] = frozenset()
"""Ground truth the training transforms ask datasets for: none (training uses the image
and its labels; boxes, masks, part masks and fixations are evaluation ground truth, and
the albumentations draws do not depend on which targets are passed, so dropping them
leaves the augmented training images unchanged)."""


def train_resize_side(image_size: int) -> int:
    """wsolevaluation's train resize (256 for 224) scaled to ``image_size``."""
    return round(image_size * 256 / 224)


@TRANSFORMS.register("wsol_train")
def wsol_train(image_size: int, flip_p: float = 0.5) -> GTTransform:
    """Resize to ``R x R`` (``R = round(S*256/224)``), random ``S x S`` crop, horizontal flip."""
    side = train_resize_side(image_size)
    steps = [
        PILResize(side, side),
        A.RandomCrop(image_size, image_size),
        A.HorizontalFlip(p=flip_p),
    ]
    return GTTransform(steps, image_size, fields=TRAIN_FIELDS)


@TRANSFORMS.register("wsol_eval")
def wsol_eval(image_size: int) -> GTTransform:
    """Resize to ``S x S``, no crop (wsolevaluation's val/test transform)."""
    return GTTransform([PILResize(image_size, image_size)], image_size)


@TRANSFORMS.register("strong_train")
def strong_train(
    image_size: int,
    scale: tuple[float, float] = (0.25, 1.0),
    jitter: float = 0.4,
    flip_p: float = 0.5,
) -> GTTransform:
    """Random resized crop (area ``scale``, ratio 3/4..4/3), flip and colour jitter.

    Not part of wsolevaluation's protocol; an extra for stronger regularisation. The
    default ``scale`` keeps at least a quarter of the image so the object usually stays.
    """
    steps = [
        A.RandomResizedCrop((image_size, image_size), scale=tuple(scale), ratio=(3 / 4, 4 / 3)),
        A.HorizontalFlip(p=flip_p),
        A.ColorJitter(brightness=jitter, contrast=jitter, saturation=jitter, hue=0.0, p=0.8),
    ]
    return GTTransform(steps, image_size, fields=TRAIN_FIELDS)
