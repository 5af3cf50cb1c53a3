"""Ground-truth boxes against their image: the inclusive convention and the off-by-one policy.

wsol's boxes are inclusive pixel boxes ``[x0, y0, x1, y1]`` with
``0 <= x0 <= x1 <= W - 1`` and ``0 <= y0 <= y1 <= H - 1`` (wsolevaluation's convention,
see :class:`wsol.data.sample.Sample`).

**Off-by-one policy.** Real annotation files often end a box one past the last pixel
(``x1 == W`` or ``y1 == H``: an exclusive end written where an inclusive one belongs).
Such an end is clipped to ``W - 1`` / ``H - 1`` and counted (:func:`clip_box_ends`); the
datasets log the count. This moves one edge by at most one pixel, the size of the
ambiguity itself. (wsolevaluation scores such boxes as given, so on a dataset that has
them wsol's numbers can differ from the reference's by that pixel column's share of an
IoU.) Excess up to ``TOLERANCE`` pixels (float noise in annotation files) is
clipped quietly. Any other box outside its image (an end beyond ``W`` or ``H``, a
negative start, a start past the last pixel) or an inverted or non-finite box is a
problem that :func:`box_problem` names, and the datasets raise it as a
:class:`~wsol.errors.DataError` with the image id and the
annotation file, never as a transform library's error.
"""

from __future__ import annotations

import numpy as np

TOLERANCE = 0.01


def clip_box_ends(boxes: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, int]:
    """``(boxes, n)``: ``(N, 4)`` float64 boxes whose ends in ``(W - 1, W + TOLERANCE]``
    are clipped to ``W - 1`` (likewise for ``H``), and ``n`` the number of boxes whose end
    was one past the last pixel (beyond ``W - 1 + TOLERANCE``, float noise is not counted)."""
    boxes = np.array(boxes, dtype=np.float64).reshape(-1, 4)
    width, height = size
    ends = boxes[:, 2:]
    limit = np.array([width - 1, height - 1], dtype=np.float64)
    clip = (ends > limit) & (ends <= limit + 1 + TOLERANCE)
    off_by_one = clip & (ends > limit + TOLERANCE)
    boxes[:, 2:] = np.where(clip, limit, ends)
    return boxes, int(off_by_one.any(axis=1).sum())


def box_problem(boxes: np.ndarray, size: tuple[int, int]) -> str | None:
    """What is wrong with the first invalid box of ``boxes`` in a ``W x H`` image, or None."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    width, height = size
    x0, y0, x1, y1 = boxes.T
    if np.all((x0 >= 0) & (x0 <= x1) & (x1 <= width - 1) & (y0 >= 0) & (y0 <= y1) & (y1 <= height - 1)):
        return None  # NaN fails every comparison, so it takes the slow path below
    for box in boxes:
        text = "[" + ", ".join(f"{v:g}" for v in box) + "]"
        if not np.isfinite(box).all():
            return f"box {text} is not finite"
        x0, y0, x1, y1 = box
        if x0 > x1 or y0 > y1:
            return f"box {text} has x1 < x0 or y1 < y0"
        if x0 < 0 or y0 < 0 or x1 > width - 1 or y1 > height - 1:
            return f"box {text} is outside the {width}x{height} image (0 <= x0 <= x1 <= {width - 1})"
    return None
