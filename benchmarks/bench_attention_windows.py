"""Soft vs hard attention windows, measured: Gaussian glimpse (DRAW) against the spatial transformer.

    python benchmarks/bench_attention_windows.py             # timing + training, 1 seed
    python benchmarks/bench_attention_windows.py --seeds 0 1 2 --steps 300
    python benchmarks/bench_attention_windows.py --quick     # timing only, small
    python benchmarks/bench_attention_windows.py --no-training --repeats 10   # timing only
    python benchmarks/bench_attention_windows.py --no-timing --steps 50   # training only

Two claims are often made without measurements:

1. *A spatial transformer is an order of magnitude faster than a Gaussian glimpse* (bilinear
   sampling of N x N points vs the two matrix products ``F_Y x F_X^T`` over the whole image).
   Timed here: one read of an N x N window (N = ``--read``) from a batch of 3-channel images
   at three sizes, forward + backward (gradients to the image and the window parameters),
   per image, best of ``--repeats``: ``F.affine_grid`` + ``F.grid_sample`` against the
   filterbank read of :mod:`wsol.models.heads.glimpse`.
2. *Gaussian glimpses are easier to train*. Trained here: the paper's ``affine`` spatial
   transformer (``stn_affine``), wsol's bounded centroid window STN (``stn_window``) and the
   ``glimpse`` head, each as configured for the main job (configs/synthparts/{stn,glimpse}.yaml,
   the convnet; ``stn_affine`` overrides the transform), the same ``--steps`` steps of batch ``--batch``
   at ``--image-size`` px per seed with the main job's optimizer and schedule compressed into
   them (AdamW, half of them linear warm-up, then cosine: ``wsol.engine.optim``), then
   top-1 and the share of test images whose window box (``ModelOutput.boxes``) has IoU >= 0.5
   with a ground-truth box (GT-known, boxes straight from the window, no thresholding), and
   the number of windows that collapsed (box area below 1 % of the image).

Goal lines: the STN read at the largest size is >= 10x faster than the glimpse read (the
claim), and the glimpse's mean box accuracy is above the affine STN's (the claim, which is
about the paper's transformer; the bounded window STN is printed beside it).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Subset

from wsol.config import load_config
from wsol.data.collate import collate_samples
from wsol.data.loaders import build_dataset
from wsol.engine.optim import build_optimizer, build_scheduler
from wsol.models import build_model
from wsol.models.heads.glimpse import GlimpseWindow, filterbank

CONFIGS = Path(__file__).resolve().parents[1] / "configs" / "synthparts"
# name -> (config stem, overrides): the paper's affine STN, wsol's bounded window STN, the glimpse
HEADS = {
    "stn_affine": ("stn", ["model.head.transform=affine", "model.head.centre=regress"]),
    "stn_window": ("stn", []),
    "glimpse": ("glimpse", []),
}


def stn_read(images: torch.Tensor, theta: torch.Tensor, n: int) -> torch.Tensor:
    grid = F.affine_grid(theta, [images.shape[0], images.shape[1], n, n], align_corners=False)
    return F.grid_sample(images, grid, align_corners=False)


def glimpse_read(images: torch.Tensor, params: torch.Tensor, n: int) -> torch.Tensor:
    window = GlimpseWindow(params[:, :2], params[:, 2], params[:, 3], params[:, 4])
    fx = filterbank(window.centre[:, 0], window, n, images.shape[3])
    fy = filterbank(window.centre[:, 1], window, n, images.shape[2])
    return torch.einsum("biy,bcyx,bjx->bcij", fy, images, fx)


def time_read(read: Callable, images: torch.Tensor, params: torch.Tensor, n: int, repeats: int) -> float:
    """Best seconds per image of forward + backward of ``read``."""
    best = float("inf")
    for _ in range(repeats + 1):  # the first is a warm-up
        x, p = images.clone().requires_grad_(True), params.clone().requires_grad_(True)
        start = time.perf_counter()
        read(x, p, n).square().sum().backward()
        best = min(best, time.perf_counter() - start)
    return best / images.shape[0]


def timing(sizes: list[int], batch: int, n: int, repeats: int) -> dict[int, float]:
    """Print per-image read times; return glimpse/STN time ratio per size."""
    print(f"read of a {n}x{n} window, 3-channel images, batch {batch}, forward+backward, best of {repeats}")
    print(f"{'size':>5} {'STN ms/img':>11} {'glimpse ms/img':>15} {'glimpse/STN':>12}")
    theta = torch.tensor([[0.5, 0.0, 0.1], [0.0, 0.5, -0.2]]).repeat(batch, 1, 1)
    # glimpse: centre (0.55, 0.4), stride, sigma, gamma
    params = torch.tensor([0.55, 0.4, 0.5 / n, 0.25 / n, 1.0]).repeat(batch, 1)
    ratios = {}
    for size in sizes:
        images = torch.randn(batch, 3, size, size, generator=torch.Generator().manual_seed(size))
        t_stn = time_read(stn_read, images, theta, n, repeats)
        t_glimpse = time_read(glimpse_read, images, params, n, repeats)
        ratios[size] = t_glimpse / t_stn
        print(f"{size:>5} {t_stn * 1e3:>11.3f} {t_glimpse * 1e3:>15.3f} {ratios[size]:>12.2f}", flush=True)
    return ratios


def box_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """IoU of ``a (4,)`` with each row of ``b (M, 4)``, boxes ``[x0, y0, x1, y1]``."""
    lo, hi = torch.maximum(a[:2], b[:, :2]), torch.minimum(a[2:], b[:, 2:])
    inter = (hi - lo).clamp(min=0).prod(dim=1)
    area = (a[2:] - a[:2]).prod() + (b[:, 2:] - b[:, :2]).prod(dim=1)
    return inter / (area - inter).clamp(min=1e-12)


def train_and_score(head: str, seed: int, args: argparse.Namespace) -> dict[str, float]:
    stem, head_overrides = HEADS[head]
    overrides = [f"data.image_size={args.image_size}", f"data.dataset.root={args.root}", f"seed={seed}"]
    cfg = load_config(CONFIGS / f"{stem}.yaml", [*overrides, *head_overrides, "optim.epochs=1"])
    torch.manual_seed(seed)
    train_set = build_dataset(cfg, "train", train=True)
    test_set = Subset(build_dataset(cfg, "test", train=False), range(args.test_images))
    model = build_model(cfg.model, train_set.num_classes)
    optimizer = build_optimizer(model, cfg)
    scheduler = build_scheduler(optimizer, cfg, steps_per_epoch=args.steps)  # the recipe's shape over --steps
    generator = torch.Generator().manual_seed(seed)
    loader = DataLoader(train_set, args.batch, shuffle=True, collate_fn=collate_samples, generator=generator)
    model.train()
    step = 0
    while step < args.steps:
        for batch in loader:
            out = model(batch["image"])
            loss = F.cross_entropy(out.logits, batch["label"]) + sum(out.aux_losses.values())
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
            step += 1
            if step == args.steps:
                break
    model.eval()
    correct = hits = collapsed = 0
    with torch.no_grad():
        for batch in DataLoader(test_set, 100, collate_fn=collate_samples):
            out = model(batch["image"])
            correct += int((out.logits.argmax(1) == batch["label"]).sum())
            for box, gt in zip(out.boxes, batch["boxes"], strict=True):
                gt = torch.as_tensor(gt, dtype=torch.float32) / args.image_size
                hits += int(box_iou(box, gt).max() >= 0.5)
                collapsed += int((box[2:] - box[:2]).prod() < 0.01)
    n = len(test_set)
    return {"top1": 100 * correct / n, "box_acc": 100 * hits / n, "collapsed": collapsed}


def training(args: argparse.Namespace) -> dict[str, list[dict[str, float]]]:
    print(
        f"\ntraining: {args.steps} steps of batch {args.batch} at {args.image_size} px, "
        f"seeds {args.seeds}, scored on the first {args.test_images} test images"
    )
    print(f"{'head':<10} {'seed':>4} {'top-1 %':>8} {'box acc %':>10} {'collapsed':>10} {'s':>6}")
    results: dict[str, list[dict[str, float]]] = {head: [] for head in HEADS}
    for seed in args.seeds:
        for head in results:
            start = time.perf_counter()
            r = train_and_score(head, seed, args)
            results[head].append(r)
            print(
                f"{head:<10} {seed:>4} {r['top1']:>8.1f} {r['box_acc']:>10.1f} {r['collapsed']:>10d} "
                f"{time.perf_counter() - start:>6.0f}",
                flush=True,
            )
    for head, runs in results.items():
        top1 = torch.tensor([r["top1"] for r in runs])
        acc = torch.tensor([r["box_acc"] for r in runs])
        spread = lambda t: f"{t.mean():.1f} +- {t.std():.1f}" if len(t) > 1 else f"{t.mean():.1f}"  # noqa: E731
        print(f"{head:<10} mean top-1 {spread(top1)}, box acc {spread(acc)}")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="timing only, batch 4, sizes 64 128 256")
    parser.add_argument("--sizes", type=int, nargs=3, default=[128, 256, 512])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--read", type=int, default=32, help="N of the N x N window read in the timing")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--image-size", type=int, default=128)
    parser.add_argument("--test-images", type=int, default=500)
    parser.add_argument("--root", default="data/synthparts")
    parser.add_argument("--no-timing", action="store_true", help="only the training comparison")
    parser.add_argument("--no-training", action="store_true", help="only the timing comparison")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.quick:
        args.batch, args.sizes, args.repeats = 4, [64, 128, 256], 2
    if not args.no_timing:
        ratios = timing(args.sizes, args.batch, args.read, args.repeats)
        largest = args.sizes[-1]
        met = "met" if ratios[largest] >= 10 else "NOT met"
        print(f"GOAL STN read faster than glimpse at {largest} px: {ratios[largest]:.2f}x (goal 10x) {met}")
    if args.quick or args.no_training:
        return
    results = training(args)
    mean_box_acc = {head: sum(r["box_acc"] for r in runs) / len(runs) for head, runs in results.items()}
    glimpse, stn = mean_box_acc["glimpse"], mean_box_acc["stn_affine"]
    met = "met" if glimpse > stn else "NOT met"
    print(f"GOAL glimpse box accuracy above the affine STN's: {glimpse - stn:+.1f} points (goal > 0) {met}")


if __name__ == "__main__":
    main()
