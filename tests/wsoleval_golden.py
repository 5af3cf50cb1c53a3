"""Access to the wsolevaluation golden outputs copied into ``tests/golden/wsoleval``."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import numpy as np

from wsol.data.sample import Sample

GOLDEN = Path(__file__).parent / "golden" / "wsoleval"
GRIDS = ("t100", "t1000")


@functools.cache
def cases() -> dict[str, Any]:
    return json.loads((GOLDEN / "cases.json").read_text())


@functools.cache
def arrays(name: str) -> dict[str, np.ndarray]:
    with np.load(GOLDEN / f"{name}.npz") as data:
        return {key: data[key] for key in data.files}


def _map_input(case: dict[str, Any], lookup: dict[str, np.ndarray]) -> tuple[str, np.ndarray]:
    """``("raw", float32 CAM)`` or ``("prepared", float64 map = u16 / 65535)`` of a case."""
    spec = case["map"]
    if spec["kind"] == "raw_cam":
        return "raw", lookup[spec["raw_key"]]
    return "prepared", lookup[spec["key"]].astype(np.float64) / 65535.0


def box_case_input(case: dict[str, Any]) -> tuple[str, np.ndarray]:
    return _map_input(case, arrays("box_maps_1") | arrays("box_maps_2"))


def mask_case_input(case: dict[str, Any]) -> tuple[str, np.ndarray]:
    return _map_input(case, arrays("mask_inputs"))


def box_sample(case: dict[str, Any]) -> Sample:
    return Sample(
        image_id=case["image_id"],
        image=None,
        label=0,
        size=tuple(case["orig_size"]),
        boxes=np.asarray(case["gt_boxes_orig"], dtype=np.float64),
    )


def mask_sample(case: dict[str, Any]) -> Sample:
    inputs = arrays("mask_inputs")
    union = np.any(np.stack([inputs[k] for k in case["instance_keys"]]) > 0, axis=0)
    return Sample(
        image_id=case["image_id"],
        image=None,
        label=0,
        size=tuple(case["orig_size"]),
        mask=union.astype(np.uint8),
        ignore=inputs[case["ignore_key"]] > 0,
    )


def expected_multi_boxes(grid: str) -> list[list[np.ndarray]]:
    """Reference all-contour boxes as ``[image][threshold] -> (n, 4)`` int arrays."""
    data = arrays(f"box_{grid}")
    nbox = data["multi_nbox"]
    offsets = np.concatenate([[0], np.cumsum(nbox.ravel())]).reshape(-1)
    n_images, n_thresholds = nbox.shape
    boxes = data["multi_boxes"].astype(np.int64)
    return [
        [
            boxes[offsets[i * n_thresholds + k] : offsets[i * n_thresholds + k + 1]]
            for k in range(n_thresholds)
        ]
        for i in range(n_images)
    ]
