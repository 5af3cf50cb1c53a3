"""Draw a layer's per-channel maps for a few images, ordered by what weights them.

    python tools/show_features.py runs/synthparts_cam/checkpoints/best.pth \\
        --layer backbone.stages.2 --images 0 1 2 3 [--class target] [--channels 8]

One row per image: the image, its CAM (``sum_k w_ck f_k`` for the class), the model's own
localization map, then the layer's ``--channels`` channels with the largest weights and the
``--lowest`` with the smallest, each titled with its index and weight. The weights are the
channel attention the layer records (SE / CBAM / BAM / SK blocks that set
``channel_attention``), else the CAM classifier's
weights ``w_c`` of the class (see :mod:`wsol.models.feature_views`). ``--images`` are
indices into ``--split`` of the checkpoint's dataset; ``--class`` is ``target`` (the
label), ``predicted``, or a class index. The PNG goes to ``<run>/features/<layer>.png``
(or ``--out``) and, with W&B enabled, is logged as the image ``features/<layer>``.
Trailing ``key=value`` arguments override the checkpoint's config (e.g.
``data.dataset.root=/data/synthparts``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import torch

import wsol
from wsol.cli import run_cli
from wsol.config import load_config
from wsol.data.loaders import build_dataset
from wsol.errors import ConfigError
from wsol.models.feature_views import FeatureView, view_features
from wsol.report.tracking import RunTracker
from wsol.run_files import RunDir
from wsol.visualize import Overlay, denormalize, render, save_png

TILE, CAPTION = 128, 14


def tile(image: np.ndarray, heat: torch.Tensor | None, title: str) -> tuple[np.ndarray, str]:
    """The image alone (``heat`` None) or with ``heat`` blended in, as a ``TILE`` square."""
    shown = image if heat is None else render(Overlay(image, heat.float().numpy()))
    return cv2.resize(shown, (TILE, TILE), interpolation=cv2.INTER_AREA), title


def rows(view: FeatureView, images: np.ndarray, classes: Sequence[int], shown: tuple[int, int]) -> list[list]:
    """One row of (tile, title) per image: image, CAM, map, then the ``shown[0]`` channels with the
    largest weights and the ``shown[1]`` with the smallest."""
    out = []
    for b, (image, c) in enumerate(zip(images, classes, strict=True)):
        row = [tile(image, None, f"class {c}")]
        blank = (np.full_like(row[0][0], 255), "no CAM")
        row.append(tile(image, view.cam[b], "CAM") if view.cam is not None else blank)
        row.append(tile(image, view.attention[b], "model map"))
        order = view.order()[b].tolist()
        for k in order[: shown[0]] + order[len(order) - shown[1] :]:
            row.append(tile(image, view.maps[b, k], f"ch {k} w={view.weights[b, k]:.2f}"))
        out.append(row)
    return out


def compose(grid: list[list], header: str) -> np.ndarray:
    """Tiles in a grid with captions underneath and a one-line header (RGB uint8)."""
    columns = max(len(r) for r in grid)
    canvas = np.full((CAPTION + len(grid) * (TILE + CAPTION), columns * TILE, 3), 255, np.uint8)
    text = {"fontFace": cv2.FONT_HERSHEY_SIMPLEX, "fontScale": 0.35, "color": (0, 0, 0)}
    cv2.putText(canvas, header, (2, 10), **text)
    for r, row in enumerate(grid):
        y = CAPTION + r * (TILE + CAPTION)
        for c, (image, title) in enumerate(row):
            canvas[y : y + TILE, c * TILE : (c + 1) * TILE] = image
            cv2.putText(canvas, title[:22], (c * TILE + 2, y + TILE + 11), **text)
    return canvas


def choose_classes(choice: str, labels: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    if choice == "target":
        return labels
    if choice == "predicted":
        return logits.argmax(dim=1)
    if not choice.isdigit() or int(choice) >= logits.shape[1]:
        limit = logits.shape[1]
        raise ConfigError(f"--class: {choice!r} is not target, predicted or a class index < {limit}")
    return torch.full_like(labels, int(choice))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("checkpoint")
    parser.add_argument("overrides", nargs="*", help="config overrides, e.g. data.dataset.root=...")
    parser.add_argument("--layer", required=True, help="module name, e.g. backbone.stages.2")
    parser.add_argument("--images", type=int, nargs="+", default=[0, 1, 2, 3], help="indices into --split")
    parser.add_argument("--split", default="test")
    parser.add_argument("--class", dest="klass", default="target", help="target | predicted | index")
    parser.add_argument("--channels", type=int, default=8, help="largest-weight channels shown per image")
    parser.add_argument("--lowest", type=int, default=0, help="smallest-weight channels shown after them")
    parser.add_argument("--out", help="PNG path (default <run>/features/<layer>.png)")
    args = parser.parse_args(argv)
    localizer = wsol.load_model(args.checkpoint, args.overrides)
    cfg = load_config(None, args.overrides, base=localizer.config)
    dataset = build_dataset(cfg, args.split, train=False)
    items = [dataset[i] for i in args.images]
    images = torch.stack([item["image"] for item in items])
    labels = torch.tensor([int(item["label"]) for item in items])
    with torch.no_grad():
        classes = choose_classes(args.klass, labels, localizer.model(images).logits)
    view = view_features(localizer.model, args.layer, images, classes)
    header = f"{args.layer}: channels by {view.source}, {args.split} images {args.images}"
    figure = compose(rows(view, denormalize(images), classes.tolist(), (args.channels, args.lowest)), header)
    run = RunDir.of_checkpoint(Path(args.checkpoint))
    path = save_png(figure, args.out or run.root / "features" / f"{args.layer}.png")
    print(f"wrote {path}")
    tracker = RunTracker(cfg, run.root, job_type="features")
    if tracker.wandb_run is not None:
        import wandb

        tracker.log_media({f"features/{args.layer}": wandb.Image(figure, caption=header)})
    tracker.finish()
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
