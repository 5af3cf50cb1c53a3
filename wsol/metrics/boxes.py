"""Boxes from score maps and their IoU with ground-truth boxes (wsolevaluation's rules).

Reference: clovaai/wsolevaluation (commit 96f4b88), ``evaluation.py``:
``compute_bboxes_from_scoremaps``, ``calculate_multiple_iou``, ``resize_bbox``.
At a threshold ``t`` the map is cut as follows:

1. ``u = (scoremap * 255).astype(uint8)`` (truncation); ``cut = int(t * u.max())``.
2. Foreground: ``u > cut`` (strict). ``cv2.findContours(RETR_TREE, CHAIN_APPROX_SIMPLE)``
   returns the outer border of every 8-connected component and the border of every
   (4-connected) hole.
3. A contour's ``cv2.boundingRect`` ``(x, y, w, h)`` gives the box
   ``[x, y, min(x + w, W - 1), min(y + h, H - 1)]``: the end is exclusive but is later
   read as inclusive. Without contours the box is ``[0, 0, 0, 0]``.
4. *All-contour* mode (MaxBoxAccV2) keeps every box; *largest-contour* mode (MaxBoxAcc)
   keeps the contour with the largest ``cv2.contourArea`` (first in OpenCV order on ties).

IoU uses inclusive ends: ``area = (x1 - x0 + 1) * (y1 - y0 + 1)``. Ground-truth boxes
(inclusive, original pixels) are rescaled to the ``R x R`` grid with ``int(c * R / W)``.

``box_convention="exact"`` (wsol-only, opt-in) drops both quirks: a contour's box is the
half-open pixel rectangle ``[x, y, x + w, y + h)``, a ground-truth box ``[x0, x1]`` in
``W`` pixels covers ``[x0 * R / W, (x1 + 1) * R / W)``, and IoU is the ratio of the
rectangles' areas (no +1, no truncation, no clipping). The no-contour box has zero area.

``scoremap_boxes(method="fast")`` gives the reference's boxes bit for bit while calling OpenCV once per
*distinct binary image* instead of once per threshold: thresholds whose integer cuts
select the same foreground (at most ``u.max() + 1`` of them) share one
``findContours`` call, run on the foreground's bounding window (the zero surround that
OpenCV adds itself makes this identical, including contour order).
``method="opencv"`` is the plain per-threshold loop, kept as the reference path.

:func:`all_contour_best_iou` gives the all-contour (MaxBoxAccV2) best IoUs without OpenCV
and without tracing contours, from two union-find sweeps whose cost does not depend on
the number of thresholds (:mod:`wsol.metrics.cut_components`); :func:`contour_best_ious`
adds the largest-contour (MaxBoxAcc) IoUs from a third sweep over the hole-filled map
(contour areas as ``cv2.contourArea``, ties in OpenCV's order). Both are equal to the
above, bit for bit, in both box conventions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

from wsol.metrics.cut_components import best_iou_per_cut, best_ious_per_cut

BoxConvention = Literal["reference", "exact"]
BoxMethod = Literal["fast", "opencv"]
ContourMode = Literal["single", "multi"]
BOX_CONVENTIONS = ("reference", "exact")
BOX_METHODS = ("fast", "opencv")
CONTOUR_MODES = ("single", "multi")
_NO_CONTOUR_BOX = (0, 0, 0, 0)


def rescale_gt_boxes(
    boxes: np.ndarray, size: tuple[int, int], resolution: int, convention: BoxConvention = "reference"
) -> np.ndarray:
    """Ground-truth boxes (inclusive, original pixels of a ``(W, H)`` image) on the R x R grid.

    ``reference``: int64 ``int(c * R / W)`` per coordinate (``evaluation.resize_bbox``).
    ``exact``: float64 half-open ``[x0 * R / W, y0 * R / H, (x1 + 1) * R / W, (y1 + 1) * R / H]``.
    """
    width, height = float(size[0]), float(size[1])
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    scale = np.array([resolution / width, resolution / height] * 2)
    if convention == "exact":
        return (b + np.array([0.0, 0.0, 1.0, 1.0])) * scale
    # (c * R) / W in float64, truncated toward zero, as the reference's int(c * R / W)
    factors = np.array([float(resolution)] * 4)
    sizes = np.array([width, height, width, height])
    return np.trunc(b * factors / sizes).astype(np.int64)


def box_iou(pred: np.ndarray, gt: np.ndarray, convention: BoxConvention = "reference") -> np.ndarray:
    """``(M, G)`` IoU between predicted and ground-truth boxes ``[x0, y0, x1, y1]``.

    ``reference``: inclusive ends (+1), as ``evaluation.calculate_multiple_iou``; a
    non-positive union gives 0. ``exact``: half-open rectangles, float areas.
    """
    a = np.asarray(pred)[:, None, :]
    b = np.asarray(gt)[None, :, :]
    one = 1 if convention == "reference" else 0
    iw = np.maximum(0, np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]) + one)
    ih = np.maximum(0, np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]) + one)
    inter = iw * ih
    area_a = (a[..., 2] - a[..., 0] + one) * (a[..., 3] - a[..., 1] + one)
    area_b = (b[..., 2] - b[..., 0] + one) * (b[..., 3] - b[..., 1] + one)
    union = area_a + area_b - inter
    degenerate = union <= 0
    iou = inter / np.where(degenerate, 1, union)
    return np.where(degenerate, 0.0, iou)


def scoremap_to_uint8(scoremap: np.ndarray) -> np.ndarray:
    """``(scoremap * 255).astype(uint8)``: the image the reference thresholds."""
    return (np.asarray(scoremap, dtype=np.float64) * 255).astype(np.uint8)


def threshold_cuts(u8: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Integer cut ``int(t * u8.max())`` of every threshold (float64 product, truncated)."""
    return np.trunc(np.asarray(thresholds, dtype=np.float64) * u8.max()).astype(np.int64)


@dataclass(frozen=True)
class ScoremapBoxes:
    """Predicted boxes of one score map at every threshold.

    Thresholds that select the same foreground share a *group*.

    Attributes:
        group_of_threshold: ``(T,)`` group index of each threshold.
        multi: ``(M, 4)`` all-contour boxes of every group, group-major, OpenCV order.
        multi_offsets: ``(n_groups + 1,)``; group ``g`` owns ``multi[off[g]:off[g + 1]]``.
        single: ``(n_groups, 4)`` largest-contour box of every group.
    """

    group_of_threshold: np.ndarray
    multi: np.ndarray
    multi_offsets: np.ndarray
    single: np.ndarray

    def all_contour_boxes(self, k: int) -> np.ndarray:
        """All-contour boxes at threshold index ``k`` (OpenCV order)."""
        g = self.group_of_threshold[k]
        return self.multi[self.multi_offsets[g] : self.multi_offsets[g + 1]]

    def largest_contour_box(self, k: int) -> np.ndarray:
        """Largest-contour box at threshold index ``k``."""
        return self.single[self.group_of_threshold[k]]

    def best_iou(
        self, gt_boxes: np.ndarray, mode: ContourMode, convention: BoxConvention = "reference"
    ) -> np.ndarray:
        """``(T,)`` max IoU per threshold between the ``mode`` boxes and the (already
        rescaled) ground-truth boxes: ``"multi"`` all contours (MaxBoxAccV2), ``"single"``
        the largest contour (MaxBoxAcc)."""
        if mode not in CONTOUR_MODES:
            raise ValueError(f"unknown contour mode {mode!r}; choose from {CONTOUR_MODES}")
        if mode == "multi":
            per_box = box_iou(self.multi, gt_boxes, convention).max(axis=1)
            per_group = np.maximum.reduceat(per_box, self.multi_offsets[:-1])
        else:
            per_group = box_iou(self.single, gt_boxes, convention).max(axis=1)
        return per_group[self.group_of_threshold]


def scoremap_boxes(
    scoremap: np.ndarray,
    thresholds: np.ndarray,
    method: BoxMethod = "fast",
    convention: BoxConvention = "reference",
) -> ScoremapBoxes:
    """Boxes of a ``(H, W)`` score map (values in [0, 1]) at every threshold."""
    if method not in BOX_METHODS:
        raise ValueError(f"unknown box method {method!r}; choose from {BOX_METHODS}")
    if convention not in BOX_CONVENTIONS:
        raise ValueError(f"unknown box convention {convention!r}; choose from {BOX_CONVENTIONS}")
    u8 = scoremap_to_uint8(scoremap)
    if method == "opencv":
        return _boxes_per_threshold(u8, thresholds, convention)
    return _boxes_per_foreground(u8, threshold_cuts(u8, thresholds), convention)


def _boxes_per_threshold(u8: np.ndarray, thresholds: np.ndarray, convention: BoxConvention) -> ScoremapBoxes:
    """The reference loop: threshold, findContours and box every contour, per threshold."""
    image = u8[:, :, None]
    per_group = []
    for t in thresholds:
        _, binary = cv2.threshold(image, int(t * np.max(image)), 255, cv2.THRESH_BINARY)
        contours = cv2.findContours(binary, cv2.RETR_TREE, cv2.CHAIN_APPROX_SIMPLE)[0]
        per_group.append(_contour_boxes(contours, u8.shape, convention))
    return _pack(np.arange(len(thresholds)), per_group)


def _boxes_per_foreground(u8: np.ndarray, cuts: np.ndarray, convention: BoxConvention) -> ScoremapBoxes:
    """One findContours call per distinct foreground (of integer ``cuts``), on the
    foreground's bounding window."""
    # u8 > c selects the same pixels for two cuts iff as many pixels are <= either cut
    at_most = np.concatenate([[0], np.cumsum(np.bincount(u8.ravel(), minlength=256))])
    background = at_most[np.clip(cuts, -1, 255) + 1]
    _, first, group = np.unique(background, return_index=True, return_inverse=True)
    group_cuts = cuts[first]
    x0, x1 = _window(u8.max(axis=0), group_cuts)
    y0, y1 = _window(u8.max(axis=1), group_cuts)
    contours: list[tuple] = []
    bounds = zip(group_cuts.tolist(), x0.tolist(), x1.tolist(), y0.tolist(), y1.tolist(), strict=True)
    for cut, left, right, top, bottom in bounds:
        if left > right:  # no foreground
            contours.append(())
            continue
        window = u8[top : bottom + 1, left : right + 1]
        binary = np.ones_like(window) if cut < 0 else (window > cut).view(np.uint8)
        found = cv2.findContours(binary, cv2.RETR_TREE, cv2.CHAIN_APPROX_SIMPLE, offset=(left, top))[0]
        contours.append(found)
    return _vectorized_boxes(group.ravel(), contours, u8.shape, convention)


def _window(profile: np.ndarray, cuts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and last index whose ``profile`` value exceeds each cut (first > last if none)."""
    prefix = np.maximum.accumulate(profile.astype(np.int64))
    suffix = np.maximum.accumulate(profile[::-1].astype(np.int64))
    first = np.searchsorted(prefix, cuts, side="right")
    last = len(profile) - 1 - np.searchsorted(suffix, cuts, side="right")
    return first, last


def _vectorized_boxes(
    group_of_threshold: np.ndarray, contours: list[tuple], shape: tuple[int, ...], convention: BoxConvention
) -> ScoremapBoxes:
    """Boxes and largest contours of all groups at once (same numbers as boundingRect/contourArea).

    Contour points are small integers, so the shoelace area in int64 equals OpenCV's
    double-precision ``contourArea`` exactly.
    """
    counts = np.array([len(c) for c in contours], dtype=np.int64)
    flat = [c for group in contours for c in group]
    n_groups = len(contours)
    slots = np.maximum(counts, 1)  # an empty group holds the no-contour box
    offsets = np.concatenate([[0], np.cumsum(slots)])
    multi = np.tile(np.array(_NO_CONTOUR_BOX, dtype=np.int64), (int(offsets[-1]), 1))
    single = np.tile(np.array(_NO_CONTOUR_BOX, dtype=np.int64), (n_groups, 1))
    if flat:
        lengths = np.array([len(c) for c in flat], dtype=np.int64)
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        pts = np.concatenate(flat).reshape(-1, 2).astype(np.int64)
        x, y = pts[:, 0], pts[:, 1]
        x0, y0 = np.minimum.reduceat(x, starts), np.minimum.reduceat(y, starts)
        x1, y1 = np.maximum.reduceat(x, starts) + 1, np.maximum.reduceat(y, starts) + 1
        if convention == "reference":
            x1, y1 = np.minimum(x1, shape[1] - 1), np.minimum(y1, shape[0] - 1)
        boxes = np.stack([x0, y0, x1, y1], axis=1)
        group = np.repeat(np.arange(n_groups), counts)
        first_of_group = np.cumsum(counts) - counts
        rank = np.arange(len(flat)) - first_of_group[group]
        multi[offsets[group] + rank] = boxes
        area = _shoelace2(x, y, starts, lengths)
        nonempty = np.flatnonzero(counts)
        best = np.maximum.reduceat(area, first_of_group[nonempty])
        is_best = np.flatnonzero(area == np.repeat(best, counts[nonempty]))
        _, first_best = np.unique(group[is_best], return_index=True)  # first in OpenCV order
        single[nonempty] = boxes[is_best[first_best]]
    return ScoremapBoxes(group_of_threshold, multi, offsets, single)


def _shoelace2(x: np.ndarray, y: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Twice the absolute polygon area of each contour (segments given by starts/lengths)."""
    prev = np.arange(len(x)) - 1
    prev[starts] = starts + lengths - 1  # close each polygon
    cross = x[prev] * y - y[prev] * x
    return np.abs(np.add.reduceat(cross, starts))


def _contour_boxes(
    contours: tuple | list, shape: tuple[int, ...], convention: BoxConvention
) -> tuple[np.ndarray, np.ndarray]:
    """(all boxes, largest-contour box) of one contour list, as the reference computes them."""
    if len(contours) == 0:
        fallback = np.array([_NO_CONTOUR_BOX], dtype=np.int64)
        return fallback, fallback[0]
    height, width = shape
    boxes = []
    for contour in contours:
        x, y, w, h = cv2.boundingRect(contour)
        if convention == "exact":
            boxes.append([x, y, x + w, y + h])
        else:
            boxes.append([x, y, min(x + w, width - 1), min(y + h, height - 1)])
    largest = max(range(len(contours)), key=lambda i: cv2.contourArea(contours[i]))
    return np.array(boxes, dtype=np.int64), np.array(boxes[largest], dtype=np.int64)


def _pack(group_of_threshold: np.ndarray, per_group: list[tuple[np.ndarray, np.ndarray]]) -> ScoremapBoxes:
    counts = [len(m) for m, _ in per_group]
    return ScoremapBoxes(
        group_of_threshold=group_of_threshold,
        multi=np.concatenate([m for m, _ in per_group], axis=0),
        multi_offsets=np.concatenate([[0], np.cumsum(counts)]),
        single=np.stack([s for _, s in per_group], axis=0),
    )


def all_contour_best_iou(
    scoremap: np.ndarray,
    thresholds: np.ndarray,
    gt_boxes: np.ndarray,
    convention: BoxConvention = "reference",
) -> np.ndarray:
    """``(T,)`` all-contour best IoU per threshold (MaxBoxAccV2), without OpenCV.

    Equal to ``scoremap_boxes(scoremap, thresholds, ...).best_iou(gt_boxes, "multi", ...)``
    bit for bit; the cost does not grow with the number of thresholds.
    """
    if convention not in BOX_CONVENTIONS:
        raise ValueError(f"unknown box convention {convention!r}; choose from {BOX_CONVENTIONS}")
    u8 = scoremap_to_uint8(scoremap)
    return best_iou_per_cut(u8, threshold_cuts(u8, thresholds), gt_boxes, convention == "reference")


def contour_best_ious(
    scoremap: np.ndarray,
    thresholds: np.ndarray,
    gt_boxes: np.ndarray,
    convention: BoxConvention = "reference",
    modes: tuple[ContourMode, ...] = CONTOUR_MODES,
) -> dict[ContourMode, np.ndarray]:
    """``(T,)`` best IoU per threshold in each contour mode of ``modes``: ``"multi"`` (all
    contours, MaxBoxAccV2) and ``"single"`` (largest contour, MaxBoxAcc), without OpenCV.

    Equal bit for bit to ``scoremap_boxes(...).best_iou(gt_boxes, mode, ...)``: two
    union-find sweeps, and a third for ``"single"``
    (:func:`~wsol.metrics.cut_components.best_ious_per_cut`), whose cost does not grow
    with the number of thresholds.
    """
    if convention not in BOX_CONVENTIONS:
        raise ValueError(f"unknown box convention {convention!r}; choose from {BOX_CONVENTIONS}")
    if "single" not in modes:
        return {"multi": all_contour_best_iou(scoremap, thresholds, gt_boxes, convention)}
    u8 = scoremap_to_uint8(scoremap)
    multi, single = best_ious_per_cut(u8, threshold_cuts(u8, thresholds), gt_boxes, convention == "reference")
    return {mode: iou for mode, iou in (("multi", multi), ("single", single)) if mode in modes}
