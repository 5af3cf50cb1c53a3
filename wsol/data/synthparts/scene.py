"""Compose one SynthParts image: cluttered background, distractors, one or two objects.

Everything is drawn from one generator seeded with ``(seed, split, index)``, so an image
does not depend on which process renders it or on the other images.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from wsol.data.synthparts import draw
from wsol.data.synthparts.classes import TEXTURES, ClassSpec
from wsol.data.synthparts.config import SPLITS, SynthPartsConfig
from wsol.data.synthparts.context import draw_context
from wsol.data.synthparts.fixations import simulate_fixations
from wsol.data.synthparts.objects import (
    CUE,
    Build,
    outline,
    paint_object,
    rasterise,
    sample_build,
    sample_look,
)

SINGLE_SCALE = (0.2, 0.8)  # object box side / image side
PAIR_SCALE = (0.2, 0.5)
PLACEMENT_TRIES = 50


@dataclass
class Scene:
    """One rendered image and its ground truth.

    Attributes:
        image: ``(S, S, 3)`` uint8 RGB.
        label: class index.
        instances: one ``(S, S)`` uint8 part map per object (see :mod:`.objects`).
        fixations: ``(M, 3)`` int64 ``(x, y, observer)``.
        context: ``(S, S)`` bool context band minus the objects (all False without one).
    """

    image: np.ndarray
    label: int
    instances: list[np.ndarray]
    fixations: np.ndarray
    context: np.ndarray


def image_rng(seed: int, split: str, index: int) -> np.random.Generator:
    return np.random.default_rng([seed, SPLITS.index(split), index])


def render_scene(
    config: SynthPartsConfig, specs: list[ClassSpec], split: str, index: int, grid: draw.Grid
) -> Scene:
    """Render image ``index`` of ``split``; ``grid`` is ``draw.pixel_grid(config.image_size)``."""
    rng = image_rng(config.seed, split, index)
    size = config.image_size
    label = int(rng.integers(len(specs)))
    image = _background(rng, size)
    band = draw_context(config, split, index, label, image)
    _distractors(rng, image, grid)
    count = 2 if rng.random() < config.two_object_prob else 1
    instances: list[np.ndarray] = []
    taken: list[tuple[float, float, float, float]] = []
    spec = specs[label]
    for _ in range(count):
        build = sample_build(rng, spec)
        pose = _place(rng, build, size, SINGLE_SCALE if count == 1 else PAIR_SCALE, taken)
        if pose is None:  # no room left for a second object
            continue
        parts = rasterise(build, pose, grid)
        paint_object(rng, image, parts, spec, build, sample_look(rng, spec), pose, grid)
        instances.append(parts)
    pixels = np.clip(np.rint(image * 255.0), 0, 255).astype(np.uint8)
    union = np.logical_or.reduce([p > 0 for p in instances])
    cue = np.logical_or.reduce([p == CUE for p in instances])
    fixations = simulate_fixations(rng, union, cue, config.num_observers)
    return Scene(pixels, label, instances, fixations, band & ~union)


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    base = draw.muted_colour(rng)
    tint = 0.12 * draw.smooth_noise(rng, size, 3, 3)
    blotches = 0.12 * draw.smooth_noise(rng, size, int(rng.integers(5, 12)))
    grain = 0.05 * draw.smooth_noise(rng, size, size // 3)
    return np.clip(base + tint + blotches + grain, 0.0, 1.0).astype(np.float32)


def _distractors(rng: np.random.Generator, image: np.ndarray, grid: draw.Grid) -> None:
    """Class-agnostic clutter: textured body-like blobs, limb-like sticks, head-like discs
    (some with a plain eye-like dot) and small, moderately saturated confetti."""
    size = image.shape[0]
    kinds = ["blob"] * int(rng.integers(1, 4)) + ["limb"] * int(rng.integers(0, 4))
    kinds += ["disc"] * int(rng.integers(0, 3)) + ["confetti"] * int(rng.poisson(0.7))
    for kind in rng.permutation(kinds):
        x, y = rng.uniform(0, size, 2)
        scale = size * rng.uniform(0.04, 0.12) if kind != "confetti" else rng.uniform(1.5, 4.0)
        pose = draw.Pose(x, y, rng.uniform(0, 2 * np.pi), scale)
        reach = 1.25 * scale
        win = draw.window((x - reach, y - reach, x + reach, y + reach), size)
        u, v = pose.local(draw.crop(grid, win))
        _DISTRACTORS[kind](rng, image[win], u, v, scale)


def _blob(rng: np.random.Generator, image: np.ndarray, u: np.ndarray, v: np.ndarray, scale: float) -> None:
    shape = draw.superellipse(u, v, (0.0, 0.0), (1.0, rng.uniform(0.4, 0.9)), rng.uniform(2.0, 3.5))
    kind = TEXTURES[rng.integers(len(TEXTURES))]
    pattern = draw.texture(kind, u * scale, v * scale, rng.uniform(3.5, 8.0), rng.random(2))
    draw.paint(image, shape, draw.shaded(draw.muted_colour(rng), pattern, rng.uniform(0.25, 0.55)))


def _limb(rng: np.random.Generator, image: np.ndarray, u: np.ndarray, v: np.ndarray, scale: float) -> None:
    end = (1.0, rng.uniform(-0.4, 0.4))
    draw.paint(image, draw.capsule(u, v, (-1.0, 0.0), end, rng.uniform(0.1, 0.2)), draw.muted_colour(rng))


def _disc(rng: np.random.Generator, image: np.ndarray, u: np.ndarray, v: np.ndarray, scale: float) -> None:
    radius = rng.uniform(0.3, 0.5)
    draw.paint(image, draw.disc(u, v, (0.0, 0.0), radius), draw.muted_colour(rng))
    if rng.random() < 0.5:
        draw.paint(image, draw.disc(u, v, (0.0, 0.0), 0.5 * radius), draw.muted_colour(rng))


def _confetti(
    rng: np.random.Generator, image: np.ndarray, u: np.ndarray, v: np.ndarray, scale: float
) -> None:
    colour = draw.hsv(rng.random(), rng.uniform(0.45, 0.75), rng.uniform(0.6, 0.95))
    draw.paint(image, draw.disc(u, v, (0.0, 0.0), 1.0), colour)


_DISTRACTORS = {"blob": _blob, "limb": _limb, "disc": _disc, "confetti": _confetti}


def _place(
    rng: np.random.Generator,
    build: Build,
    size: int,
    scale_range: tuple[float, float],
    taken: list[tuple[float, float, float, float]],
) -> draw.Pose | None:
    """A pose whose object box side is ``scale_range`` x ``size``, inside the image and
    clear of the boxes in ``taken`` (appended to); None after :data:`PLACEMENT_TRIES`."""
    u, v = outline(build)
    for _ in range(PLACEMENT_TRIES):
        angle, flip = rng.uniform(0, 2 * math.pi), int(rng.choice((-1, 1)))
        dx, dy = draw.Pose(0.0, 0.0, angle, 1.0, flip).offsets(u, v)
        extent = max(np.ptp(dx), np.ptp(dy))
        scale = rng.uniform(*scale_range) * (size - 1) / extent
        dx, dy = dx * scale, dy * scale
        x = rng.uniform(-dx.min(), size - 1 - dx.max())
        y = rng.uniform(-dy.min(), size - 1 - dy.max())
        box = (x + dx.min(), y + dy.min(), x + dx.max(), y + dy.max())
        if not any(_overlap(box, other) for other in taken):
            taken.append(box)
            return draw.Pose(x, y, angle, scale, flip)
    return None


def _overlap(a: tuple[float, ...], b: tuple[float, ...], margin: float = 2.0) -> bool:
    return a[0] <= b[2] + margin and b[0] <= a[2] + margin and a[1] <= b[3] + margin and b[1] <= a[3] + margin
