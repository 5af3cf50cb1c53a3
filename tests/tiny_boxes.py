"""A tiny in-memory dataset with boxes and masks for tracking and report tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from wsol.config import RunConfig, load_config
from wsol.data.dataset import WSOLDataset
from wsol.data.datasets import DATASETS
from wsol.data.sample import Sample

NAME = "_tiny_boxes"


class TinyBoxes(WSOLDataset):
    """32-px noise images with a bright square (box and mask) in the colour channel of the class."""

    ground_truth = frozenset({"boxes", "masks"})

    def __init__(self, split: str, size: int = 8) -> None:
        self.split = split
        self.image_ids = [f"{split}/img_{i}.png" for i in range(size)]
        self.class_names = ["red", "green"]

    def load_sample(self, index: int) -> Sample:
        rng = np.random.default_rng([index, len(self.split)])
        image = rng.integers(0, 60, (32, 32, 3), dtype=np.uint8)
        label = index % 2
        side = int(rng.integers(8, 16))
        y, x = rng.integers(0, 32 - side, 2)
        image[y : y + side, x : x + side, label] = 250
        mask = np.zeros((32, 32), np.uint8)
        mask[y : y + side, x : x + side] = 1
        box = np.array([[x, y, x + side - 1, y + side - 1]], dtype=np.float64)
        return Sample(self.image_ids[index], image, label, boxes=box, mask=mask)


def tiny_config(output_dir: Path, name: str, *overrides: str) -> RunConfig:
    return load_config(
        None,
        [
            f"name={name}",
            f"output_dir={output_dir}",
            "device=cpu",
            f"data.dataset={{name: {NAME}}}",
            "data.image_size=64",
            "data.batch_size=4",
            "data.eval_batch_size=8",
            "data.num_workers=0",
            "model.backbone.name=resnet10t",
            "model.backbone.stride_one_stages=[-1]",
            "optim.epochs=1",
            "optim.lr=0.05",
            "eval.resolution=64",
            "eval.cam_curve_interval=0.05",
            "eval.num_overlays=4",
            *overrides,
        ],
    )


def register_tiny_boxes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``data.dataset.name: _tiny_boxes`` build :class:`TinyBoxes` (undone with ``monkeypatch``)."""
    DATASETS.list()  # load the real members first
    monkeypatch.setitem(DATASETS._members, NAME, lambda split: TinyBoxes(split))
