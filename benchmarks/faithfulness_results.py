"""Localization and faithfulness of every explainer (and the model's own maps) on one checkpoint.

    python benchmarks/faithfulness_results.py --checkpoint runs/synthparts_cam/checkpoints/epoch_0004.pth \
        --data-root data/synthparts --images 64 --write docs/results.md

Scores the first ``--images`` test images with the model's head maps, with every
registered explainer and with the centred-Gaussian baseline map (which ignores the model, so
it must fail the randomisation check) (the explained class is the ground-truth class, as in wsol's
evaluation), on MaxBoxAccV2 and PxAP and on the faithfulness metrics, and writes the
table and a figure of the cascading-randomisation curves into the ``faithfulness``
section of ``--write`` (between its markers). Faithfulness options: deletion/insertion
with ``step = 2 * side`` pixels (64 steps at 128 px; RISE's ``step = 224`` is 224 steps at
224 px), ROAD at 10..90 % with noise, pointing games against the boxes (15 px tolerance),
cascading randomisation over the conv and linear layers (top first; normalisation layers
are left trained).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch
from torch.utils.data import DataLoader, Subset

import wsol
from wsol.config import load_config
from wsol.data.collate import collate_samples
from wsol.data.loaders import build_dataset
from wsol.errors import WSOLError
from wsol.evaluation.loop import Stream, evaluate
from wsol.evaluation.maps import MapSource
from wsol.explainers import list_explainers
from wsol.metrics import METRICS
from wsol.metrics.probe import ModelProbe

SECTION = "faithfulness"
SCRIPT = "benchmarks/faithfulness_results.py"
FIGURE = Path("docs/images/results_randomisation.png")
HEAD = "head (CAM)"
CENTER = "center (baseline)"
PERTURBATION = ("occlusion", "smoothgrad", "scorecam")
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


def weight_layers(model: torch.nn.Module) -> list[str]:
    """Names of the conv and linear layers, top (last) first: the randomisation cascade's steps."""
    kinds = (torch.nn.Conv2d, torch.nn.Linear)
    return [name for name, m in model.named_modules() if isinstance(m, kinds)][::-1]


def build_metrics(cfg: Any, layers: list[str]) -> list[Any]:
    options = {"cam_curve_interval": cfg.eval.cam_curve_interval, "resolution": cfg.eval.resolution}
    specs: list[dict[str, Any]] = [
        {"name": "maxboxacc", **options, "iou_thresholds": list(cfg.eval.iou_thresholds)},
        {"name": "pxap", **options},
        {"name": "pointing_game"},
        {"name": "energy_pointing_game"},
        {"name": "deletion_insertion", "step": 2 * cfg.data.image_size},
        {"name": "road"},
        {"name": "average_drop"},
        {"name": "randomisation", "layers": layers},
    ]
    return [METRICS.build(spec) for spec in specs]


def evaluate_source(source: MapSource, loader: DataLoader, dataset: Any, cfg: Any) -> dict[str, Any]:
    """Every metric of :func:`build_metrics` for ``source``'s maps (the evaluation loop, on CPU)."""
    device = torch.device("cpu")
    metrics = build_metrics(cfg, weight_layers(source.model))
    probe = ModelProbe(source.model, explain=source.explain_fn("none", device), batch_size=256)
    stream = Stream(loader, dataset, metrics, desc=source.label or HEAD, probe=probe)
    results = evaluate(source.map_fn("none", device), stream, device, progress=False)
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
    parser.add_argument("--cache", type=Path, help="JSON of finished sources: reused, extended")
    args = parser.parse_args()
    torch.manual_seed(0)
    overrides = [f"data.dataset.root={args.data_root}", "device=cpu"]
    localizer = wsol.load_model(args.checkpoint, overrides)
    cfg = load_config(None, overrides, base=localizer.config)
    dataset = build_dataset(cfg, cfg.data.test_split, train=False)
    subset = Subset(dataset, range(min(args.images, len(dataset))))
    loader = DataLoader(subset, batch_size=args.batch, shuffle=False, collate_fn=collate_samples)
    sources = {HEAD: MapSource(localizer.model, localizer.method)}
    costly = [n for n in list_explainers() if n in PERTURBATION]  # slowest last
    for name in [n for n in list_explainers() if n not in PERTURBATION] + costly:
        sources[name] = MapSource(localizer.model, localizer.method, {"name": name})
    sources[CENTER] = MapSource(localizer.model, localizer.method, baseline="center")  # ignores the model
    rows = json.loads(args.cache.read_text()) if args.cache and args.cache.is_file() else {}
    for name, source in sources.items():
        if (args.only and name not in args.only) or name in rows:
            continue
        start = time.perf_counter()
        try:
            rows[name] = evaluate_source(source, loader, dataset, cfg)
        except (WSOLError, RuntimeError) as err:  # e.g. an explainer that fails on a randomised model
            print(f"{name}: failed: {str(err).splitlines()[0]}", flush=True)
            continue
        print(f"{name}: {time.perf_counter() - start:.0f} s", flush=True)
        if args.cache:
            plain = {n: {k: np.asarray(v).tolist() for k, v in r.items()} for n, r in rows.items()}
            args.cache.write_text(json.dumps(plain))
        if args.write:  # after every source, so that a long run leaves what it finished
            write(args, rows, len(subset))
    if args.write:
        write(args, rows, len(subset))
    print(table(rows))


def write(args: argparse.Namespace, rows: dict[str, dict[str, Any]], images: int) -> None:
    figure(rows, FIGURE)
    settings = (
        f"Settings: `{args.checkpoint}`, first {images} test images, explained class = "
        f"ground truth; command: `python {SCRIPT} --checkpoint {args.checkpoint} "
        f"--data-root {args.data_root} --images {args.images} --write {args.write}`."
    )
    body = f"{settings}\n\n{table(rows)}\n\n![randomisation curves]({FIGURE.relative_to('docs')})"
    args.write.write_text(replace_section(args.write.read_text(), body))


if __name__ == "__main__":
    main()
