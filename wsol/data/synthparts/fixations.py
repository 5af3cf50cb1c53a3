"""Simulated eye fixations: several observers look mostly at the object and its cue part.

Each observer makes ``3 + Poisson(2)`` fixations (at most 8). The first one is drawn
from the centre bias with probability :data:`FIRST_CENTRE_PROB` (people start near the
image centre); every fixation otherwise picks its target with :data:`TARGET_PROBS`: a
random pixel of the cue part, of the whole object, of the centre bias (an isotropic
Gaussian around the centre, sigma :data:`CENTRE_SIGMA` x the image side) or of the
whole image. Points get Gaussian jitter of :data:`JITTER_PIXELS` (the eye tracker's
error), are rounded to pixels and clipped to the image.
"""

from __future__ import annotations

import numpy as np

TARGETS = ("cue", "object", "centre", "anywhere")
TARGET_PROBS = (0.4, 0.4, 0.15, 0.05)
FIRST_CENTRE_PROB = 0.6
CENTRE_SIGMA = 0.15
JITTER_PIXELS = 1.5
MAX_PER_OBSERVER = 8


def simulate_fixations(
    rng: np.random.Generator, obj: np.ndarray, cue: np.ndarray, num_observers: int
) -> np.ndarray:
    """``(M, 3)`` int64 ``(x, y, observer)`` fixations for an image of ``obj.shape``.

    ``obj`` and ``cue`` are the boolean object (union of instances) and cue-part masks.
    """
    height, width = obj.shape
    counts = np.minimum(3 + rng.poisson(2.0, num_observers), MAX_PER_OBSERVER)
    observers = np.repeat(np.arange(num_observers), counts)
    first = np.r_[True, observers[1:] != observers[:-1]]
    target = rng.choice(len(TARGETS), size=observers.size, p=TARGET_PROBS)
    target[first & (rng.random(observers.size) < FIRST_CENTRE_PROB)] = TARGETS.index("centre")
    points = np.empty((observers.size, 2))
    for k, name in enumerate(TARGETS):
        chosen = np.flatnonzero(target == k)
        points[chosen] = _sample(rng, name, chosen.size, obj, cue)
    points += rng.normal(0.0, JITTER_PIXELS, points.shape)
    x = np.clip(np.rint(points[:, 0]), 0, width - 1)
    y = np.clip(np.rint(points[:, 1]), 0, height - 1)
    return np.stack([x, y, observers], axis=1).astype(np.int64)


def _sample(rng: np.random.Generator, target: str, n: int, obj: np.ndarray, cue: np.ndarray) -> np.ndarray:
    """``(n, 2)`` float ``(x, y)`` points for one kind of target."""
    height, width = obj.shape
    if target == "centre":
        centre = np.array([(width - 1) / 2, (height - 1) / 2])
        return centre + rng.normal(0.0, CENTRE_SIGMA * max(width, height), (n, 2))
    if target == "anywhere":
        return rng.uniform((0, 0), (width - 1, height - 1), (n, 2))
    region = np.flatnonzero(cue if target == "cue" and cue.any() else obj)
    flat = region[rng.integers(region.size, size=n)]
    return np.stack([flat % width, flat // width], axis=1).astype(np.float64)
