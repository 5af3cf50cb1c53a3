"""Speed of wsol's box metrics (fast path) against the plain per-threshold OpenCV loop, and of PxAP.

Run: ``python benchmarks/bench_metrics.py [--n 1000]`` (from the repository root).

For ``n`` random CAM-like 224x224 maps (rotated anisotropic blobs, rings that leave
holes, and noise at 14x14 and 56x56 upsampled bicubically, as CAMs are) with 1-3 ground-truth boxes each, it
times, per map, the boxes at every threshold plus the per-threshold best IoU (everything
MaxBoxAcc and MaxBoxAccV2 need) with ``method="opencv"`` (one threshold, findContours
and boundingRect per threshold: the reference algorithm) and ``method="fast"``, at
``cam_curve_interval`` 0.001 and 0.01, checks that both give identical IoUs, and prints
the ratios (goals: >= 20x at 0.001, >= 5x at 0.01). It then times PxAP (histograms of
the same maps against masks). Times are process CPU time, so that load from other
processes on the machine affects them less; wall time is printed too.
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
if str(ROOT) not in sys.path:  # run as a script without installing wsol
    sys.path.insert(0, str(ROOT))

from wsol.metrics.boxes import best_iou, scoremap_boxes  # noqa: E402
from wsol.metrics.masks import mask_label_map, pxap, pxap_bin_edges, score_histograms  # noqa: E402
from wsol.metrics.scoremap import cam_thresholds, normalize_scoremap  # noqa: E402

SIZE = 224


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


def localize(method: str, maps: list, thresholds: np.ndarray) -> list[np.ndarray]:
    out = []
    for scoremap, gt in maps:
        ious = best_iou(scoremap_boxes(scoremap, thresholds, method), gt)
        out.append(np.concatenate([ious.multi, ious.single]))
    return out


def timed(fn: Callable[[], object]) -> tuple[object, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return result, time.process_time() - cpu, time.perf_counter() - wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1000, help="number of maps (default 1000)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    maps = [make_map(rng) for _ in range(args.n)]
    print(f"{args.n} maps of {SIZE}x{SIZE}; ms per map (CPU time, wall in brackets)")
    for interval, goal in ((0.001, 20), (0.01, 5)):
        thresholds = cam_thresholds(interval)
        ref, ref_cpu, ref_wall = timed(lambda t=thresholds: localize("opencv", maps, t))
        fast, fast_cpu, fast_wall = timed(lambda t=thresholds: localize("fast", maps, t))
        same = all(np.array_equal(a, b) for a, b in zip(ref, fast, strict=True))
        ratio = ref_cpu / fast_cpu
        print(
            f"interval {interval}: opencv loop {1e3 * ref_cpu / args.n:.2f} ({1e3 * ref_wall / args.n:.2f})"
            f"  fast {1e3 * fast_cpu / args.n:.2f} ({1e3 * fast_wall / args.n:.2f})"
            f"  ratio {ratio:.1f}x (goal {goal}x, {'met' if ratio >= goal else 'NOT met'})"
            f"  identical: {same}"
        )
    label_maps = [mask_label_map(_box_mask(gt), None) for _, gt in maps]
    for interval in (0.001, 0.01):
        edges = pxap_bin_edges(cam_thresholds(interval))

        def run(e: np.ndarray = edges) -> float:
            hists = [score_histograms(m, lab, e) for (m, _), lab in zip(maps, label_maps, strict=True)]
            return pxap(sum(h[0] for h in hists), sum(h[1] for h in hists))

        value, cpu, wall = timed(run)
        per_map = f"{1e3 * cpu / args.n:.3f} ms per map ({1e3 * wall / args.n:.3f})"
        print(f"PxAP interval {interval}: {per_map}, PxAP {value:.3f}")


def _box_mask(gt: np.ndarray) -> np.ndarray:
    mask = np.zeros((SIZE, SIZE), dtype=np.uint8)
    for x0, y0, x1, y1 in gt:
        mask[y0 : y1 + 1, x0 : x1 + 1] = 1
    return mask


if __name__ == "__main__":
    main()
