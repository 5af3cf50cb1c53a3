"""``tools/eval_loc.py --scoremaps``: saved maps + wsolevaluation metadata -> reference numbers."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from wsoleval_golden import arrays, box_case_input, cases, mask_case_input

from wsol.errors import DataError
from wsol.evaluation.scoremaps import ScoremapEval, evaluate_scoremaps
from wsol.metrics.scoremap import prepare_scoremap

ROOT = Path(__file__).resolve().parents[1]


def prepared(kind: str, scoremap: np.ndarray) -> np.ndarray:
    return prepare_scoremap(scoremap).scoremap if kind == "raw" else scoremap


def save_map(root: Path, image_id: str, scoremap: np.ndarray) -> None:
    path = root / "scoremaps" / (str(Path(image_id).with_suffix("")) + ".npy")
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, scoremap)


def write(path: Path, lines: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{line}\n" for line in lines))


def box_layout(root: Path) -> Path:
    """Box cases as wsolevaluation metadata (``test`` split) and reference-prepared .npy maps."""
    ids, labels, sizes, boxes = [], [], [], []
    for case in cases()["box_cases"]:
        image_id = case["image_id"]
        save_map(root, image_id, prepared(*box_case_input(case)))
        ids.append(image_id)
        labels.append(f"{image_id},0")
        sizes.append(f"{image_id},{case['orig_size'][0]},{case['orig_size'][1]}")
        boxes += [f"{image_id},{','.join(str(v) for v in box)}" for box in case["gt_boxes_orig"]]
    meta = root / "metadata" / "test"
    for name, lines in (
        ("image_ids", ids),
        ("class_labels", labels),
        ("image_sizes", sizes),
        ("localization", boxes),
    ):
        write(meta / f"{name}.txt", lines)
    return root / "metadata"


@pytest.mark.parametrize("grid, interval", [("t100", 0.01), ("t1000", 0.001)])
def test_boxes_equal_reference(tmp_path, grid, interval):
    metadata = box_layout(tmp_path)
    out = evaluate_scoremaps(
        ScoremapEval(tmp_path / "scoremaps", metadata, "test", interval=interval, progress=False)
    )
    expected = cases()["expected"]["box"][grid]
    assert out["maxboxacc"] == expected["MaxBoxAcc_V1"]
    assert out["maxboxacc_v2"] == expected["MaxBoxAccV2"]
    assert [out[f"maxboxacc_v2_iou{d}"] for d in (30, 50, 70)] == expected["multi_contour_acc_per_iou"]


def test_masks_equal_reference(tmp_path):
    inputs = arrays("mask_inputs")
    ids, labels, sizes, masks = [], [], [], []
    for case in cases()["mask_cases"]:
        image_id = case["image_id"]
        save_map(tmp_path, image_id, prepared(*mask_case_input(case)))
        ids.append(image_id)
        labels.append(f"{image_id},0")
        sizes.append(f"{image_id},{case['orig_size'][0]},{case['orig_size'][1]}")
        (tmp_path / "masks").mkdir(exist_ok=True)
        for key in [case["ignore_key"], *case["instance_keys"]]:
            cv2.imwrite(str(tmp_path / "masks" / f"{key}.png"), inputs[key])
        for k, key in enumerate(
            case["instance_keys"]
        ):  # wsolevaluation: the ignore mask on the first line only
            masks.append(f"{image_id},{key}.png,{case['ignore_key'] + '.png' if k == 0 else ''}")
    meta = tmp_path / "metadata" / "test"
    for name, lines in (
        ("image_ids", ids),
        ("class_labels", labels),
        ("image_sizes", sizes),
        ("localization", masks),
    ):
        write(meta / f"{name}.txt", lines)
    job = ScoremapEval(
        tmp_path / "scoremaps", tmp_path / "metadata", "test", mask_root=tmp_path / "masks", progress=False
    )
    out = evaluate_scoremaps(job)
    assert out["pxap"] == cases()["expected"]["mask"]["t100"]["PxAP"]


def test_missing_scoremap_names_the_image(tmp_path):
    metadata = box_layout(tmp_path)
    first = cases()["box_cases"][0]["image_id"]
    (tmp_path / "scoremaps" / (str(Path(first).with_suffix("")) + ".npy")).unlink()
    with pytest.raises(DataError, match=f"{first}: score map not found"):
        evaluate_scoremaps(ScoremapEval(tmp_path / "scoremaps", metadata, "test", progress=False))


def test_cli_with_relative_paths_writes_metrics_json(tmp_path):
    """Every path relative to the current directory, as in the README (``--metadata metadata/CUB``)."""
    metadata = box_layout(tmp_path).relative_to(tmp_path)
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "tools" / "eval_loc.py"),
            "scoremaps",
            "scoremaps",
            "--metadata",
            str(metadata),
            "--split",
            "test",
            "--out",
            "results",
            "--no-progress",
        ],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(ROOT), "PATH": ""},
        cwd=tmp_path,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "results" / "metrics.json"
    assert json.loads(out.read_text())["maxboxacc_v2"] == cases()["expected"]["box"]["t100"]["MaxBoxAccV2"]
