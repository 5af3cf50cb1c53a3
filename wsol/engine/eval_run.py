"""``tools/eval_loc.py``: score a checkpoint's maps, or saved score maps, and report."""

from __future__ import annotations

import csv
import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np
from torch import Tensor

from wsol.config import RunConfig, load_config
from wsol.engine.checkpoint import load_checkpoint
from wsol.engine.localization import SplitResult, carry_threshold, evaluate_split, flat_results
from wsol.engine.summary import format_summary
from wsol.engine.tracking import RunTracker
from wsol.methods import METHODS
from wsol.models import build_model
from wsol.utils.distributed import dist_info, select_device
from wsol.visualize import Overlay, denormalize, grid, predicted_box, save_png


class PredictionLog:
    """Batch callback recording each image's id, label and predicted class."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Any]] = {}

    def __call__(self, batch: dict[str, Any], predictions: Tensor, maps: Tensor) -> None:
        for image_id, label, pred in zip(
            batch["image_id"], batch["label"].tolist(), predictions.tolist(), strict=True
        ):
            self.rows[image_id] = {"label": label, "prediction": pred}


class OverlayCollector:
    """Batch callback keeping the first ``limit`` images with their maps and GT boxes."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.panels: list[tuple[np.ndarray, np.ndarray, np.ndarray, str]] = []

    def __call__(self, batch: dict[str, Any], predictions: Tensor, maps: Tensor) -> None:
        room = self.limit - len(self.panels)
        if room <= 0:
            return
        images = denormalize(batch["image"][:room])
        for i, image in enumerate(images):
            boxes = batch["boxes"][i].numpy() if "boxes" in batch else np.zeros((0, 4))
            name = batch["image_id"][i].rsplit("/", 1)[-1]
            title = f"{name} y={int(batch['label'][i])} p={int(predictions[i])}"
            self.panels.append((image, maps[i].numpy(), boxes, title))

    def render(self, threshold: float | None) -> np.ndarray:
        overlays = [
            Overlay(
                image,
                heat,
                gt,
                predicted_box(heat, threshold, image.shape[0]) if threshold is not None else np.zeros((0, 4)),
                title,
            )
            for image, heat, gt, title in self.panels
        ]
        return grid(overlays)


def evaluate_checkpoint(
    checkpoint: Path,
    overrides: list[str],
    out_dir: Path | None = None,
    explainer: str | None = None,
    num_overlays: int = 16,
    progress: bool = True,
) -> dict[str, Any]:
    """Evaluate ``checkpoint`` on val and test; write metrics.json, per_image.csv, overlays."""
    state = load_checkpoint(checkpoint)
    cfg = load_config(None, overrides, base=state["config"])
    info = dist_info()
    device = select_device(cfg.device, info)
    backbone = dataclasses.replace(cfg.model.backbone, pretrained="false")  # weights come from the checkpoint
    model = build_model(dataclasses.replace(cfg.model, backbone=backbone), state["num_classes"])
    method = METHODS.build(cfg.method, key="method")
    method.setup(model)
    model.load_state_dict(state["model"])
    model.to(device)
    spec = {"name": explainer} if explainer else cfg.eval.explainer
    val = evaluate_split(cfg, model, method, cfg.data.val_split, device, info, spec, progress)
    predictions, overlays = PredictionLog(), OverlayCollector(num_overlays)
    test = evaluate_split(
        cfg,
        model,
        method,
        cfg.data.test_split,
        device,
        info,
        spec,
        progress,
        on_batch=(predictions, overlays),
    )
    test.results.update(carry_threshold(val, test))
    results = flat_results(val=val, test=test)
    out_dir = out_dir or checkpoint.parent.parent / ("eval" if not explainer else f"eval_{explainer}")
    if info.is_main:
        write_outputs(cfg, results, test, predictions, out_dir)
        if overlays.panels:
            save_png(overlays.render(test.results.get("val_threshold")), out_dir / "overlays.png")
        tracker = RunTracker(cfg, out_dir, job_type="eval")
        tracker.summary({k: v for k, v in results.items() if np.ndim(v) == 0})
        tracker.finish()
        print(format_summary(cfg, results), flush=True)
    return results


def write_outputs(
    cfg: RunConfig, results: dict[str, Any], test: SplitResult, predictions: PredictionLog, out_dir: Path
) -> None:
    """``metrics.json`` (numbers and curves) and ``per_image.csv`` (test split) in ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    plain = {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in results.items()}
    (out_dir / "metrics.json").write_text(json.dumps({"run": cfg.name, **plain}, indent=1, default=float))
    rows = {image_id: dict(values) for image_id, values in predictions.rows.items()}
    for metric in test.metrics:
        table = metric.per_image()
        for i, image_id in enumerate(table["image_id"]):
            rows.setdefault(str(image_id), {}).update({k: v[i] for k, v in table.items() if k != "image_id"})
    columns = sorted({c for row in rows.values() for c in row})
    with open(out_dir / "per_image.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["image_id", *columns])
        for image_id, row in rows.items():
            writer.writerow([image_id, *(row.get(c, "") for c in columns)])


def scoremap_path(root: Path, image_id: str) -> Path:
    """``<root>/<image_id minus extension>.npy`` (wsolevaluation), else ``<root>/<image_id>.npy``."""
    reference = root / (str(Path(image_id).with_suffix("")) + ".npy")
    return (
        reference
        if reference.exists() or not (root / f"{image_id}.npy").exists()
        else root / f"{image_id}.npy"
    )


def evaluate_scoremaps(
    scoremaps: Path,
    metadata: Path,
    split: str,
    mask_root: Path | None = None,
    interval: float = 0.01,
    iou_thresholds: tuple[int, ...] = (30, 50, 70),
    resolution: int = 224,
    progress: bool = True,
) -> dict[str, Any]:
    """Score saved maps like wsolevaluation's ``evaluation.py``.

    Maps are read as given (``input_maps="prepared"``): ``resolution`` x ``resolution``
    arrays in [0, 1], one per image id. The metadata folder holds ``<split>/image_ids.txt``,
    ``class_labels.txt``, ``image_sizes.txt`` and ``localization.txt`` (boxes, or
    ``mask,ignore`` lines resolved against ``mask_root``).
    """
    from tqdm import tqdm

    from wsol.data.datasets import create_dataset
    from wsol.errors import DataError
    from wsol.metrics import METRICS

    spec = {"name": "wsoleval", "root": str(metadata), "metadata_root": str(metadata)}
    if mask_root is not None:
        spec["mask_root"] = str(mask_root)
    dataset = create_dataset(spec, split)
    options = {
        "cam_curve_interval": interval,
        "resolution": resolution,
        "input_maps": "prepared",
        "iou_thresholds": list(iou_thresholds),
    }
    metrics = [
        METRICS.build(n, **options)
        for n in ("maxboxacc", "pxap")
        if METRICS.get(n).requires <= dataset.ground_truth
    ]
    for index in tqdm(range(len(dataset)), desc=split, disable=not progress, dynamic_ncols=True):
        target = dataset.load_target(index)
        path = scoremap_path(scoremaps, target.image_id)
        if not path.is_file():
            raise DataError(f"{target.image_id}: score map not found: {path}")
        scoremap = np.load(path)
        for metric in metrics:
            metric.update([scoremap], [target])
    results: dict[str, Any] = {"num_images": len(dataset)}
    for metric in metrics:
        results.update(metric.compute())
    return results
