"""A re-statement of wsolevaluation's per-map evaluation loops, the baseline of ``bench_metrics.py``.

Written for wsol from the reference's description and behaviour (clovaai/wsolevaluation,
commit 96f4b88, MIT licence): ``BoxEvaluator.accumulate`` with
``compute_bboxes_from_scoremaps`` and ``calculate_multiple_iou``, and
``MaskEvaluator.accumulate`` with ``get_mask``. The same operations in the same order
(per threshold: ``cv2.threshold``, ``findContours``, the largest contour by
``cv2.contourArea`` unless ``multi_contour_eval``, ``boundingRect``; IoUs of all boxes at
once through tiled arrays; per IoU threshold, a count per cam threshold; for masks, a
nearest-neighbour resize per instance and ignore mask, then two ``np.histogram`` calls).
Only file reading is left out: masks come as arrays, so both sides do the same work.
"""

from __future__ import annotations

import cv2
import numpy as np

RESIZE = 224


def check_scoremap_validity(scoremap: np.ndarray) -> None:
    """The reference's input checks (type, 2-D, no NaN, values in [0, 1])."""
    if not isinstance(scoremap, np.ndarray) or scoremap.ndim != 2:
        raise TypeError("score map must be a 2-D numpy array")
    if np.isnan(scoremap).any():
        raise ValueError("score map contains NaN")
    if scoremap.min() < 0 or scoremap.max() > 1:
        raise ValueError("score map values must lie in [0, 1]")


def boxes_at_thresholds(
    scoremap: np.ndarray, thresholds: np.ndarray, multi_contour_eval: bool
) -> tuple[list[np.ndarray], list[int]]:
    """Per cam threshold: the predicted boxes and how many (``compute_bboxes_from_scoremaps``)."""
    check_scoremap_validity(scoremap)
    height, width = scoremap.shape
    image = np.expand_dims((scoremap * 255).astype(np.uint8), 2)
    all_boxes, counts = [], []
    for threshold in thresholds:
        _, binary = cv2.threshold(image, int(threshold * np.max(image)), 255, cv2.THRESH_BINARY)
        contours = cv2.findContours(binary, cv2.RETR_TREE, cv2.CHAIN_APPROX_SIMPLE)[0]
        if len(contours) == 0:
            all_boxes.append(np.asarray([[0, 0, 0, 0]]))
            counts.append(1)
            continue
        if not multi_contour_eval:
            contours = [max(contours, key=cv2.contourArea)]
        boxes = []
        for contour in contours:
            x, y, w, h = cv2.boundingRect(contour)
            boxes.append([x, y, min(x + w, width - 1), min(y + h, height - 1)])
        all_boxes.append(np.asarray(boxes))
        counts.append(len(contours))
    return all_boxes, counts


def multiple_iou(box_a: np.ndarray, box_b: np.ndarray) -> np.ndarray:
    """``(A, B)`` IoUs with inclusive ends, through tiled copies (``calculate_multiple_iou``)."""
    n_a, n_b = box_a.shape[0], box_b.shape[0]
    a = np.expand_dims(np.tile(box_a, n_b), axis=1).reshape((n_a, n_b, -1))
    b = np.transpose(np.expand_dims(np.tile(box_b, n_a), axis=1).reshape((n_b, n_a, -1)), (1, 0, 2))
    min_x, min_y = np.maximum(a[:, :, 0], b[:, :, 0]), np.maximum(a[:, :, 1], b[:, :, 1])
    max_x, max_y = np.minimum(a[:, :, 2], b[:, :, 2]), np.minimum(a[:, :, 3], b[:, :, 3])
    intersection = np.maximum(0, max_x - min_x + 1) * np.maximum(0, max_y - min_y + 1)
    area_a = (a[:, :, 2] - a[:, :, 0] + 1) * (a[:, :, 3] - a[:, :, 1] + 1)
    area_b = (b[:, :, 2] - b[:, :, 0] + 1) * (b[:, :, 3] - b[:, :, 1] + 1)
    denominator = area_a + area_b - intersection
    degenerate = np.where(denominator <= 0)
    denominator[degenerate] = 1
    ious = intersection / denominator
    ious[degenerate] = 0
    return ious


class BoxEvaluator:
    """Counts of correct maps per IoU threshold and cam threshold (``BoxEvaluator``)."""

    def __init__(self, thresholds: np.ndarray, iou_thresholds: tuple[int, ...], multi_contour_eval: bool):
        self.thresholds = thresholds
        self.iou_thresholds = iou_thresholds
        self.multi_contour_eval = multi_contour_eval
        self.num_correct = {t: np.zeros(len(thresholds)) for t in iou_thresholds}
        self.cnt = 0

    def accumulate(self, scoremap: np.ndarray, gt_boxes: np.ndarray) -> None:
        boxes, counts = boxes_at_thresholds(scoremap, self.thresholds, self.multi_contour_eval)
        ious = multiple_iou(np.array(np.concatenate(boxes, axis=0)), np.array(gt_boxes))
        best, idx = [], 0
        for n in counts:
            best.append(max(ious.max(1)[idx : idx + n]))
            idx += n
        for t in self.iou_thresholds:
            self.num_correct[t][np.where(np.asarray(best) >= t / 100)[0]] += 1
        self.cnt += 1


def get_mask(instance_masks: list[np.ndarray], ignore: np.ndarray) -> np.ndarray:
    """224 x 224 label map (1 object, 0 background, 255 ignored) from original-size masks."""
    instances = [
        cv2.resize(np.float32(m), (RESIZE, RESIZE), interpolation=cv2.INTER_NEAREST) > 0.5
        for m in instance_masks
    ]
    union = np.stack(instances, axis=0).any(axis=0)
    ignore_box = cv2.resize(np.float32(ignore), (RESIZE, RESIZE), interpolation=cv2.INTER_NEAREST) > 0.5
    ignore_mask = np.logical_and(ignore_box, np.logical_not(union))
    if np.logical_and(ignore_mask, union).any():
        raise RuntimeError("Ignore and foreground masks intersect.")
    return union.astype(np.uint8) + 255 * ignore_mask.astype(np.uint8)


class MaskEvaluator:
    """Pooled score histograms at object and background pixels (``MaskEvaluator``)."""

    def __init__(self, thresholds: np.ndarray):
        self.edges = np.append(thresholds, [1.0, 2.0, 3.0])
        self.true_hist = np.zeros(len(thresholds) + 2, dtype=np.float64)
        self.false_hist = np.zeros(len(thresholds) + 2, dtype=np.float64)

    def accumulate(self, scoremap: np.ndarray, instance_masks: list[np.ndarray], ignore: np.ndarray) -> None:
        check_scoremap_validity(scoremap)
        gt_mask = get_mask(instance_masks, ignore)
        true_hist, _ = np.histogram(scoremap[gt_mask == 1], bins=self.edges)
        self.true_hist += true_hist.astype(np.float64)
        false_hist, _ = np.histogram(scoremap[gt_mask == 0], bins=self.edges)
        self.false_hist += false_hist.astype(np.float64)
