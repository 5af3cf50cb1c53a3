"""All-contour boxes of a uint8 score map at every integer cut, by two union-find sweeps.

``cv2.findContours(RETR_TREE)`` on the foreground ``u8 > c`` returns one outer contour per
8-connected foreground component (components inside holes included) and one hole
contour per 4-connected background component that does not reach the image border
(OpenCV treats the outside of the image as background). Their ``cv2.boundingRect`` is:

* outer contour: the component's pixel bounding box (its extreme pixels lie on it);
* hole contour: the hole's pixel bounding box grown by one pixel on every side (the
  contour is traced on the foreground pixels 4-adjacent to the hole).

So the all-contour boxes of every cut come from two sweeps over the pixels sorted by
value, each with a union-find that keeps per-component bounding boxes: levels 255 down
to 0 for the foreground (8-connectivity; after level ``L`` the components are those of
cut ``L - 1``) and 0 up to 255 for the background (4-connectivity, tracking contact with
the border; after level ``c`` they are those of cut ``c``). The cost is
O(pixels + evaluated cuts x components), independent of the number of thresholds.

At each requested cut a sweep scores its components against the ground-truth boxes
(a component's IoU is cached until the component grows), so :func:`best_iou_per_cut`
returns what MaxBoxAccV2 needs without building the boxes.

The largest contour (MaxBoxAcc V1: largest ``cv2.contourArea``, the first in OpenCV's
order on ties; :func:`best_ious_per_cut`) takes a third sweep, over the *hole-filled*
map: each pixel gets the lowest level ``v`` at which its background component
(4-connected, ``u8 <= v``) reaches the image border (grayscale hole filling; the holes
sweep builds it by keeping, per component not on the border, a linked list of its pixels
and assigning them that level when it reaches the border; pixels left unassigned lie
above every needed cut and get 255). So ``filled > cut`` is ``u8 > cut`` plus all its
holes; its 8-connected components are the outermost components, each with everything it
encloses, and:

* the outer contour of a component traced through pixel centres encloses
  ``n4 + n3 / 2`` where ``nk`` counts the 2x2 quads with ``k`` corners in the filled
  component (unit squares, and the halves cut off by diagonal steps): exactly
  ``cv2.contourArea``, kept per component by the union-find (:func:`_quad_area2`);
* every other contour (a hole's, or a component's nested in a hole) encloses strictly
  less than the outermost contour around it, so the largest contour is an outermost one;
  its box is its component's box;
* OpenCV lists outermost contours in reverse raster order of their first pixel, so on
  equal areas the component whose first pixel comes last wins.

Checked bit for bit against OpenCV on random and hand-made maps (``tests/test_metrics_boxes.py``).

Per pixel, the neighbours added before it are found from an 8-bit mask computed in one
vectorised raster pass; one union per run of consecutive added ring neighbours suffices
(:func:`_ring_representatives`). The kernels are compiled with numba
(:mod:`wsol.metrics.jit`; a few seconds on first use, then cached on disk).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from wsol.metrics.jit import jit

_N_CUTS = 257  # integer cuts -1 .. 255; index = cut + 1
# ring of 8-neighbours N NE E SE S SW W NW (bit i of a mask = ring position i); the first
# two and last two come before the centre in raster order
_DY = np.array([-1, -1, 0, 1, 1, 1, 0, -1])
_DX = np.array([0, 1, 1, 1, 0, -1, -1, -1])
_EARLIER = np.array([1, 1, 0, 0, 0, 0, 1, 1])


def _ring_representatives(four: bool) -> tuple[np.ndarray, np.ndarray]:
    """Per 8-bit mask of added ring neighbours: ring positions to unite with, and how many.

    Consecutive ring pixels are 4-adjacent, so a run of added ring positions is already
    one component: one representative per run suffices. With 4-connectivity only runs
    holding a 4-neighbour (even position) touch the centre pixel.
    """
    positions = np.zeros((256, 4), dtype=np.int64)
    counts = np.zeros(256, dtype=np.int64)
    for mask in range(256):
        added = [(mask >> i) & 1 == 1 for i in range(8)]
        if all(added):
            runs = [list(range(8))]
        else:
            start = added.index(False)  # rotate so that no run wraps around
            runs, run = [], []
            for i in (*range(start, 8), *range(start)):
                if added[i]:
                    run.append(i)
                elif run:
                    runs.append(run)
                    run = []
            if run:
                runs.append(run)
        for run in runs:
            members = [i for i in run if i % 2 == 0] if four else run
            if members:
                positions[mask, counts[mask]] = members[0]
                counts[mask] += 1
    return positions, counts


_REPS8, _N_REPS8 = _ring_representatives(four=False)
_REPS4, _N_REPS4 = _ring_representatives(four=True)


@jit
def _sorted_pixels(u8: np.ndarray, pixels: np.ndarray) -> np.ndarray:
    """Fill ``pixels`` with all pixels sorted by level (raster order within a level);
    return each level's start.

    A pixel is packed as ``x | y << 16 | fg_mask << 32 | bg_mask << 40 | edge << 48``; the
    masks mark the ring neighbours added before it in each sweep: higher (foreground) or
    lower (background) levels, and equal levels earlier in raster order; ``edge`` is 1 on
    the image border.
    """
    height, width = u8.shape
    starts = np.zeros(257, np.int64)
    for y in range(height):
        for x in range(width):
            starts[u8[y, x] + 1] += 1
    for level in range(256):
        starts[level + 1] += starts[level]
    fill = starts[:256].copy()
    rows = np.full((3, width + 2), -1, np.int16)  # rows y - 1, y, y + 1 with a -1 margin
    fg = np.empty(width, np.uint8)
    bg = np.empty(width, np.uint8)
    for y in range(height):
        for r in range(3):
            for x in range(width):
                rows[r, x + 1] = u8[y + r - 1, x] if 0 <= y + r - 1 < height else -1
        fg[:] = 0
        bg[:] = 0
        for i in range(8):
            centre, ring = rows[1, 1:-1], rows[1 + _DY[i], 1 + _DX[i] : width + 1 + _DX[i]]
            bit, earlier = np.uint8(1 << i), _EARLIER[i] == 1
            for x in range(width):  # vectorised by LLVM
                v, a = centre[x], ring[x]
                tie = (a == v) & earlier
                fg[x] |= bit if (a > v) | tie else np.uint8(0)
                bg[x] |= bit if ((a < v) & (a >= 0)) | tie else np.uint8(0)
        for x in range(width):
            level = u8[y, x]
            edge = np.int64(y == 0 or y == height - 1 or x == 0 or x == width - 1)
            pixels[np.uint64(fill[level])] = (
                x | (y << 16) | (np.int64(fg[x]) << 32) | (np.int64(bg[x]) << 40) | (edge << 48)
            )
            fill[level] += 1
    return starts


@jit
def _box_best_iou(x0: int, y0: int, x1: int, y1: int, gt: np.ndarray, one: float) -> float:
    """Max IoU of box ``[x0, y0, x1, y1]`` over ``gt`` rows, computed as ``boxes.box_iou`` does."""
    best = 0.0
    for g in range(gt.shape[0]):
        iw = max(0.0, (min(float(x1), gt[g, 2]) - max(float(x0), gt[g, 0])) + one)
        ih = max(0.0, (min(float(y1), gt[g, 3]) - max(float(y0), gt[g, 1])) + one)
        inter = iw * ih
        area_a = (float(x1 - x0) + one) * (float(y1 - y0) + one)
        area_b = (gt[g, 2] - gt[g, 0] + one) * (gt[g, 3] - gt[g, 1] + one)
        union = area_a + area_b - inter
        best = max(best, inter / union if union > 0 else 0.0)
    return best


@jit
def _find(parent: np.ndarray, i: int) -> int:
    while parent[i] != i:  # path halving
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i


def _quad_area2() -> np.ndarray:
    """Per 8-bit mask of added ring neighbours, how much twice a foreground component's
    contour area grows when the pixel is added.

    The outer contour of an 8-connected component without holes, traced through pixel
    centres, encloses ``n4 + n3 / 2`` (``nk``: 2x2 quads with ``k`` corners in the
    component: full unit squares and the halves cut off by diagonal steps), which is what
    ``cv2.contourArea`` returns for it. A quad that had 2 or 3 corners grows it by one half
    (a quad's foreground corners are 8-connected: one component). The four quads around
    the pixel hold ring positions N NE E, E SE S, S SW W and W NW N.
    """
    area2 = np.zeros(256, dtype=np.int64)
    for mask in range(256):
        for quad in ((0, 1, 2), (2, 3, 4), (4, 5, 6), (6, 7, 0)):
            area2[mask] += sum((mask >> i) & 1 for i in quad) >= 2
    return area2


_AREA2 = _quad_area2()


@jit
def _settle(first: int, last: int, following: np.ndarray, filled: np.ndarray, level: int) -> None:
    """A background component reaches the border at ``level``: its pixels (a linked list
    from ``first`` to ``last``) get that fill value."""
    p = first
    while True:
        filled[p] = level
        if p == last:
            return
        p = following[p]


def _compiled_sweep(holes: bool) -> Callable:
    """The sweep kernel with ``holes`` fixed at compile time (a few % faster)."""

    def sweep(
        pixels: np.ndarray,
        starts: np.ndarray,
        shape: tuple[int, int],
        needed: np.ndarray,
        gt: np.ndarray,
        reference: bool,
        rows: np.ndarray,
        work: tuple[np.ndarray, ...],
        largest: bool,
    ) -> tuple[np.ndarray, np.ndarray, int, np.ndarray]:
        """One sweep over ``pixels`` sorted by level: the foreground (levels 255 -> 0,
        8-connected) or the ``holes`` (levels 0 -> 255, 4-connected background; components
        that reach the border are dropped; boxes grown by 1).

        After each level, at the cuts with ``needed[cut + 1]``: the best IoU of the
        components' boxes and their count (indexed by cut + 1). If ``rows`` has rows, the
        boxes are also written to it as ``(cut, x0, y0, x1, y1)``; returns how many.
        With ``largest``, the holes sweep also writes the hole-filled map (module docstring)
        to the last ``work`` array, and the foreground sweep (run on the filled map) returns
        the best IoU of the box of the component with the largest contour area
        (:func:`_quad_area2`; on ties the one found last in raster order, which OpenCV
        lists first) per needed cut, -1 elsewhere.
        ``work`` holds per-pixel scratch arrays (:func:`_workspace`), read only where written.
        Pixel indices are unsigned (negative offsets wrap around), which spares numba's
        negative-index handling in the hot loop.
        """
        # parent; per root: box x0, y0, x1, y1 of its pixels, border (has a pixel on the image
        # border), dirty (box changed since its IoU was cached), cached IoU; live roots; first
        # pixel in raster order and twice the contour area (foreground with ``largest``); per
        # component not on the border a linked list of its pixels, and the filled map (holes
        # with ``largest``)
        parent, bx0, by0, bx1, by1, border, dirty, cached, live, anchor, area2 = work[:11]
        head, tail, following, filled = work[11:]
        height, width = shape
        one, clip = 1.0 if reference else 0.0, reference
        best = np.full(_N_CUTS, -1.0)
        single = np.full(_N_CUTS, -1.0)
        count = np.zeros(_N_CUTS, np.int64)
        record = rows.shape[0] > 0
        n_rows = 0
        reps, n_reps = (_REPS4, _N_REPS4) if holes else (_REPS8, _N_REPS8)
        offsets = (_DY * width + _DX)[reps].astype(np.uint64)  # of the representatives
        shift = np.uint64(40 if holes else 32)
        w, zero = np.uint64(width), np.uint64(0)
        grow = 1 if holes else 0
        last = -1
        for step in range(256):
            if needed[step + 1 if holes else 255 - step]:  # cut = step, or 254 - step, plus 1
                last = step
        n_live = 0
        for step in range(last + 1):
            level = step if holes else 255 - step
            for i in range(np.uint64(starts[level]), np.uint64(starts[level + 1])):
                packed = np.uint64(pixels[i])
                x, y = packed & np.uint64(0xFFFF), (packed >> np.uint64(16)) & np.uint64(0xFFFF)
                mask = (packed >> shift) & np.uint64(0xFF)
                p = y * w + x
                edge = holes and packed >> np.uint64(48) != zero
                if n_reps[mask] == 0:  # a new component
                    parent[p] = p
                    bx0[p], by0[p], bx1[p], by1[p] = x, y, x, y
                    border[p], dirty[p] = edge, True
                    anchor[p], area2[p] = p, _AREA2[mask]
                    if largest and holes:  # start its pixel list, or settle its fill value
                        head[p] = tail[p] = p
                        if edge:
                            filled[p] = level
                    live[n_live] = p
                    n_live += 1
                    continue
                root = _find(parent, p + offsets[mask, 0])
                parent[p] = root
                if largest and holes:
                    if not border[root] and not edge:
                        following[tail[root]], tail[root] = p, p
                    else:
                        filled[p] = level
                        if not border[root]:
                            _settle(head[root], tail[root], following, filled, level)
                if edge:
                    border[root] = True
                # (the box of a component on the border no longer matters: never a hole)
                if not border[root] and (x < bx0[root] or x > bx1[root] or y < by0[root] or y > by1[root]):
                    bx0[root], bx1[root] = min(bx0[root], x), max(bx1[root], x)
                    by0[root], by1[root] = min(by0[root], y), max(by1[root], y)
                    dirty[root] = True
                if largest and not holes:
                    anchor[root] = min(anchor[root], p)
                    area2[root] += _AREA2[mask]
                for j in range(1, n_reps[mask]):
                    other = _find(parent, p + offsets[mask, j])
                    if other != root:
                        parent[other] = root
                        if largest and holes and border[root] != border[other]:
                            settled = other if border[root] else root
                            _settle(head[settled], tail[settled], following, filled, level)
                        elif largest and holes and not border[root]:
                            following[tail[root]], tail[root] = head[other], tail[other]
                        bx0[root], by0[root] = min(bx0[root], bx0[other]), min(by0[root], by0[other])
                        bx1[root], by1[root] = max(bx1[root], bx1[other]), max(by1[root], by1[other])
                        border[root] |= border[other]
                        dirty[root] = True
                        if largest and not holes:
                            anchor[root] = min(anchor[root], anchor[other])
                            area2[root] += area2[other]
            cut = step if holes else 254 - step
            if not needed[cut + 1]:
                continue
            top, top_root = np.int64(-1), np.uint64(0)
            kept = 0
            for j in range(n_live):
                r = live[j]
                if parent[r] != r or border[r]:  # merged, or reaches the border: never a hole again
                    continue
                live[kept] = r
                kept += 1
                x0, y0 = np.int64(bx0[r]) - grow, np.int64(by0[r]) - grow
                x1, y1 = np.int64(bx1[r]) + grow + 1, np.int64(by1[r]) + grow + 1  # boundingRect's x + w
                if clip:
                    x1, y1 = min(x1, width - 1), min(y1, height - 1)
                if dirty[r]:
                    cached[r] = _box_best_iou(x0, y0, x1, y1, gt, one)
                    dirty[r] = False
                best[cut + 1] = max(best[cut + 1], cached[r])
                if record:
                    rows[n_rows, 0] = cut
                    rows[n_rows, 1] = x0
                    rows[n_rows, 2] = y0
                    rows[n_rows, 3] = x1
                    rows[n_rows, 4] = y1
                    n_rows += 1
                if largest and (area2[r] > top or (area2[r] == top and anchor[r] > anchor[top_root])):
                    top, top_root = area2[r], r
            n_live = kept
            count[cut + 1] = kept
            if largest and not holes and kept:
                single[cut + 1] = cached[top_root]
        return best, count, n_rows, single

    return jit(sweep)


_SWEEPS = {holes: _compiled_sweep(holes) for holes in (False, True)}


_LOCAL = threading.local()


_NO_ROWS = np.empty((0, 5), dtype=np.int64)


def _workspace(n: int) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
    """Scratch arrays for ``n`` pixels: the sorted pixels and the sweeps' ``work``, kept
    per thread and reused: fresh multi-megabyte arrays per map would cost more in page
    faults than the sweeps themselves."""
    arrays = getattr(_LOCAL, "arrays", None)
    if arrays is None or len(arrays[0]) < n:
        ids = [np.empty(n, np.uint32) for _ in range(5)]  # parent, box x0, y0, x1, y1
        flags = [np.empty(n, np.bool_) for _ in range(2)]  # border, dirty
        per_root = (np.empty(n, np.float64), np.empty(n, np.uint32), np.empty(n, np.uint32))
        members = (*(np.empty(n, np.uint32) for _ in range(3)), np.empty(n, np.uint8))
        arrays = (np.empty(n, np.int64), (*ids, *flags, *per_root, np.empty(n, np.int64), *members))
        _LOCAL.arrays = arrays
    return arrays


@dataclass(frozen=True)
class CutIous:
    """Best IoUs at every cut (index ``cut + 1``; -1 at cuts that were not needed).

    Attributes:
        multi: over all contours' boxes (MaxBoxAccV2).
        single: of the largest contour's box (MaxBoxAcc); ``None`` if not asked for.
        rows: contour boxes ``(cut, x0, y0, x1, y1)`` when recorded.
        n_boxes: the largest number of boxes one sweep found.
    """

    multi: np.ndarray
    single: np.ndarray | None
    rows: np.ndarray
    n_boxes: int


def _sweeps(
    u8: np.ndarray,
    needed: np.ndarray,
    gt: np.ndarray,
    reference: bool,
    capacity: int = 0,
    largest: bool = False,
) -> CutIous:
    """Both sweeps at every cut with ``needed[cut + 1]`` (the no-contour box's IoU where the
    foreground is empty); contour box rows, as many as ``capacity`` allows per sweep; with
    ``largest``, a third (foreground) sweep over the hole-filled map (module docstring)."""
    u8 = np.ascontiguousarray(u8, dtype=np.uint8)
    if max(u8.shape) > 0xFFFF:  # coordinates are packed in 16 bits
        raise ValueError(f"maps larger than 65535 pixels per side are not supported, got {u8.shape}")
    pixels, work = _workspace(u8.size)
    filled = work[-1][: u8.size]
    filled[:] = 255  # above every needed cut, where the holes sweep leaves it
    args = (u8.shape, needed, gt, reference)
    found = []
    starts = _sorted_pixels(u8, pixels)
    for holes in (False, True):
        rows = np.empty((capacity, 5), dtype=np.int64) if capacity else _NO_ROWS
        best, count, n_rows, _ = _SWEEPS[holes](pixels, starts, *args, rows, work, largest and holes)
        found.append((best, count, rows[:n_rows]))
    (fg_best, fg_count, fg_rows), (hole_best, hole_count, hole_rows) = found
    no_contour = _box_best_iou(0, 0, 0, 0, gt, 1.0 if reference else 0.0)
    best = np.where(fg_count > 0, np.maximum(fg_best, hole_best), no_contour)
    single = None
    if largest:
        starts = _sorted_pixels(filled.reshape(u8.shape), pixels)
        largest_iou = _SWEEPS[False](pixels, starts, *args, _NO_ROWS, work, True)[3]
        single = np.where(needed, np.where(fg_count > 0, largest_iou, no_contour), -1.0)
    n_boxes = max(int(fg_count.sum()), int(hole_count.sum()))
    return CutIous(np.where(needed, best, -1.0), single, np.concatenate([fg_rows, hole_rows]), n_boxes)


def _needed(cuts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cut indices (``cut + 1``, cuts clipped to -1 .. 255: same foregrounds) and their mask."""
    index = np.clip(np.asarray(cuts, dtype=np.int64), -1, 255) + 1
    needed = np.zeros(_N_CUTS, dtype=np.bool_)
    needed[index] = True
    return index, needed


def best_iou_per_cut(u8: np.ndarray, cuts: np.ndarray, gt_boxes: np.ndarray, reference: bool) -> np.ndarray:
    """``(len(cuts),)`` best IoU between all contours' boxes of ``u8 > cut`` and ``gt_boxes``.

    Equal to boxing every contour of ``cv2.findContours(RETR_TREE)`` and taking the
    :func:`~wsol.metrics.boxes.box_iou` maximum (the box ``[0, 0, 0, 0]`` without contours).

    Args:
        u8: ``(H, W)`` uint8 map.
        cuts: integer cuts (below -1 acts as -1, above 255 as 255).
        gt_boxes: ``(G, 4)`` ground-truth boxes, G >= 1.
        reference: wsolevaluation's box convention (box ends clipped to ``W - 1`` /
            ``H - 1``, inclusive-end IoU); else half-open boxes and areas.
    """
    gt = np.ascontiguousarray(gt_boxes, dtype=np.float64).reshape(-1, 4)
    index, needed = _needed(cuts)
    return _sweeps(u8, needed, gt, reference).multi[index]


def best_ious_per_cut(
    u8: np.ndarray, cuts: np.ndarray, gt_boxes: np.ndarray, reference: bool
) -> tuple[np.ndarray, np.ndarray]:
    """``(len(cuts),)`` best IoUs of all contours' boxes (as :func:`best_iou_per_cut`) and of
    the largest contour's box (largest ``cv2.contourArea``, OpenCV's order on ties)."""
    gt = np.ascontiguousarray(gt_boxes, dtype=np.float64).reshape(-1, 4)
    index, needed = _needed(cuts)
    found = _sweeps(u8, needed, gt, reference, largest=True)
    return found.multi[index], found.single[index]


def boxes_per_cut(u8: np.ndarray, cuts: np.ndarray, reference: bool) -> list[np.ndarray]:
    """All-contour boxes ``[x, y, x + w, y + h]`` (ends clipped to ``W - 1`` / ``H - 1`` if
    ``reference``) of each cut, rows sorted; ``(0, 4)`` where the foreground is empty."""
    index, needed = _needed(cuts)
    no_gt = np.zeros((1, 4))
    n_boxes = _sweeps(u8, needed, no_gt, reference).n_boxes  # first count, then record
    rows = _sweeps(u8, needed, no_gt, reference, capacity=n_boxes).rows
    rows = rows[np.lexsort(rows.T[::-1])]  # by cut, then box
    bounds = np.searchsorted(rows[:, 0], np.arange(-1, _N_CUTS))
    return [rows[bounds[i] : bounds[i + 1], 1:] for i in index]
