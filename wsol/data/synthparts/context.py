"""Context bias: a class-specific background band that co-occurs with the class.

The classic failure of a CAM besides partial highlighting is sitting on something that
co-occurs with the class rather than on the object ("boat" maps lighting up water). With
``context_share = p`` a training image shows, with probability ``p``, a band across the
image (25 to 40 % of its height, at a random height) painted with its class's context: a
striped texture of hue ``(k + 0.5) / K`` (between the cue hues ``k / K``) with stripes at
angle ``pi k / K`` for class ``k`` of ``K``. Validation and test images get one with
probability ``context_eval_share`` (0 by default: the context does not come with the class
at test). Objects are painted over the band; its ground truth, the part mask ``context``,
is the band minus the objects (all zero in images without a band).

The band draws from its own generator ``(seed, split, index, CONTEXT_STREAM)``, so an image
with or without its band has the same background, clutter and objects, and with both
shares 0 (the default) nothing here runs and the dataset is byte-identical to one
generated before the option existed.
"""

from __future__ import annotations

import math

import numpy as np

from wsol.data.synthparts import draw
from wsol.data.synthparts.config import SPLITS, SynthPartsConfig

CONTEXT_STREAM = 1
BAND_HEIGHT = (0.25, 0.4)  # share of the image height
STRIPE_PERIOD = 6.0  # pixels
SATURATION, VALUE, CONTRAST = 0.55, 0.8, 0.35


def context_probability(config: SynthPartsConfig, split: str) -> float:
    return config.context_share if split == "train" else config.context_eval_share


def draw_context(
    config: SynthPartsConfig, split: str, index: int, label: int, image: np.ndarray
) -> np.ndarray:
    """Paint image ``index``'s context band into ``image`` (float RGB) if it gets one; return the band
    as a ``(S, S)`` bool mask (all False without a band)."""
    size = image.shape[0]
    band = np.zeros((size, size), bool)
    p = context_probability(config, split)
    if p <= 0:
        return band
    rng = np.random.default_rng([config.seed, SPLITS.index(split), index, CONTEXT_STREAM])
    if rng.random() >= p:
        return band
    height = round(rng.uniform(*BAND_HEIGHT) * size)
    top = int(rng.integers(0, size - height + 1))
    band[top : top + height] = True
    angle = math.pi * label / config.num_classes
    ys, xs = np.mgrid[top : top + height, 0:size].astype(np.float32)
    u = xs * math.cos(angle) + ys * math.sin(angle)
    stripes = draw.texture("stripes", u, u, STRIPE_PERIOD, rng.random(2))
    colour = draw.hsv((label + 0.5) / config.num_classes, SATURATION, VALUE)
    image[top : top + height] = draw.shaded(colour, stripes, CONTRAST)
    return band
