"""W&B tracking, offline and without network: keys, summaries, media, tables, curves, checkpoint artifact."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from tiny_boxes import NAME, TinyBoxes, register_tiny_boxes, tiny_config
from wandb_records import finished_records, run_file

from wsol.engine import train
from wsol.evaluation.from_checkpoint import CheckpointEval, evaluate_checkpoint
from wsol.report.curves import threshold_curves
from wsol.report.files import per_image_rows
from wsol.report.tracking import WANDB_DIR_VARIABLES

NUM_OVERLAYS = 4
SCALE = 2  # 32-px images at data.image_size 64


@pytest.fixture(scope="module")
def offline(tmp_path_factory):
    """W&B offline, its directories in a temporary folder, the tiny dataset registered."""
    with pytest.MonkeyPatch.context() as mp:
        wandb_dir = tmp_path_factory.mktemp("wandb_home")
        mp.setenv("WANDB_MODE", "offline")
        for var in WANDB_DIR_VARIABLES:
            mp.setenv(var, str(wandb_dir))
        register_tiny_boxes(mp)
        yield tmp_path_factory.mktemp("runs")


@pytest.fixture(scope="module")
def trained(offline) -> Path:
    cfg = tiny_config(offline, "tiny", f"eval.num_overlays={NUM_OVERLAYS}", "wandb.tags=[unit]")
    train(cfg, progress=False)
    return offline / "tiny"


def records(run_dir: Path) -> dict[str, list]:
    out: dict[str, list] = {}
    for record in finished_records(run_dir):
        kind = record.WhichOneof("record_type")
        out.setdefault(kind, []).append(getattr(record, kind))
    return out


def items(record) -> dict[str, object]:
    """History/summary items as ``{"a/b": decoded JSON}``."""
    entries = record.item if hasattr(record, "item") else record.update
    return {"/".join(e.nested_key) or e.key: json.loads(e.value_json) for e in entries}


def merged(records_: list) -> dict[str, object]:
    out: dict[str, object] = {}
    for record in records_:
        out.update(items(record))
    return out


def test_offline_run_logs_same_keys_and_summaries(trained):
    found = records(trained)
    (run,) = found["run"]
    assert run.run_group == f"{NAME}/resnet10t" and run.job_type == "train"
    assert set(run.tags) == {"unit", "vanilla", "cam", "resnet10t", NAME}
    definitions = {m.name or m.glob_name: m for m in found["metric"]}
    assert definitions["val/maxboxacc_v2"].step_metric == "epoch"
    assert definitions["val/maxboxacc_v2"].summary.max and definitions["val/pxap"].summary.max
    assert definitions["val/*"].step_metric == "epoch" and "epoch" in definitions
    history = merged(found["history"])
    for key in ("epoch", "lr", "train/loss", "val/top1", "val/maxboxacc_v2", "val/maxboxacc", "val/pxap"):
        assert key in history, key
    jsonl = [json.loads(line) for line in (trained / "metrics.jsonl").read_text().splitlines()]
    assert history["val/maxboxacc_v2"] == jsonl[-1]["val/maxboxacc_v2"]
    summary = merged(found["summary"])
    local = json.loads((trained / "summary.json").read_text())
    for key in ("test/top1", "test/maxboxacc_v2", "test/pxap", "test/gt_known_loc", "val/maxboxacc_v2"):
        assert summary[key] == pytest.approx(local[key]), key
    assert not any(key.startswith("test/curve_") for key in local)  # curves live in eval/metrics.json


def test_offline_run_holds_overlays_with_boxes_and_masks(trained):
    found = records(trained)
    history = merged(found["history"])
    assert history["test/overlays/_type"] == "images/separated"
    assert history["test/overlays/count"] == NUM_OVERLAYS
    files = trained / "wandb" / run_file(trained).parent.name / "files"
    first = TinyBoxes("test").load_sample(0)
    boxes = json.loads((files / history["test/overlays/all_boxes"][0]["boxes"]["path"]).read_text())
    gt = [b["position"] for b in boxes["box_data"] if b["class_id"] == 0]
    x0, y0, x1, y1 = first.boxes[0] * SCALE + [0, 0, SCALE - 1, SCALE - 1]  # inclusive ends, resized
    assert gt == [{"minX": x0, "minY": y0, "maxX": x1, "maxY": y1}]
    assert {b["class_id"] for b in boxes["box_data"]} == {0, 1}  # ground truth and prediction
    masks = history["test/overlays/all_masks"][0]
    gt_mask = np.asarray(Image.open(files / masks["ground_truth"]["path"]))
    np.testing.assert_array_equal(gt_mask, first.mask.repeat(SCALE, 0).repeat(SCALE, 1))
    assert (files / masks["prediction"]["path"]).is_file()
    pictures = [files / name for name in history["test/overlays/filenames"]]
    assert len(pictures) == NUM_OVERLAYS and all(Image.open(p).size == (64, 64) for p in pictures)


def test_offline_run_holds_per_image_table_and_curves(trained):
    found = records(trained)
    tables = {a.name.split("-")[2]: a for a in found["artifact"] if a.type == "run_table"}
    table_file = next(c for c in tables["testper_image"].manifest.contents if c.path.endswith(".table.json"))
    table = json.loads(Path(table_file.local_path).read_text())
    columns = table["columns"]
    assert columns[:4] == ["image_id", "class", "prediction", "correct"] and columns[-1] == "thumbnail"
    with open(trained / "eval" / "per_image.csv") as handle:
        csv_rows = {row["image_id"]: row for row in csv.DictReader(handle)}
    assert [row[0] for row in table["data"]] == list(csv_rows) == TinyBoxes("test").image_ids
    best_iou = columns.index("best_iou_single")
    for row in table["data"]:
        assert row[best_iou] == pytest.approx(float(csv_rows[row[0]]["best_iou_single"]))
        assert row[1] == ["red", "green"][int(csv_rows[row[0]]["label"])]
    thumbnails = [row[-1] for row in table["data"]]
    assert all(t["_type"] == "image-file" for t in thumbnails[:NUM_OVERLAYS])
    assert thumbnails[NUM_OVERLAYS:] == [None] * (len(thumbnails) - NUM_OVERLAYS)

    metrics = json.loads((trained / "eval" / "metrics.json").read_text())
    for name, series, x_key, y_key in (
        ("box_accuracy", "IoU 50%", "test/thresholds", "test/curve_multi_iou50"),
        ("precision_recall", "pixels", "test/curve_recall", "test/curve_precision"),
    ):
        (curve_file,) = tables[f"testcurves{name}_table"].manifest.contents
        curve = json.loads(Path(curve_file.local_path).read_text())
        assert curve["columns"] == ["step", "lineKey", "lineVal"]
        points = [(x, y) for x, key, y in curve["data"] if key == series]
        pairs = zip(metrics[x_key], metrics[y_key], strict=True)
        expected = [(x, y) for x, y in pairs if np.isfinite([x, y]).all()]
        np.testing.assert_allclose(np.array(points), np.array(expected), err_msg=name)


def test_best_checkpoint_is_a_model_artifact_stored_in_place(trained):
    (artifact,) = [a for a in records(trained)["artifact"] if a.type == "model"]
    assert artifact.name == "model-tiny" and {"best", "epoch-0"} <= set(artifact.aliases)
    (entry,) = artifact.manifest.contents
    assert entry.path == "best.pth"
    assert Path(entry.local_path) == trained / "checkpoints" / "best.pth"


def test_pictures_are_also_png_files(trained):
    out = trained / "eval"
    index = json.loads((out / "overlays" / "index.json").read_text())
    assert list(index) == TinyBoxes("test").image_ids[:NUM_OVERLAYS]
    for name in ("overlays.png", "curves.png", *(f"overlays/{f}" for f in index.values())):
        assert Image.open(out / name).size[0] > 0, name


def test_eval_loc_repeats_the_numbers_as_an_eval_run(trained, offline):
    out = offline / "eval_again"
    best = trained / "checkpoints" / "best.pth"
    results = evaluate_checkpoint(CheckpointEval(best, out_dir=out, num_overlays=2, progress=False))
    first = json.loads((trained / "eval" / "metrics.json").read_text())
    again = json.loads((out / "metrics.json").read_text())
    for key in ("test/top1", "test/maxboxacc_v2", "test/pxap", "test/gt_known_loc", "test/curve_multi_iou50"):
        assert again[key] == first[key] == pytest.approx(np.asarray(results[key]).tolist()), key
    assert len(json.loads((out / "overlays" / "index.json").read_text())) == 2
    (run,) = records(out)["run"]
    assert run.job_type == "eval"


def test_curves_drop_undefined_points_and_sort_series():
    results = {
        "test/thresholds": np.array([0.0, 0.5]),
        "test/curve_multi_iou70": np.array([10.0, 5.0]),
        "test/curve_multi_iou30": np.array([90.0, 80.0]),
        "test/curve_recall": np.array([1.0, 0.0]),
        "test/curve_precision": np.array([0.4, np.nan]),
        "val/curve_piou": np.array([1.0, 2.0]),
    }
    (box, pr) = threshold_curves(results)
    assert box.spec.name == "box_accuracy" and list(box.series) == ["IoU 30%", "IoU 70%"]
    x, y = pr.series["pixels"]
    assert x.tolist() == [1.0] and y.tolist() == [0.4]


def test_per_image_rows_join_predictions_and_both_metric_layouts():
    class Columns:
        def per_image(self):
            return {"image_id": np.array(["a", "b"]), "best_iou_single": np.array([0.5, 0.25])}

    class ById:
        def per_image(self):
            return {"b": {"nss": 1.5}}

    rows = per_image_rows({"a": {"label": 1, "prediction": 0}}, [Columns(), ById(), object()])
    assert rows == {
        "a": {"label": 1, "prediction": 0, "best_iou_single": 0.5},
        "b": {"best_iou_single": 0.25, "nss": 1.5},
    }
