"""One SynthParts object: its build (geometry in object units) and how it is drawn.

An object is a textured body (a superellipse, semi-length 1), a head disc at its front
end, legs and sometimes a tail (the *limbs*) and, on the head, the small *cue* disc that
carries the class's saturated colour and pattern. The cue covers at most
:data:`MAX_CUE_RATIO` of the object's pixels (enforced after rasterising).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from wsol.data.synthparts import draw
from wsol.data.synthparts.classes import BUILD_FLIP_PROB, TEXTURE_SWAP_PROB, TEXTURES, ClassSpec

PART_NAMES = ("body", "head", "limbs", "cue")  # part label k + 1 in a part map
BODY, HEAD, LIMBS, CUE = 1, 2, 3, 4
MAX_CUE_RATIO = 0.15
MIN_LIMB_PIXELS = 1.0  # limb radius floor, so that thin limbs survive small scales
MIN_CUE_PIXELS = 2.0

Point = tuple[float, float]


@dataclass(frozen=True)
class Build:
    """Geometry of one object in units of the body's semi-length."""

    half_height: float
    exponent: float
    head: Point
    head_radius: float
    cue: Point
    cue_radius: float
    limbs: tuple[tuple[Point, Point], ...]
    limb_radius: float


@dataclass(frozen=True)
class Look:
    """Colours and textures of one object."""

    body_rgb: np.ndarray
    head_rgb: np.ndarray
    limb_rgb: np.ndarray
    texture: str
    period: float
    phase: np.ndarray
    contrast: float


def sample_build(rng: np.random.Generator, spec: ClassSpec) -> Build:
    """Per-object geometry: the class's build, perturbed (see :mod:`.classes`)."""
    aspect = spec.aspect * math.exp(rng.normal(0.0, 0.12))
    b = 1.0 / aspect
    legs = spec.legs if rng.random() >= BUILD_FLIP_PROB else 6 - spec.legs
    tail = spec.tail != (rng.random() < BUILD_FLIP_PROB)
    head_radius = rng.uniform(0.34, 0.42)
    head = (1.0 + 0.5 * head_radius, 0.3 * b)
    limbs = []
    for u in np.linspace(-0.55, 0.55, legs):
        length = rng.uniform(0.45, 0.65)
        limbs.append(((u, -0.6 * b), (u + rng.uniform(-0.2, 0.2), -b - length)))
    if tail:
        limbs.append(((-0.85, 0.1 * b), (-1.6, rng.uniform(0.1, 0.5))))
    return Build(
        half_height=b,
        exponent=rng.uniform(2.0, 3.5),
        head=head,
        head_radius=head_radius,
        cue=(head[0] + 0.1 * head_radius, head[1] + 0.05 * head_radius),
        cue_radius=rng.uniform(0.78, 0.9) * head_radius,
        limbs=tuple(limbs),
        limb_radius=rng.uniform(0.06, 0.09),
    )


def sample_look(rng: np.random.Generator, spec: ClassSpec) -> Look:
    body = draw.muted_colour(rng)
    swap = rng.random() < TEXTURE_SWAP_PROB
    return Look(
        body_rgb=body,
        head_rgb=body * rng.uniform(0.7, 0.9),
        limb_rgb=body * rng.uniform(0.55, 0.8),
        texture=TEXTURES[rng.integers(len(TEXTURES))] if swap else spec.texture,
        period=spec.texture_period * math.exp(rng.normal(0.0, 0.12)),
        phase=rng.random(2),
        contrast=rng.uniform(0.3, 0.55),
    )


def outline(build: Build) -> tuple[np.ndarray, np.ndarray]:
    """Points on the boundary of every part (local units), to measure the object's extent."""
    t = np.linspace(0.0, 2.0 * np.pi, 48, endpoint=False)
    cos, sin = np.cos(t), np.sin(t)
    power = 2.0 / build.exponent
    us = [np.sign(cos) * np.abs(cos) ** power]
    vs = [build.half_height * np.sign(sin) * np.abs(sin) ** power]
    circles = [(build.head, build.head_radius)] + [(p, build.limb_radius) for seg in build.limbs for p in seg]
    for (cu, cv), r in circles:
        us.append(cu + r * cos)
        vs.append(cv + r * sin)
    return np.concatenate(us), np.concatenate(vs)


def rasterise(build: Build, pose: draw.Pose, grid: draw.Grid) -> np.ndarray:
    """``(H, W)`` uint8 part map (0 = outside, else BODY/HEAD/LIMBS/CUE) of the object.

    The cue disc is shrunk until it covers at most :data:`MAX_CUE_RATIO` of the object.
    """
    parts = np.zeros(grid[0].shape, dtype=np.uint8)
    dx, dy = pose.offsets(*outline(build))
    win = draw.window(
        (pose.x + dx.min(), pose.y + dy.min(), pose.x + dx.max(), pose.y + dy.max()), parts.shape[0]
    )
    u, v = pose.local(draw.crop(grid, win))
    sub = parts[win]
    limb_radius = max(build.limb_radius, MIN_LIMB_PIXELS / pose.scale)
    for p0, p1 in build.limbs:
        sub[draw.capsule(u, v, p0, p1, limb_radius)] = LIMBS
    sub[draw.superellipse(u, v, (0.0, 0.0), (1.0, build.half_height), build.exponent)] = BODY
    sub[draw.disc(u, v, build.head, build.head_radius)] = HEAD
    cue_radius = max(build.cue_radius, MIN_CUE_PIXELS / pose.scale)
    area = np.count_nonzero(sub)
    while True:
        cue = draw.disc(u, v, build.cue, cue_radius) & (sub > 0)
        if np.count_nonzero(cue) <= MAX_CUE_RATIO * area:
            break
        cue_radius *= 0.9
    sub[cue] = CUE
    return parts


def paint_object(
    rng: np.random.Generator,
    image: np.ndarray,
    parts: np.ndarray,
    spec: ClassSpec,
    build: Build,
    look: Look,
    pose: draw.Pose,
    grid: draw.Grid,
) -> None:
    """Paint an object whose part map is ``parts`` into ``image`` (float RGB in [0, 1])."""
    ys, xs = np.nonzero(parts)
    win = draw.window((xs.min(), ys.min(), xs.max(), ys.max()), image.shape[0], margin=0)
    u, v = pose.local(draw.crop(grid, win))
    shade = draw.smooth_noise(rng, image.shape[0], 12)[win][..., 0]
    parts, image = parts[win], image[win]
    draw.paint(image, parts == LIMBS, draw.shaded(look.limb_rgb, shade, 0.15))
    pattern = draw.texture(look.texture, u * pose.scale, v * pose.scale, look.period, look.phase)
    draw.paint(image, parts == BODY, draw.shaded(look.body_rgb, pattern + 0.3 * shade, look.contrast))
    draw.paint(image, parts == HEAD, draw.shaded(look.head_rgb, shade, 0.2))
    cue = parts == CUE
    if cue.any():
        draw.paint(image, cue, _cue_field(spec, u - build.cue[0], v - build.cue[1], build.cue_radius))


def _cue_field(spec: ClassSpec, du: np.ndarray, dv: np.ndarray, radius: float) -> np.ndarray:
    """The class colour with the class pattern, in the cue disc's frame."""
    pu, pv = du / radius, dv / radius
    second = np.array([0.1, 0.1, 0.1] if spec.cue_pattern in ("checker", "cross") else [1.0, 1.0, 1.0])
    if spec.cue_pattern == "rings":
        alt = np.sin(2 * np.pi * np.sqrt(pu * pu + pv * pv) / 0.6) > 0.5
    elif spec.cue_pattern == "stripes":
        alt = np.sin(2 * np.pi * pu / 0.6) > 0.5
    elif spec.cue_pattern == "checker":
        alt = np.sin(np.pi * pu / 0.4) * np.sin(np.pi * pv / 0.4) > 0.35
    elif spec.cue_pattern == "dot":
        alt = pu * pu + pv * pv < 0.12
    else:  # cross
        alt = (np.abs(pu) < 0.14) | (np.abs(pv) < 0.14)
    colour = np.asarray(spec.cue_rgb, dtype=np.float32)
    return np.where(alt[..., None], second, colour).astype(np.float32)
