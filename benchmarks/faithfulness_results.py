"""Localization and faithfulness of every explainer (and the model's own maps) on one checkpoint.

    python benchmarks/faithfulness_results.py --checkpoint runs/synthparts_cam/checkpoints/epoch_0004.pth \
        --data-root data/synthparts --images 64 --write docs/results.md

Scores the first ``--images`` test images with the model's head maps and with every
registered explainer (the explained class is the ground-truth class, as in wsol's
evaluation), on MaxBoxAccV2 and PxAP and on the faithfulness metrics, and writes the
table and a figure of the cascading-randomisation curves into the ``faithfulness``
section of ``--write`` (between its markers). Faithfulness options: deletion/insertion
with ``step = 2 * side`` pixels (64 steps at 128 px; RISE's ``step = 224`` is 224 steps at
224 px), ROAD at 10..90 % with noise, pointing games against the boxes (15 px tolerance).
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, Subset

from wsol.config import load_config
from wsol.data.collate import collate_samples
from wsol.engine.builders import build_dataset
from wsol.engine.checkpoint import load_checkpoint
from wsol.explainers import create_explainer, list_explainers
from wsol.methods import METHODS
from wsol.metrics import METRICS
from wsol.metrics.probe import FaithfulnessBatch, ModelMetric, ModelProbe
from wsol.models import build_model

ExplainFn = Callable[[nn.Module, Tensor, Tensor], Tensor]
SECTION = "faithfulness"
SCRIPT = "benchmarks/faithfulness_results.py"
FIGURE = Path("docs/images/results_randomisation.png")
COLUMNS = (  # (result key, header, digits)
    ("maxboxacc_v2", "MaxBoxAccV2", 1),
    ("pxap", "PxAP", 1),
    ("pointing_game/accuracy", "PG (%)", 1),
    ("energy_pointing_game/energy", "energy PG", 3),
    ("deletion_insertion/deletion_auc", "deletion ↓", 3),
    ("deletion_insertion/insertion_auc", "insertion ↑", 3),
    ("road/morf", "ROAD MoRF ↓", 3),
    ("road/lerf", "ROAD LeRF ↑", 3),
    ("average_drop/average_drop", "avg drop ↓", 1),
    ("average_drop/increase_in_confidence", "increase ↑", 1),
    ("randomisation/spearman_last", "rand. Spearman", 2),
    ("randomisation/ssim_last", "rand. SSIM", 2),
    ("randomisation/fails", "fails check", 0),
)


def load(checkpoint: Path, data_root: str) -> tuple[Any, nn.Module, Any]:
    state = load_checkpoint(checkpoint)
    cfg = load_config(None, [f"data.dataset.root={data_root}", "device=cpu"], base=state["config"])
    backbone = dataclasses.replace(cfg.model.backbone, pretrained="false")
    model = build_model(dataclasses.replace(cfg.model, backbone=backbone), state["num_classes"])
    method = METHODS.build(cfg.method, key="method")
    method.setup(model)
    model.load_state_dict(state["model"])
    return cfg, model.eval(), method


def module_name(model: nn.Module, module: nn.Module) -> str:
    return next(name for name, m in model.named_modules() if m is module)


def explain_fns(model: nn.Module, method: Any) -> dict[str, ExplainFn]:
    """``explain(model, images, classes)`` for the head and for every explainer (works on copies)."""
    layer = module_name(model, model.backbone.stage_modules[-1])
    classifier = module_name(model, model.head.classifier) if hasattr(model.head, "classifier") else None

    def head(m: nn.Module, images: Tensor, classes: Tensor) -> Tensor:
        with torch.no_grad():
            return method.localization_map(m, images, classes)[1].float()

    def explainer(name: str) -> ExplainFn:
        def explain(m: nn.Module, images: Tensor, classes: Tensor) -> Tensor:
            spec: dict[str, Any] = {"name": name, "target_layer": layer}
            if name == "cam":
                spec["classifier"] = m.get_submodule(classifier)
            return create_explainer(spec, m)(images, classes).detach().float()

        return explain

    fns: dict[str, ExplainFn] = {"head (CAM)": head}
    for name in list_explainers():
        if name != "cam" or classifier is not None:
            fns[name] = explainer(name)
    return fns


def build_metrics(cfg: Any, side: int) -> list[Any]:
    options = {"cam_curve_interval": cfg.eval.cam_curve_interval, "resolution": cfg.eval.resolution}
    specs: list[dict[str, Any]] = [
        {"name": "maxboxacc", **options, "iou_thresholds": list(cfg.eval.iou_thresholds)},
        {"name": "pxap", **options},
        {"name": "pointing_game"},
        {"name": "energy_pointing_game"},
        {"name": "deletion_insertion", "step": 2 * side},
        {"name": "road"},
        {"name": "average_drop"},
        {"name": "randomisation"},
    ]
    return [METRICS.build(spec) for spec in specs]


def evaluate_source(model: nn.Module, explain: ExplainFn, loader: DataLoader, dataset: Any, cfg: Any) -> Any:
    side = cfg.data.image_size
    metrics = build_metrics(cfg, side)
    probe = ModelProbe(model, explain=explain, batch_size=256)
    for batch in loader:
        images, labels = batch["image"], batch["label"]
        maps = explain(model, images, labels)
        targets = [dataset.load_target(int(i)) for i in batch["index"]]
        context = FaithfulnessBatch(probe, images, labels)
        for metric in metrics:
            extra = {"context": context} if isinstance(metric, ModelMetric) else {}
            metric.update(list(maps), targets, **extra)
    results: dict[str, Any] = {}
    for metric in metrics:
        results.update(metric.compute())
    results["layers"] = metrics[-1].layer_names
    return results


def table(rows: dict[str, dict[str, Any]]) -> str:
    header = "| maps | " + " | ".join(h for _, h, _ in COLUMNS) + " |"
    lines = [header, "|" + "---|" * (len(COLUMNS) + 1)]
    for name, results in rows.items():
        cells = [f"{float(results[key]):.{digits}f}" for key, _, digits in COLUMNS]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def figure(rows: dict[str, dict[str, Any]], path: Path) -> None:
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2), sharex=True)
    for name, results in rows.items():
        for ax, measure in zip(axes, ("spearman", "ssim", "hog"), strict=True):
            curve = results[f"randomisation/{measure}_curve"]
            ax.plot(np.arange(len(curve)), curve, marker="o", ms=3, label=name)
            ax.set_title(f"cascading randomisation: {measure}")
    layers = next(iter(rows.values()))["layers"]
    for ax in axes:
        ax.set_xticks(np.arange(len(layers)), layers, rotation=90, fontsize=6)
        ax.axhline(0, color="grey", lw=0.5)
        ax.set_ylim(-0.3, 1.05)
    axes[0].set_ylabel("similarity to the trained model's map")
    axes[-1].legend(fontsize=7, ncol=2)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def replace_section(text: str, body: str) -> str:
    begin = f"<!-- BEGIN {SECTION} (generated by {SCRIPT}; edits are overwritten) -->"
    end = f"<!-- END {SECTION} -->"
    if begin in text:
        head, rest = text.split(begin, 1)
        return head + begin + "\n" + body + "\n" + end + rest.split(end, 1)[1]
    return text.rstrip("\n") + "\n\n" + begin + "\n" + body + "\n" + end + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--checkpoint", type=Path, required=True)
    parser.add_argument("--data-root", required=True)
    parser.add_argument("--images", type=int, default=64, help="first N test images")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--only", nargs="+", help="map sources to run (default: all)")
    parser.add_argument("--write", type=Path, help="markdown file whose faithfulness section to (re)write")
    args = parser.parse_args()
    torch.manual_seed(0)
    cfg, model, method = load(args.checkpoint, args.data_root)
    dataset = build_dataset(cfg, "test", train=False)
    subset = Subset(dataset, range(min(args.images, len(dataset))))
    loader = DataLoader(subset, batch_size=args.batch, shuffle=False, collate_fn=collate_samples)
    rows = {}
    for name, explain in explain_fns(model, method).items():
        if args.only and name not in args.only:
            continue
        start = time.perf_counter()
        rows[name] = evaluate_source(model, explain, loader, dataset, cfg)
        print(f"{name}: {time.perf_counter() - start:.0f} s", flush=True)
    text = table(rows)
    print(text)
    if args.write:
        figure(rows, FIGURE)
        settings = (
            f"Settings: `{args.checkpoint}`, first {len(subset)} test images, explained class = "
            f"ground truth; command: `python {SCRIPT} --checkpoint {args.checkpoint} "
            f"--data-root {args.data_root} --images {args.images} --write {args.write}`."
        )
        body = f"{settings}\n\n{text}\n\n![randomisation curves]({FIGURE.relative_to('docs')})"
        args.write.write_text(replace_section(args.write.read_text(), body))


if __name__ == "__main__":
    main()
