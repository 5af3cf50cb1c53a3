"""tools/compare.py: table over seeds equals the runs' metrics.json, curves, same-image overlay grid."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from tiny_boxes import TinyBoxes, register_tiny_boxes, tiny_config

from wsol.engine import train
from wsol.errors import ConfigError, DataError
from wsol.report.compare import Group, Run, comparison_curves, load_run, write_report

ROOT = Path(__file__).resolve().parents[1]
KEYS = {"top-1 cls (%)": "test/top1", "MaxBoxAccV2 (%)": "test/maxboxacc_v2", "PxAP (%)": "test/pxap"}


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    """Two seeds of one config and one run of another (W&B disabled; one epoch of 8 images)."""
    out = tmp_path_factory.mktemp("runs")
    variants = {"cam_s0": ["seed=0"], "cam_s1": ["seed=1"], "fast_s0": ["seed=0", "optim.lr=0.1"]}
    with pytest.MonkeyPatch.context() as mp:
        register_tiny_boxes(mp)
        for name, overrides in variants.items():
            train(tiny_config(out, name, *overrides), progress=False)
    return {name: out / name for name in variants}


def metrics(run_dir: Path) -> dict:
    return json.loads((run_dir / "eval" / "metrics.json").read_text())


def table(report_md: str) -> tuple[list[str], dict[str, list[str]]]:
    lines = [line for line in report_md.splitlines() if line.startswith("|")]
    split = [[cell.strip() for cell in line.strip("|").split(" | ")] for line in lines]
    return split[0], {row[0]: row for row in split[2:]}


def test_table_equals_each_runs_metrics_json(runs, tmp_path):
    write_report(list(runs.values()), tmp_path)
    header, rows = table((tmp_path / "report.md").read_text())
    assert set(rows) == {"optim.lr=0.05", "optim.lr=0.1"}
    seeds = [metrics(runs["cam_s0"]), metrics(runs["cam_s1"])]
    single = metrics(runs["fast_s0"])
    assert rows["optim.lr=0.05"][1] == "2" and rows["optim.lr=0.1"][1] == "1"
    for label, key in KEYS.items():
        column = header.index(label)
        assert rows["optim.lr=0.1"][column] == f"{single[key]:.2f}"
        values = [m[key] for m in seeds]
        assert rows["optim.lr=0.05"][column] == f"{np.mean(values):.2f} ± {np.std(values, ddof=1):.2f}"

    numbers = {g["label"]: g for g in json.loads((tmp_path / "comparison.json").read_text())}
    for key in KEYS.values():
        assert numbers["optim.lr=0.1"]["metrics"][key]["mean"] == single[key]
        assert numbers["optim.lr=0.05"]["metrics"][key]["values"] == [m[key] for m in seeds]
    html = (tmp_path / "report.html").read_text()
    assert "<table>" in html and "curves.png" in html and "overlays.png" in html


def test_overlay_grid_shows_the_same_images_of_every_group(runs, tmp_path):
    write_report(list(runs.values()), tmp_path, max_images=3)
    ids = TinyBoxes("test").image_ids[:3]
    for run in runs.values():
        assert list(load_run(run).overlay_files())[:3] == ids
    grid = Image.open(tmp_path / "overlays.png")
    assert grid.size[0] > grid.size[1]  # two group rows, three image columns
    Image.open(tmp_path / "curves.png").verify()
    md = (tmp_path / "report.md").read_text()
    assert "![The same test images across groups](overlays.png)" in md
    assert "![Threshold curves](curves.png)" in md  # the runs' curves were found and plotted


def test_group_by_key_and_eval_folders(runs, tmp_path):
    write_report([runs["cam_s0"] / "eval", runs["fast_s0"]], tmp_path, group_by=["method.name"])
    _, rows = table((tmp_path / "report.md").read_text())
    assert list(rows) == ["method.name=vanilla"] and rows["method.name=vanilla"][1] == "2"


def test_errors_name_the_run_or_key(runs, tmp_path):
    with pytest.raises(DataError, match=r"no metrics\.json"):
        write_report([tmp_path], tmp_path / "out")
    with pytest.raises(ConfigError, match=r"--group-by optim\.lrr"):
        write_report([runs["cam_s0"]], tmp_path / "out", group_by=["optim.lrr"])


def test_tool_runs_without_wandb(runs, tmp_path):
    argv = ["compare.py", str(runs["cam_s0"]), str(runs["fast_s0"]), "--out", str(tmp_path)]
    code = (
        f"import sys, runpy; sys.modules['wandb'] = None; sys.argv = {argv!r}; "
        "runpy.run_path('tools/compare.py', run_name='__main__')"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    _, rows = table((tmp_path / "report.md").read_text())
    assert rows["optim.lr=0.1"][2] == f"{metrics(runs['fast_s0'])['test/top1']:.2f}"


def test_group_curves_are_averaged_threshold_by_threshold(tmp_path):
    def run(recall, precision, box):
        metrics = {
            "test/thresholds": [0.0, 0.5, 1.0],
            "test/curve_recall": recall,
            "test/curve_precision": precision,
            "test/curve_multi_iou50": box,
            "test/curve_multi_iou70": [0.0, 0.0, 0.0],
        }
        return Run(tmp_path, tmp_path, {"name": "r"}, metrics)

    group = Group(
        "g",
        [
            run([1.0, 0.5, 0.0], [0.2, 0.6, np.nan], [10, 60, 0]),
            run([1.0, 0.7, 0.2], [0.2, 0.8, 1.0], [20, 40, 0]),
        ],
    )
    box, pr = comparison_curves([group])
    assert box.spec.title.endswith("IoU 50%") and pr.spec.name == "precision_recall"
    np.testing.assert_allclose(box.series["g"][1], [15, 50, 0])
    x, y = pr.series["g"]  # the threshold where one run's precision is undefined is dropped
    np.testing.assert_allclose(x, [1.0, 0.6])
    np.testing.assert_allclose(y, [0.2, 0.7])
