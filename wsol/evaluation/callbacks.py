"""Batch callbacks of the evaluation loop (:class:`wsol.evaluation.loop.Stream`): what a report keeps."""

from __future__ import annotations

from typing import Any

import numpy as np
from torch import Tensor

from wsol.report.figures import Panel
from wsol.visualize import denormalize


class PredictionLog:
    """Records each image's label and predicted class."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Any]] = {}

    def __call__(self, batch: dict[str, Any], predictions: Tensor, maps: Tensor | None) -> None:
        for image_id, label, pred in zip(
            batch["image_id"], batch["label"].tolist(), predictions.tolist(), strict=True
        ):
            self.rows[image_id] = {"label": label, "prediction": pred}


class PanelCollector:
    """Keeps the first ``limit`` images with their maps as :class:`~wsol.report.figures.Panel` s."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.panels: list[Panel] = []

    def __call__(self, batch: dict[str, Any], predictions: Tensor, maps: Tensor | None) -> None:
        room = self.limit - len(self.panels)
        if room <= 0 or maps is None:  # no maps: a batch restored from the evaluation cache
            return
        images = denormalize(batch["image"][:room])
        masks = batch.get("mask") or [None] * len(images)
        for i, image in enumerate(images):
            boxes = batch["boxes"][i].numpy() if "boxes" in batch else np.zeros((0, 4))
            mask = None if masks[i] is None else np.asarray(masks[i], dtype=np.uint8)
            self.panels.append(
                Panel(
                    batch["image_id"][i],
                    image,
                    maps[i].numpy(),
                    int(batch["label"][i]),
                    int(predictions[i]),
                    boxes,
                    mask,
                )
            )
