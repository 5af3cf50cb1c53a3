"""Speed of wsol's localization metrics against plain implementations, in one run.

Run: ``python benchmarks/bench_metrics.py [--n 1000]`` (from the repository root).

Box maps: ``n`` random CAM-like 224x224 maps (rotated anisotropic blobs, rings that
leave holes, and noise at 14x14 and 56x56 upsampled bicubically, as CAMs are) with 1-3
ground-truth boxes each. Timed over all maps at ``cam_curve_interval`` 0.001 and 0.01,
in ms per map of process CPU time (so that load from other processes affects it less;
wall time in brackets):

* ``opencv loop``: wsol's plain per-threshold OpenCV loop (``method="opencv"``: per
  threshold ``cv2.threshold``, ``findContours``, ``boundingRect`` and ``contourArea`` of
  every contour), giving both contour modes;
* ``V2-only loop``: a leaner per-threshold loop with only what MaxBoxAccV2 needs (no
  ``contourArea``), as the reference's all-contour evaluation does;
* ``union-find``: :func:`~wsol.metrics.boxes.all_contour_best_iou`, what
  ``BoxAccuracy(modes=("multi",))`` runs; MaxBoxAccV2 goals: >= 20x at 0.001 and >= 5x at
  0.01 against the opencv loop (also printed: against the V2-only loop);
* ``fast``: ``method="fast"`` for both modes (MaxBoxAcc V1 needs OpenCV's contours: one
  ``findContours`` per distinct cut), for information.

All of them are checked to give identical IoUs. Then PxAP timing (histograms of the same
maps against masks) and AUC-Judd (:mod:`bench_saliency`: 100 maps of 480x640, 50
fixations each, against a direct loop; goal: faster).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
for path in (ROOT, ROOT / "benchmarks"):  # run as a script without installing wsol
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import bench_saliency  # noqa: E402

from wsol.metrics.boxes import (  # noqa: E402
    all_contour_best_iou,
    box_iou,
    scoremap_boxes,
    scoremap_to_uint8,
)
from wsol.metrics.masks import mask_label_map, pxap, pxap_bin_edges, score_histograms  # noqa: E402
from wsol.metrics.scoremap import cam_thresholds, normalize_scoremap  # noqa: E402

SIZE = 224
Maps = list[tuple[np.ndarray, np.ndarray]]


def make_map(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A CAM-like map in [0, 1] and its ground-truth boxes (on the 224 grid)."""
    yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype(np.float64)
    cam = np.zeros((SIZE, SIZE))
    boxes = []
    for _ in range(rng.integers(1, 4)):
        cx, cy = rng.uniform(30, SIZE - 30, 2)
        sx, sy = rng.uniform(8, 45, 2)
        angle = rng.uniform(0, np.pi)
        u = (xx - cx) * np.cos(angle) + (yy - cy) * np.sin(angle)
        v = -(xx - cx) * np.sin(angle) + (yy - cy) * np.cos(angle)
        if rng.random() < 0.3:  # ring: a hole for all thresholds above its centre value
            r = np.hypot(u / sx, v / sy)
            cam += rng.uniform(0.5, 1) * np.exp(-((r - 1.0) ** 2) / 0.1)
        else:
            cam += rng.uniform(0.5, 1) * np.exp(-(u**2 / sx**2 + v**2 / sy**2) / 2)
        half_w, half_h = 2 * max(sx, sy), 2 * min(sx, sy)
        boxes.append([cx - half_w, cy - half_h, cx + half_w, cy + half_h])
    for grid, amplitude in ((14, 0.08), (56, 0.02)):  # CAM-resolution noise, bicubic-upsampled
        cam += cv2.resize(rng.normal(0, amplitude, (grid, grid)), (SIZE, SIZE), interpolation=cv2.INTER_CUBIC)
    gt = np.clip(np.round(boxes), 0, SIZE - 1).astype(np.int64)
    return normalize_scoremap(cam).scoremap, gt


def plain_all_contour_loop(scoremap: np.ndarray, thresholds: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """MaxBoxAccV2's best IoU per threshold with a per-threshold OpenCV loop: ``cv2.threshold``,
    ``findContours`` and ``boundingRect`` of every contour; then the IoU of all boxes at
    once and the maximum per threshold."""
    image = scoremap_to_uint8(scoremap)[:, :, None]
    height, width = scoremap.shape
    boxes, counts = [], []
    for t in thresholds:
        _, binary = cv2.threshold(image, int(t * np.max(image)), 255, cv2.THRESH_BINARY)
        contours = cv2.findContours(binary, cv2.RETR_TREE, cv2.CHAIN_APPROX_SIMPLE)[0]
        found = [cv2.boundingRect(c) for c in contours]
        boxes += [[x, y, min(x + w, width - 1), min(y + h, height - 1)] for x, y, w, h in found] or [[0] * 4]
        counts.append(max(len(found), 1))
    per_box = box_iou(np.array(boxes), gt).max(axis=1)
    return np.maximum.reduceat(per_box, np.cumsum(counts) - counts)


def both_modes(method: str, scoremap: np.ndarray, thresholds: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """All-contour then largest-contour best IoUs, ``(2T,)``."""
    boxes = scoremap_boxes(scoremap, thresholds, method)
    return np.concatenate([boxes.best_iou(gt, "multi"), boxes.best_iou(gt, "single")])


def timed(fn: Callable[[np.ndarray, np.ndarray], object], maps: Maps) -> tuple[list, float, float]:
    """``fn(map, ground truth)`` over all maps, and its CPU and wall ms per map."""
    wall, cpu = time.perf_counter(), time.process_time()
    results = [fn(m, gt) for m, gt in maps]
    n = len(maps)
    return results, 1e3 * (time.process_time() - cpu) / n, 1e3 * (time.perf_counter() - wall) / n


def box_benchmarks(maps: Maps) -> None:
    all_contour_best_iou(maps[0][0], cam_thresholds(0.5), maps[0][1])  # numba compile/load: untimed
    for interval, goal in ((0.001, 20), (0.01, 5)):
        t = cam_thresholds(interval)
        opencv, opencv_cpu, opencv_wall = timed(lambda m, gt, t=t: both_modes("opencv", m, t, gt), maps)
        loop, loop_cpu, loop_wall = timed(lambda m, gt, t=t: plain_all_contour_loop(m, t, gt), maps)
        sweep, sweep_cpu, sweep_wall = timed(lambda m, gt, t=t: all_contour_best_iou(m, t, gt), maps)
        fast, fast_cpu, fast_wall = timed(lambda m, gt, t=t: both_modes("fast", m, t, gt), maps)
        triples = zip(opencv, loop, sweep, strict=True)
        same_v2 = all(np.array_equal(a[: len(t)], b) and np.array_equal(b, c) for a, b, c in triples)
        same_both = all(np.array_equal(a, b) for a, b in zip(opencv, fast, strict=True))
        ratio = opencv_cpu / sweep_cpu
        print(
            f"MaxBoxAccV2 interval {interval}: opencv loop {opencv_cpu:.2f} ({opencv_wall:.2f})"
            f"  V2-only loop {loop_cpu:.2f} ({loop_wall:.2f})  union-find {sweep_cpu:.2f} ({sweep_wall:.2f})"
            f"  ratio {ratio:.1f}x (goal {goal}x, {'met' if ratio >= goal else 'NOT met'}),"
            f" {loop_cpu / sweep_cpu:.1f}x vs the V2-only loop  identical: {same_v2}"
        )
        print(
            f"MaxBoxAcc V1+V2 interval {interval}: opencv loop {opencv_cpu:.2f}  fast {fast_cpu:.2f}"
            f" ({fast_wall:.2f})  ratio {opencv_cpu / fast_cpu:.1f}x  identical: {same_both}"
        )


def pxap_benchmarks(maps: Maps) -> None:
    label_maps = [mask_label_map(_box_mask(gt), None) for _, gt in maps]
    for interval in (0.001, 0.01):
        edges = pxap_bin_edges(cam_thresholds(interval))

        labelled = [(m, lab) for (m, _), lab in zip(maps, label_maps, strict=True)]
        hists, cpu, wall = timed(lambda m, lab, e=edges: score_histograms(m, lab, e), labelled)
        value = pxap(sum(h[0] for h in hists), sum(h[1] for h in hists))
        print(f"PxAP interval {interval}: {cpu:.3f} ms per map ({wall:.3f}), PxAP {value:.3f}")


def _box_mask(gt: np.ndarray) -> np.ndarray:
    mask = np.zeros((SIZE, SIZE), dtype=np.uint8)
    for x0, y0, x1, y1 in gt:
        mask[y0 : y1 + 1, x0 : x1 + 1] = 1
    return mask


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1000, help="number of box maps (default 1000)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    maps = [make_map(rng) for _ in range(args.n)]
    print(f"{args.n} maps of {SIZE}x{SIZE}; ms per map, process CPU time (wall in brackets)")
    box_benchmarks(maps)
    pxap_benchmarks(maps)
    ratio = bench_saliency.compare(n_maps=100, shape=(480, 640), n_fix=50, repeats=3)
    print(f"AUC-Judd: goal faster than the direct loop: {'met' if ratio > 1 else 'NOT met'}")


if __name__ == "__main__":
    main()
