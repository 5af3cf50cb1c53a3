"""Vectorised drawing on a pixel grid: poses, shape predicates, textures and colours.

Shapes are boolean predicates evaluated at every pixel centre of the image in a shape's
local frame, so a part's mask and its painted pixels are the same array.
"""

from __future__ import annotations

import colorsys
import math
from dataclasses import dataclass

import cv2
import numpy as np

Grid = tuple[np.ndarray, np.ndarray]
Window = tuple[slice, slice]


def pixel_grid(size: int) -> Grid:
    """``(xs, ys)``: float32 ``(size, size)`` column and row of every pixel centre."""
    axis = np.arange(size, dtype=np.float32)
    return np.meshgrid(axis, axis)


def window(box: tuple[float, float, float, float], size: int, margin: int = 2) -> Window:
    """``(rows, cols)`` slices of the pixels within ``margin`` of ``(x0, y0, x1, y1)``."""
    x0, y0, x1, y1 = (math.floor(c) for c in box)
    return (
        slice(_clamp(y0 - margin, size), _clamp(y1 + margin + 2, size)),
        slice(_clamp(x0 - margin, size), _clamp(x1 + margin + 2, size)),
    )


def _clamp(c: int, size: int) -> int:
    return min(max(c, 0), size)


def crop(grid: Grid, win: Window) -> Grid:
    return grid[0][win], grid[1][win]


@dataclass(frozen=True)
class Pose:
    """Placement of a local frame: origin ``(x, y)`` in pixels, rotation, pixels per unit, mirror."""

    x: float
    y: float
    angle: float
    scale: float
    flip: int = 1

    def local(self, grid: Grid) -> Grid:
        """Local ``(u, v)`` coordinates (in units) of every pixel."""
        dx, dy = grid[0] - self.x, grid[1] - self.y
        c, s = math.cos(self.angle), math.sin(self.angle)
        return (c * dx + s * dy) / self.scale, self.flip * (c * dy - s * dx) / self.scale

    def offsets(self, u: np.ndarray, v: np.ndarray) -> Grid:
        """Pixel offsets from the origin of local points (the inverse of :meth:`local`)."""
        c, s = math.cos(self.angle), math.sin(self.angle)
        return self.scale * (c * u - s * self.flip * v), self.scale * (s * u + c * self.flip * v)


def superellipse(
    u: np.ndarray, v: np.ndarray, centre: tuple[float, float], axes: tuple[float, float], n: float
) -> np.ndarray:
    """``|du/a|^n + |dv/b|^n <= 1`` (an ellipse for n = 2, a rounded box for larger n)."""
    du = np.abs(u - centre[0]) / axes[0]
    dv = np.abs(v - centre[1]) / axes[1]
    if n == 2:
        return du * du + dv * dv <= 1
    return du**n + dv**n <= 1


def disc(u: np.ndarray, v: np.ndarray, centre: tuple[float, float], radius: float) -> np.ndarray:
    du, dv = u - centre[0], v - centre[1]
    return du * du + dv * dv <= radius * radius


def capsule(
    u: np.ndarray, v: np.ndarray, p0: tuple[float, float], p1: tuple[float, float], radius: float
) -> np.ndarray:
    """Points within ``radius`` of the segment ``p0``-``p1``."""
    eu, ev = p1[0] - p0[0], p1[1] - p0[1]
    du, dv = u - p0[0], v - p0[1]
    t = np.clip((du * eu + dv * ev) / max(eu * eu + ev * ev, 1e-12), 0.0, 1.0)
    du -= t * eu
    dv -= t * ev
    return du * du + dv * dv <= radius * radius


def texture(kind: str, u: np.ndarray, v: np.ndarray, period: float, phase: np.ndarray) -> np.ndarray:
    """A float32 pattern in ``[-1, 1]``; ``u, v`` and ``period`` in the same units.

    ``phase`` holds two numbers in ``[0, 1)`` that shift the pattern.
    """
    fu, fv = u / period + phase[0], v / period + phase[1]
    if kind == "stripes":  # across the main axis
        return _sharpen(np.sin(2 * np.pi * fu))
    if kind == "spots":
        du, dv = fu - np.floor(fu) - 0.5, fv - np.floor(fv) - 0.5
        return np.where(du * du + dv * dv < 0.08, 1.0, -0.6).astype(np.float32)
    if kind == "checker":
        return _sharpen(np.sin(2 * np.pi * fu) * np.sin(2 * np.pi * fv))
    if kind == "waves":  # wavy stripes along the main axis
        return _sharpen(np.sin(2 * np.pi * (fv + 0.3 * np.sin(np.pi * fu))))
    if kind == "rings":
        return _sharpen(np.sin(2 * np.pi * (np.sqrt(u * u + v * v) / period + phase[0])))
    raise ValueError(f"unknown texture {kind!r}")


def _sharpen(wave: np.ndarray) -> np.ndarray:
    return np.tanh(3.0 * wave).astype(np.float32)


def smooth_noise(rng: np.random.Generator, size: int, cells: int, channels: int = 1) -> np.ndarray:
    """Zero-mean, unit-range ``(size, size, channels)`` noise with ``cells`` blobs per side."""
    coarse = rng.uniform(-1.0, 1.0, (cells, cells, channels)).astype(np.float32)
    fine = cv2.resize(coarse, (size, size), interpolation=cv2.INTER_CUBIC)
    return fine.reshape(size, size, channels)


def hsv(h: float, s: float, v: float) -> np.ndarray:
    return np.asarray(colorsys.hsv_to_rgb(h % 1.0, s, v), dtype=np.float32)


def muted_colour(rng: np.random.Generator) -> np.ndarray:
    """A random desaturated colour, the palette of bodies, distractors and backgrounds."""
    return hsv(rng.random(), rng.uniform(0.05, 0.35), rng.uniform(0.35, 0.85))


def paint(image: np.ndarray, mask: np.ndarray, colour: np.ndarray) -> None:
    """Set ``image[mask]`` to ``colour`` (a ``(3,)`` colour or an ``(H, W, 3)`` field)."""
    image[mask] = colour if colour.ndim == 1 else colour[mask]


def shaded(base: np.ndarray, pattern: np.ndarray, contrast: float) -> np.ndarray:
    """``(H, W, 3)`` field: ``base`` brightened/darkened by ``contrast * pattern``."""
    return np.clip(base * (1.0 + contrast * pattern[..., None]), 0.0, 1.0)
