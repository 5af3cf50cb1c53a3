"""Time wsol's explainers against pytorch-grad-cam on the same model and batch.

    python benchmarks/bench_explainers.py            # resnet18, batch 16, 224 px, 2 threads
    python benchmarks/bench_explainers.py --quick    # batch 4, 128 px, one repeat

Prints, per explainer, the best time over the repeats (ours and theirs interleaved, so
both see the same machine load; ``--cpu-time`` measures process CPU time, steadier than
wall time on a shared machine), ``theirs/ours`` (speed-up over pytorch-grad-cam) and
``ours/fwd`` (cost in units of one plain no-grad forward pass of the batch). Goals on
CPU at batch 16, 224 px: Grad-CAM >= 2x faster than pytorch-grad-cam and <= 1.3 forward
passes; Score-CAM >= 5x faster than pytorch-grad-cam. The perturbation methods cost many
forward passes per image (Score-CAM: one per channel, 512 for resnet18, in both
libraries; occlusion: one per window; SmoothGrad: one forward and backward per noisy
copy), so they run on the first ``--perturbation-images`` images of the batch; costs are
per image, so the ratios carry over to the whole batch.
pytorch-grad-cam's maps are also min-max normalised and resized to the input with cv2,
part of what their call costs; ours are raw maps at the layer's resolution.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import time
from collections.abc import Callable

import torch
import torchvision
from pytorch_grad_cam import EigenCAM, GradCAM, GradCAMPlusPlus, HiResCAM, LayerCAM, ScoreCAM, XGradCAM
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

from wsol.explainers import create_explainer, list_explainers

THEIRS = {
    "gradcam": GradCAM,
    "gradcampp": GradCAMPlusPlus,
    "hirescam": HiResCAM,
    "xgradcam": XGradCAM,
    "layercam": LayerCAM,
    "eigencam": EigenCAM,
    "scorecam": ScoreCAM,
}
OPTIONS = {"cam": {"classifier": "fc"}}
PER_IMAGE = ("scorecam", "occlusion", "smoothgrad")


def seconds(fn: Callable[[], object], clock: Callable[[], float]) -> float:
    start = clock()
    fn()
    return clock() - start


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="batch 4, 128 px, 1 repeat, 1 perturbed image")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--perturbation-images", type=int, default=2, help="images for the slow methods")
    parser.add_argument("--channels-last", action="store_true", help="channels_last images for both")
    parser.add_argument("--cpu-time", action="store_true", help="process CPU time instead of wall time")
    parser.add_argument("--only", nargs="+", default=["*"], help="wildcards of explainer names to run")
    args = parser.parse_args()
    if args.quick:
        args.batch, args.size, args.repeats, args.perturbation_images = 4, 128, 1, 1
    torch.set_num_threads(args.threads)
    clock = time.process_time if args.cpu_time else time.perf_counter
    torch.manual_seed(0)
    model = torchvision.models.resnet18().eval()
    images = torch.randn(args.batch, 3, args.size, args.size)
    if args.channels_last:
        images = images.contiguous(memory_format=torch.channels_last)
    targets = torch.randint(0, 1000, (args.batch,))

    def forward() -> None:
        with torch.no_grad():
            model(images)

    forward()
    kind = "CPU" if args.cpu_time else "wall"
    print(
        f"resnet18 batch {args.batch} {args.size}px threads {args.threads} "
        f"channels_last {args.channels_last} best of {args.repeats} ({kind} time)"
    )
    print(f"{'explainer':<11} {'ours s':>8} {'theirs s':>9} {'theirs/ours':>12} {'ours/fwd':>9}")
    for name in list_explainers(args.only):
        n = args.perturbation_images if name in PER_IMAGE else args.batch
        x, t = images[:n], targets[:n]
        ours = create_explainer({"name": name, **OPTIONS.get(name, {})}, model, "layer4")

        def run_theirs(name: str = name, x: torch.Tensor = x, t: torch.Tensor = t) -> None:
            # their hooks live only inside this block, so they never slow our runs down
            with THEIRS[name](model, [model.layer4]) as cam, contextlib.redirect_stderr(io.StringIO()):
                cam(x, [ClassifierOutputTarget(int(c)) for c in t])  # stderr: Score-CAM's tqdm bars
            model.zero_grad(set_to_none=True)

        if name not in PER_IMAGE:  # warm-up (allocations, kernel selection); the others warm themselves
            ours(x, t)
            if name in THEIRS:
                run_theirs()
        fwd, mine, other = [], [], []
        for _ in range(args.repeats):
            fwd.append(seconds(forward, clock) * n / args.batch)
            mine.append(seconds(lambda: ours(x, t), clock))  # noqa: B023
            if name in THEIRS:
                other.append(seconds(run_theirs, clock))
        ratio = f"{min(other) / min(mine):12.2f}" if other else f"{'-':>12}"
        their = f"{min(other):9.3f}" if other else f"{'-':>9}"
        print(f"{name:<11} {min(mine):8.3f} {their} {ratio} {min(mine) / min(fwd):9.2f}", flush=True)


if __name__ == "__main__":
    main()
