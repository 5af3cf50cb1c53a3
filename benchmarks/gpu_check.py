"""One prepared GPU check: training throughput, evaluation of 50,000 maps, explainers vs pytorch-grad-cam.

    python benchmarks/gpu_check.py            # on a GPU machine: finishes within about 8 minutes
    python benchmarks/gpu_check.py --smoke    # tiny sizes, CPU is enough (the test runs this)

Sections (each prints as it finishes; one table at the end):

1. *Training*: images/s of the resnet50 CUB-shaped CAM model (timm resnet50, last stage
   at stride 1 as wsolevaluation trains it, ``cam`` head with GAP, 200 classes) on
   synthetic 224 px crops in batches of 64 (SGD, cross-entropy): fp32, bf16 autocast,
   channels_last (fp32) and ``torch.compile`` (fp32), each after warm-up steps
   (compilation happens there), median of the timed steps; peak GPU memory of each.
2. *Evaluation*: 50,000 raw 14x14 CAM-like maps (random low-resolution noise plus a
   blob, one box and one mask each) through ``BoxAccuracy(modes=("multi",))``
   (MaxBoxAccV2) and ``MaskAccuracy`` (PxAP), cam_curve_interval 0.01, end to end
   (map resizing and normalisation included) over a process pool of one worker per CPU
   core (in the process itself with ``--workers 1``), states merged; goal under 60 s.
3. *Explainers*: Grad-CAM (batch 32) and exact Score-CAM (2 images, 2048 channels each)
   of wsol against pytorch-grad-cam on a timm resnet50 (``layer4``, 1000 classes) on the same
   device, as ``theirs / ours`` time ratios (goal for Score-CAM >= 5x: wsol batches
   256 masked copies per pass across images and channels, pytorch-grad-cam 16 of one
   image); peak memory of each.

Ends with one ``GOAL`` line per goal. ``--smoke`` uses timm's test_resnet at 64 px,
batch 2, 12 maps, skips ``torch.compile`` off GPU and makes no claim about the goals.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import statistics
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

import cv2
import numpy as np
import timm
import torch
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script without installing wsol
    sys.path.insert(0, str(ROOT))

from wsol.config.schema import BackboneConfig, ModelConfig  # noqa: E402
from wsol.data.sample import Sample  # noqa: E402
from wsol.explainers import create_explainer  # noqa: E402
from wsol.metrics.box_accuracy import BoxAccuracy  # noqa: E402
from wsol.metrics.mask_accuracy import MaskAccuracy  # noqa: E402
from wsol.models.wsol_model import build_model  # noqa: E402

NUM_CLASSES = 200
EVAL_GOAL_S = 60.0
SCORECAM_GOAL = 5.0


@dataclass(frozen=True)
class Sizes:
    backbone: str
    image: int
    batch: int
    warmup: int
    steps: int
    maps: int
    gradcam_batch: int
    scorecam_images: int


FULL = Sizes("resnet50", 224, 64, 5, 20, 50_000, 32, 2)
SMOKE = Sizes("test_resnet", 64, 2, 1, 1, 12, 2, 1)


def peak_gb(device: torch.device) -> str:
    return f"{torch.cuda.max_memory_allocated(device) / 2**30:.2f}" if device.type == "cuda" else "-"


def reset_peak(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)


def timed(fn: Callable[[], object], device: torch.device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    fn()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - start


# --- 1. training ------------------------------------------------------------------------------


def train_throughput(mode: str, sizes: Sizes, device: torch.device) -> tuple[float, str]:
    """(images/s, peak GB) of one training mode."""
    torch.manual_seed(0)
    backbone = BackboneConfig(name=sizes.backbone, stride_one_stages=[-1])
    model: nn.Module = build_model(ModelConfig(backbone=backbone), NUM_CLASSES).to(device).train()
    memory_format = torch.channels_last if mode == "channels_last" else torch.contiguous_format
    model = model.to(memory_format=memory_format)
    forward = torch.compile(model) if mode == "torch.compile" else model
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    images = torch.randn(sizes.batch, 3, sizes.image, sizes.image, device=device)
    images = images.to(memory_format=memory_format)
    labels = torch.randint(0, NUM_CLASSES, (sizes.batch,), device=device)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=mode == "bf16 AMP")

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        with autocast:
            loss = nn.functional.cross_entropy(forward(images).logits.float(), labels)
        loss.backward()
        optimizer.step()

    for _ in range(sizes.warmup):
        step()
    reset_peak(device)
    times = [timed(step, device) for _ in range(sizes.steps)]
    return sizes.batch / statistics.median(times), peak_gb(device)


# --- 2. evaluation ----------------------------------------------------------------------------


def _shard(first: int, count: int) -> dict[str, dict[str, np.ndarray]]:
    """Evaluate maps ``first .. first + count`` (generated from their index); return the states."""
    boxes, masks = BoxAccuracy(modes=("multi",)), MaskAccuracy()
    for start in range(first, first + count, 256):
        stop = min(start + 256, first + count)
        maps, samples = zip(*(_synthetic(i) for i in range(start, stop)), strict=True)
        boxes.update(list(maps), list(samples))
        masks.update(list(maps), list(samples))
    return {"boxes": boxes.state(), "masks": masks.state()}


def _synthetic(index: int) -> tuple[np.ndarray, Sample]:
    """A raw 14x14 map with a blob, and its image's box and mask (a 300x400 image)."""
    rng = np.random.default_rng(index)
    cy, cx = rng.uniform(3, 11, 2)
    yy, xx = np.mgrid[0:14, 0:14]
    raw = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / rng.uniform(2, 8)) + rng.normal(0, 0.1, (14, 14))
    height, width = 300, 400
    x0, y0 = int(cx / 14 * width) - 60, int(cy / 14 * height) - 50
    box = np.clip([x0, y0, x0 + 120, y0 + 100], 0, [width - 1, height - 1, width - 1, height - 1])
    mask = np.zeros((height, width), dtype=np.uint8)
    cv2.ellipse(mask, (int(cx / 14 * width), int(cy / 14 * height)), (60, 50), 0, 0, 360, 1, -1)
    boxes = np.asarray([box], dtype=np.float64)
    sample = Sample(image_id=str(index), image=None, label=0, size=(width, height), boxes=boxes, mask=mask)
    return raw, sample


def evaluate_maps(n_maps: int, workers: int) -> tuple[float, float, float]:
    """(seconds, MaxBoxAccV2, PxAP) of ``n_maps`` maps over ``workers`` processes."""
    start = time.perf_counter()
    per = -(-n_maps // workers)
    shards = [(first, min(per, n_maps - first)) for first in range(0, n_maps, per)]
    if workers == 1:
        states = [_shard(*shard) for shard in shards]
    else:
        with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
            states = list(pool.map(_shard, *zip(*shards, strict=True)))
    boxes, masks = BoxAccuracy(modes=("multi",)), MaskAccuracy()
    for state in states:
        boxes.merge_state(state["boxes"])
        masks.merge_state(state["masks"])
    v2, pxap = boxes.compute()["maxboxacc_v2"], masks.compute()["pxap"]
    return time.perf_counter() - start, v2, pxap


# --- 3. explainers ----------------------------------------------------------------------------


def explainer_ratio(name: str, sizes: Sizes, device: torch.device) -> tuple[float, float, str, str]:
    """(ours s, theirs s, ours peak GB, theirs peak GB) for ``gradcam`` or ``scorecam``."""
    from pytorch_grad_cam import GradCAM, ScoreCAM
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    torch.manual_seed(0)
    model = timm.create_model(sizes.backbone, pretrained=False).to(device).eval()
    n = sizes.gradcam_batch if name == "gradcam" else sizes.scorecam_images
    images = torch.randn(n, 3, sizes.image, sizes.image, device=device)
    targets = torch.randint(0, 1000, (n,), device=device)
    ours = create_explainer(name, model, "layer4")
    theirs_cls = GradCAM if name == "gradcam" else ScoreCAM

    def run_theirs() -> None:
        with theirs_cls(model, [model.layer4]) as cam, contextlib.redirect_stderr(io.StringIO()):
            cam(images, [ClassifierOutputTarget(int(c)) for c in targets])
        model.zero_grad(set_to_none=True)

    ours(images[:1], targets[:1])  # warm-up: kernel selection, allocator
    if name == "gradcam":  # (Score-CAM warms up within its many passes)
        run_theirs()
    reset_peak(device)
    mine = timed(lambda: ours(images, targets), device)
    my_peak = peak_gb(device)
    reset_peak(device)
    other = timed(run_theirs, device)
    return mine, other, my_peak, peak_gb(device)


# --- main -------------------------------------------------------------------------------------


def main() -> None:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes; runs on CPU")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--workers", type=int, help="evaluation processes (default: cores; --smoke: 1)")
    parser.add_argument("--skip", nargs="*", default=[], choices=["train", "eval", "explainers"])
    args = parser.parse_args()
    sizes = SMOKE if args.smoke else FULL
    args.workers = args.workers or (1 if args.smoke else os.cpu_count() or 1)
    device = torch.device(args.device)
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False  # fp32 means fp32
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    scale = "smoke sizes" if args.smoke else "full sizes"
    print(f"device {name}; torch {torch.__version__}; {scale}", flush=True)
    rows: list[tuple[str, str, str]] = []
    goals: list[str] = []
    if "train" not in args.skip:
        modes = ["fp32", "bf16 AMP", "channels_last", "torch.compile"]
        for mode in modes:
            if mode == "torch.compile" and device.type != "cuda" and args.smoke:
                rows.append((f"train {sizes.backbone} {mode}", "skipped off GPU in --smoke", "-"))
                continue
            speed, peak = train_throughput(mode, sizes, device)
            rows.append((f"train {sizes.backbone} {mode}", f"{speed:.1f} images/s", peak))
            print(*rows[-1], sep="  |  ", flush=True)
    if "eval" not in args.skip:
        seconds, v2, pxap = evaluate_maps(sizes.maps, args.workers)
        result = f"{seconds:.1f} s (V2 {v2:.2f}, PxAP {pxap:.2f})"
        rows.append((f"eval {sizes.maps} maps (V2 + PxAP), {args.workers} workers", result, "-"))
        print(*rows[-1], sep="  |  ", flush=True)
        goals.append(_goal(f"evaluation of {sizes.maps} maps (s)", seconds, EVAL_GOAL_S, below=True))
    if "explainers" not in args.skip:
        for explainer in ("gradcam", "scorecam"):
            mine, other, my_peak, their_peak = explainer_ratio(explainer, sizes, device)
            result = f"{other / mine:.2f}x ({mine:.2f} s vs {other:.2f} s)"
            rows.append((f"{explainer} vs pytorch-grad-cam", result, f"{my_peak} vs {their_peak}"))
            print(*rows[-1], sep="  |  ", flush=True)
            if explainer == "scorecam":
                goals.append(_goal("exact Score-CAM vs pytorch-grad-cam (x)", other / mine, SCORECAM_GOAL))
    width = max(len(r[0]) for r in rows)
    print(f"\n{'check':<{width}}  {'result':<48}  peak GB")
    for check, result, peak in rows:
        print(f"{check:<{width}}  {result:<48}  {peak}")
    for line in goals:
        print(line if not args.smoke else f"{line} [smoke sizes: not a measurement]")


def _goal(what: str, measured: float, target: float, below: bool = False) -> str:
    met = measured < target if below else measured >= target
    relation = "<" if below else ">="
    return f"GOAL {what}: {measured:.2f} (goal {relation} {target:g}) {'met' if met else 'NOT met'}"


if __name__ == "__main__":
    main()
