"""Pictures: heatmap overlays with ground-truth and predicted boxes, and grids of them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import torch

from wsol.data.transforms import IMAGENET_MEAN, IMAGENET_STD
from wsol.metrics.boxes import scoremap_boxes
from wsol.metrics.scoremap import prepare_scoremap

GT_COLOR = (0, 255, 0)
PRED_COLOR = (255, 0, 0)


@dataclass
class Overlay:
    """One panel: an RGB image, its heatmap (any size) and boxes in image pixels."""

    image: np.ndarray
    heatmap: np.ndarray
    gt_boxes: np.ndarray = field(default_factory=lambda: np.zeros((0, 4)))
    pred_boxes: np.ndarray = field(default_factory=lambda: np.zeros((0, 4)))
    title: str = ""


def denormalize(images: torch.Tensor) -> np.ndarray:
    """``(B, 3, H, W)`` normalised tensors -> ``(B, H, W, 3)`` uint8 RGB."""
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    pixels = (images.detach().cpu().float() * std + mean).clamp(0, 1).mul(255).round()
    return pixels.to(torch.uint8).permute(0, 2, 3, 1).numpy()


def predicted_box(heatmap: np.ndarray, threshold: float, size: int) -> np.ndarray:
    """Largest-contour box (wsolevaluation's MaxBoxAcc box) of a raw map at ``threshold``, ``size`` grid."""
    prepared = prepare_scoremap(heatmap, size).scoremap
    return scoremap_boxes(prepared, np.array([threshold]), method="opencv").largest_contour_box(0)[None]


def render(panel: Overlay, alpha: float = 0.5) -> np.ndarray:
    """The image with the min-max normalised heatmap (jet) blended in and boxes drawn."""
    h, w = panel.image.shape[:2]
    heat = prepare_scoremap(panel.heatmap, max(h, w)).scoremap
    heat = cv2.resize(heat.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
    colored = cv2.cvtColor(cv2.applyColorMap(np.uint8(heat * 255), cv2.COLORMAP_JET), cv2.COLOR_BGR2RGB)
    out = np.ascontiguousarray(np.clip((1 - alpha) * panel.image + alpha * colored, 0, 255), np.uint8)
    for boxes, color in ((panel.gt_boxes, GT_COLOR), (panel.pred_boxes, PRED_COLOR)):
        for x0, y0, x1, y1 in np.asarray(boxes, dtype=np.int64).reshape(-1, 4):
            cv2.rectangle(out, (int(x0), int(y0)), (int(x1), int(y1)), color, 1)
    return out


def grid(panels: Sequence[Overlay], columns: int = 8, tile: int = 160) -> np.ndarray:
    """Rendered panels in a grid of ``tile``-pixel squares with their titles underneath."""
    rows = -(-len(panels) // columns)
    caption = 14
    canvas = np.full((rows * (tile + caption), columns * tile, 3), 255, np.uint8)
    for i, panel in enumerate(panels):
        r, c = divmod(i, columns)
        img = cv2.resize(render(panel), (tile, tile), interpolation=cv2.INTER_AREA)
        y = r * (tile + caption)
        canvas[y : y + tile, c * tile : (c + 1) * tile] = img
        cv2.putText(
            canvas,
            panel.title[:24],
            (c * tile + 2, y + tile + 11),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.35,
            (0, 0, 0),
            1,
            cv2.LINE_AA,
        )
    return canvas


def save_png(image: np.ndarray, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    return path
