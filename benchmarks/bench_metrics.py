"""Speed of wsol's localization metrics against per-threshold loops and wsolevaluation, in one run.

Run: ``python benchmarks/bench_metrics.py [--n 300]`` (from the repository root).

Box maps: ``n`` random CAM-like 224x224 maps (rotated anisotropic blobs, rings that
leave holes, and noise at 14x14 and 56x56 upsampled bicubically, as CAMs are) with 1-3
ground-truth boxes each. Timed over all maps at ``cam_curve_interval`` 0.001 and 0.01,
in ms per map of process CPU time (so that load from other processes affects it less;
wall time in brackets).

1. Best IoU per threshold, the metric's core:

   * ``opencv loop``: wsol's plain per-threshold OpenCV loop (``method="opencv"``: per
     threshold ``cv2.threshold``, ``findContours``, ``boundingRect`` and ``contourArea``
     of every contour), giving both contour modes;
   * ``union-find V2``: :func:`~wsol.metrics.boxes.all_contour_best_iou` (MaxBoxAccV2
     only; goals >= 20x at 0.001 and >= 5x at 0.01 against the opencv loop);
   * ``union-find V1+V2``: :func:`~wsol.metrics.boxes.contour_best_ious`, both modes
     (goals >= 10x at 0.001 and >= 3x at 0.01 against the opencv loop).

2. End to end against wsolevaluation's own loops (:mod:`wsoleval_reference`, a
   re-statement of ``BoxEvaluator.accumulate`` / ``MaskEvaluator.accumulate``): wsol's
   ``BoxAccuracy`` (``modes=("single",)`` for MaxBoxAcc V1, ``("multi",)`` for V2) and
   ``MaskAccuracy`` (PxAP: masks of 500x375 images against the same maps) take the same
   prepared maps, in batches of 50. Goals: every metric at least as fast as the
   reference at both intervals, PxAP at least 2x.

All paths are checked to give identical numbers (IoUs, correct counts, histograms).
Then AUC-Judd (:mod:`bench_saliency`: 100 maps of 480x640, 50 fixations each, against a
direct loop; goal: faster). Each goal ends the output as one ``GOAL`` line; the figures
measured on a shared 2-core CPU are in the README's Benchmarks section.
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
import wsoleval_reference  # noqa: E402

from wsol.data.sample import Sample  # noqa: E402
from wsol.metrics.box_accuracy import BoxAccuracy  # noqa: E402
from wsol.metrics.boxes import all_contour_best_iou, contour_best_ious, scoremap_boxes  # noqa: E402
from wsol.metrics.mask_accuracy import MaskAccuracy  # noqa: E402
from wsol.metrics.scoremap import cam_thresholds, normalize_scoremap  # noqa: E402

SIZE = 224
IMAGE_SIZE = (500, 375)  # (W, H) of the images the PxAP masks belong to
IOUS = (30, 50, 70)
BATCH = 50
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


def goal_line(what: str, measured: float, target: float) -> str:
    return f"GOAL {what}: {measured:.1f}x (goal {target:g}x) {'met' if measured >= target else 'NOT met'}"


def box_core(maps: Maps, goals: list[str]) -> None:
    """Best IoUs per threshold: the opencv loop against the union-find sweeps."""
    contour_best_ious(maps[0][0], cam_thresholds(0.5), maps[0][1])  # numba compile/load: untimed
    for interval, goal_v2, goal_both in ((0.001, 20, 10), (0.01, 5, 3)):
        t = cam_thresholds(interval)
        opencv, opencv_cpu, opencv_wall = timed(lambda m, gt, t=t: both_modes("opencv", m, t, gt), maps)
        v2, v2_cpu, v2_wall = timed(lambda m, gt, t=t: all_contour_best_iou(m, t, gt), maps)
        both, both_cpu, both_wall = timed(lambda m, gt, t=t: contour_best_ious(m, t, gt), maps)
        n = len(t)
        same_v2 = all(np.array_equal(a[:n], b) for a, b in zip(opencv, v2, strict=True))
        pairs = zip(opencv, both, strict=True)
        same_both = all(np.array_equal(a, np.concatenate([b["multi"], b["single"]])) for a, b in pairs)
        print(
            f"interval {interval}: opencv loop {opencv_cpu:.2f} ({opencv_wall:.2f})"
            f"  union-find V2 {v2_cpu:.2f} ({v2_wall:.2f})  union-find V1+V2 {both_cpu:.2f} ({both_wall:.2f})"
            f"  identical: V2 {same_v2}, V1+V2 {same_both}"
        )
        at = f"vs opencv loop, interval {interval}"
        goals.append(goal_line(f"MaxBoxAccV2 {at}", opencv_cpu / v2_cpu, goal_v2))
        goals.append(goal_line(f"MaxBoxAcc V1+V2 {at}", opencv_cpu / both_cpu, goal_both))


def box_end_to_end(maps: Maps, goals: list[str]) -> None:
    """wsol's BoxAccuracy against the reference's BoxEvaluator loop, per contour mode."""
    samples = [
        Sample(image_id=str(i), image=None, label=0, size=(SIZE, SIZE), boxes=gt.astype(np.float64))
        for i, (_, gt) in enumerate(maps)
    ]
    scoremaps = [m for m, _ in maps]
    for interval in (0.001, 0.01):
        t = cam_thresholds(interval)
        for mode, multi, name in (("single", False, "MaxBoxAcc V1"), ("multi", True, "MaxBoxAccV2")):
            reference = wsoleval_reference.BoxEvaluator(t, IOUS, multi_contour_eval=multi)
            ref_cpu = run_timed(lambda ev=reference: [ev.accumulate(m, gt) for m, gt in maps])
            ours = BoxAccuracy(interval, IOUS, input_maps="prepared", modes=(mode,))
            ours_cpu = run_timed(lambda acc=ours: batched(acc.update, scoremaps, samples))
            counts = ours._sums[f"correct_{mode}"]
            same = all(np.array_equal(counts[k], reference.num_correct[iou]) for k, iou in enumerate(IOUS))
            per_map = 1e3 / len(maps)
            print(
                f"{name} interval {interval}: wsolevaluation {ref_cpu * per_map:.2f}"
                f"  wsol {ours_cpu * per_map:.2f}  identical counts: {same}"
            )
            goals.append(goal_line(f"{name} vs wsolevaluation, interval {interval}", ref_cpu / ours_cpu, 1))


def pxap_end_to_end(maps: Maps, goals: list[str]) -> None:
    """wsol's MaskAccuracy against the reference's MaskEvaluator loop (same maps, masks)."""
    width, height = IMAGE_SIZE
    scale = np.array([width, height, width, height])
    masks = [_box_mask(gt * scale // SIZE, (height, width)) for _, gt in maps]
    ignores = [(np.roll(mask, 40, axis=1) == 1) & (mask == 0) for mask in masks]  # beside the object
    samples = [
        Sample(image_id=str(i), image=None, label=0, size=IMAGE_SIZE, mask=mask, ignore=ignore)
        for i, (mask, ignore) in enumerate(zip(masks, ignores, strict=True))
    ]
    scoremaps = [m for m, _ in maps]
    triples = list(zip(scoremaps, masks, ignores, strict=True))
    MaskAccuracy(input_maps="prepared").update(scoremaps[:1], samples[:1])  # numba compile/load: untimed
    for interval in (0.001, 0.01):
        reference = wsoleval_reference.MaskEvaluator(cam_thresholds(interval))
        ref_cpu = run_timed(lambda ev=reference: [ev.accumulate(m, [mask], ign) for m, mask, ign in triples])
        ours = MaskAccuracy(interval, input_maps="prepared")
        ours_cpu = run_timed(lambda acc=ours: batched(acc.update, scoremaps, samples))
        same = np.array_equal(ours._sums["pos_hist"], reference.true_hist) and np.array_equal(
            ours._sums["neg_hist"], reference.false_hist
        )
        per_map = 1e3 / len(maps)
        print(
            f"PxAP interval {interval}: wsolevaluation {ref_cpu * per_map:.3f}  wsol {ours_cpu * per_map:.3f}"
            f"  PxAP {ours.compute()['pxap']:.3f}  identical histograms: {same}"
        )
        goals.append(goal_line(f"PxAP vs wsolevaluation, interval {interval}", ref_cpu / ours_cpu, 2))


def run_timed(fn: Callable[[], object]) -> float:
    """Process CPU seconds of ``fn()``."""
    start = time.process_time()
    fn()
    return time.process_time() - start


def batched(update: Callable[[list, list], None], maps: list, samples: list[Sample]) -> None:
    for i in range(0, len(maps), BATCH):
        update(maps[i : i + BATCH], samples[i : i + BATCH])


def _box_mask(gt: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    mask = np.zeros(shape, dtype=np.uint8)
    for x0, y0, x1, y1 in gt:
        mask[y0 : y1 + 1, x0 : x1 + 1] = 1
    return mask


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=300, help="number of box maps (default 300)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    maps = [make_map(rng) for _ in range(args.n)]
    print(f"{args.n} maps of {SIZE}x{SIZE}; ms per map, process CPU time (wall in brackets)")
    goals: list[str] = []
    box_core(maps, goals)
    box_end_to_end(maps, goals)
    pxap_end_to_end(maps, goals)
    ratio = bench_saliency.compare(n_maps=100, shape=(480, 640), n_fix=50, repeats=3)
    goals.append(goal_line("AUC-Judd vs the direct loop", ratio, 1))
    print("\n".join(goals))


if __name__ == "__main__":
    main()
