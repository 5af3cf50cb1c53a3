"""The one record type every dataset yields before transforms."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Sample:
    """One image with whatever ground truth its dataset has.

    Coordinates are in pixels of the original image; x is the column, y the row.

    Attributes:
        image_id: the dataset's id of the image (for wsolevaluation layouts, the
            relative image path as written in ``image_ids.txt``).
        image: ``(H, W, 3)`` uint8 RGB array, or None for a ground-truth-only record
            (``WSOLDataset.load_target``), which evaluation uses without decoding pixels.
        size: ``(width, height)`` of the original image; taken from ``image`` if omitted.
        label: the image-level class index (the first label of a multi-label image).
        labels: all image-level class indices (multi-label datasets); ``[label]`` otherwise.
        boxes: ``(N, 4)`` float64 ``[x0, y0, x1, y1]`` with inclusive ends
            (0 <= x0 <= x1 <= W-1), the wsolevaluation convention; ``(0, 4)`` if none.
        mask: ``(H, W)`` uint8 object mask (1 = object), or None.
        ignore: ``(H, W)`` bool region excluded from mask metrics, or None.
        part_masks: named ``(H, W)`` uint8 part masks (SynthParts: ``"cue"`` is the
            discriminative part), empty if none.
        fixations: ``(M, 2)`` float64 ``(x, y)`` 0-based fixation points, or None.
        fixation_map: ``(H, W)`` float64 continuous fixation density, or None.
    """

    image_id: str
    image: np.ndarray | None
    label: int
    size: tuple[int, int] = (0, 0)
    labels: list[int] = field(default_factory=list)
    boxes: np.ndarray = field(default_factory=lambda: np.zeros((0, 4), dtype=np.float64))
    mask: np.ndarray | None = None
    ignore: np.ndarray | None = None
    part_masks: dict[str, np.ndarray] = field(default_factory=dict)
    fixations: np.ndarray | None = None
    fixation_map: np.ndarray | None = None

    def __post_init__(self) -> None:
        if not self.labels:
            self.labels = [self.label]
        if self.size == (0, 0) and self.image is not None:
            self.size = (self.image.shape[1], self.image.shape[0])
