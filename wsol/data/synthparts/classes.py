"""The SynthParts classes: a strong cue on a small part, weak cues on the large parts.

Class ``k`` of ``K`` is defined by

* its **cue** (the strong, reliable cue, on a small disc on the head): a saturated hue
  ``k / K`` of the colour circle that nothing else in the images has, painted with one of
  five patterns (``k mod 5``);
* its **body texture** (weak cue): one of five texture kinds (``k mod 5``), replaced by a
  random kind in :data:`TEXTURE_SWAP_PROB` of the objects, with a period that depends on the
  class group ``k // 5`` (coarse or fine) and jitters per object;
* its **build** (weak cue, also by group): body elongation, number of legs and a tail,
  each perturbed per object.

Body colours are random and desaturated for every class, so colour identifies only the cue.
"""

from __future__ import annotations

import colorsys
from dataclasses import dataclass

TEXTURES = ("stripes", "spots", "checker", "waves", "rings")
CUE_PATTERNS = ("rings", "stripes", "checker", "dot", "cross")
TEXTURE_SWAP_PROB = 0.15
BUILD_FLIP_PROB = 0.15


@dataclass(frozen=True)
class ClassSpec:
    """The class-specific parameters of one SynthParts class."""

    name: str
    cue_rgb: tuple[float, float, float]
    cue_pattern: str
    texture: str
    texture_period: float  # pixels, before per-object jitter
    aspect: float  # body length / body height, before jitter
    legs: int
    tail: bool


def class_specs(num_classes: int) -> list[ClassSpec]:
    """The ``num_classes`` class definitions (see the module docstring)."""
    specs = []
    for k in range(num_classes):
        group = k // len(TEXTURES)
        pattern, texture = CUE_PATTERNS[k % 5], TEXTURES[k % 5]
        specs.append(
            ClassSpec(
                name=f"{k:02d}_{pattern}_{texture}",
                cue_rgb=colorsys.hsv_to_rgb(k / num_classes, 1.0, 1.0),
                cue_pattern=pattern,
                texture=texture,
                texture_period=(7.0, 4.0)[group],
                aspect=(1.5, 2.3)[group],
                legs=(2, 4)[group],
                tail=bool(group),
            )
        )
    return specs
