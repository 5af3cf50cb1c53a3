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
``faster_scorecam`` (top-10 channels by variance) has no pytorch-grad-cam counterpart.

Fidelity of Faster Score-CAM (``--fidelity CHECKPOINT``, e.g. the main job's
``runs/synthparts_cam/checkpoints/epoch_0003.pth``): on the first ``--fidelity-images``
test images of the checkpoint's dataset, maps of exact Score-CAM and of Faster
Score-CAM for each ``--fidelity-n`` at the last backbone stage, for the predicted
classes; per row the CPU seconds per image, the speed-up over exact, the mean Spearman
rank correlation of each image's map with the exact one, and MaxBoxAccV2 / PxAP of the
maps (``eval.resolution`` 224, interval 0.01). Measured figures: README, Benchmarks.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import time
from collections.abc import Callable

import numpy as np
import torch
import torchvision
from pytorch_grad_cam import EigenCAM, GradCAM, GradCAMPlusPlus, HiResCAM, LayerCAM, ScoreCAM, XGradCAM
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
from scipy.stats import spearmanr

from wsol.config import load_config
from wsol.data.datasets import DATASETS
from wsol.data.transforms import TRANSFORMS
from wsol.explainers import create_explainer, list_explainers
from wsol.explainers.base import chunks, logits_of
from wsol.metrics.box_accuracy import BoxAccuracy
from wsol.metrics.mask_accuracy import MaskAccuracy
from wsol.models.wsol_model import build_model

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
PER_IMAGE = ("scorecam", "occlusion", "smoothgrad")  # faster_scorecam: 10 passes per image, whole batch


def seconds(fn: Callable[[], object], clock: Callable[[], float]) -> float:
    start = clock()
    fn()
    return clock() - start


def fidelity(args: argparse.Namespace) -> None:
    """Faster Score-CAM against exact Score-CAM on a trained model's test images."""
    state = torch.load(args.fidelity, map_location="cpu", weights_only=False)
    cfg = load_config(base=state["config"])
    model = build_model(cfg.model, state["num_classes"])
    model.load_state_dict(state["model"])
    model.eval()
    spec = {**cfg.data.dataset, **({"root": args.fidelity_root} if args.fidelity_root else {})}
    dataset = DATASETS.build(spec, split="test")
    dataset.transform = TRANSFORMS.build(cfg.data.eval_transform, image_size=cfg.data.image_size)
    indices = range(min(args.fidelity_images, len(dataset)))
    images = torch.stack([dataset[i]["image"] for i in indices])
    targets = [dataset.load_target(i) for i in indices]
    layer = model.backbone.stage_modules[-1]
    with torch.no_grad():
        predicted = logits_of(model(images)).argmax(1)
    print(
        f"\nfidelity to exact Score-CAM: {cfg.name} ({args.fidelity}), {len(images)} test images,"
        f" predicted classes, {dataset.ground_truth & {'boxes', 'masks'}}"
    )
    print(f"{'explainer':<22} {'s/image':>8} {'speed-up':>9} {'spearman':>9} {'MaxBoxAccV2':>12} {'PxAP':>7}")
    rows, exact = {}, None
    for n in (None, *args.fidelity_n):
        name = "scorecam" if n is None else f"faster_scorecam N={n}"
        spec = {"name": "scorecam"} if n is None else {"name": "faster_scorecam", "n_channels": n}
        explainer = create_explainer(spec, model, layer)
        start = time.process_time()
        maps = torch.cat([explainer(images[part], predicted[part]) for part in chunks(len(images), 32)])
        seconds_per_image = (time.process_time() - start) / len(images)
        exact = maps if exact is None else exact
        pairs = zip(maps, exact, strict=True)
        rho = float(np.mean([spearmanr(a.flatten(), b.flatten())[0] for a, b in pairs]))
        scores = localization(maps, targets, predicted)
        rows[name] = (seconds_per_image, rho, *scores)
        speed = rows["scorecam"][0] / seconds_per_image
        cells = f"{seconds_per_image:8.4f} {speed:9.1f} {rho:9.3f} {scores[0]:12.2f} {scores[1]:7.2f}"
        print(f"{name:<22} {cells}")


def localization(maps: torch.Tensor, targets: list, predicted: torch.Tensor) -> tuple[float, float]:
    """MaxBoxAccV2 and PxAP of raw maps (NaN where the split lacks that ground truth)."""
    out = []
    metrics = ((BoxAccuracy(modes=("multi",)), "maxboxacc_v2", "boxes"), (MaskAccuracy(), "pxap", "mask"))
    for metric, key, needs in metrics:
        if any(getattr(t, needs) is None or len(getattr(t, needs)) == 0 for t in targets):
            out.append(float("nan"))
            continue
        metric.update(list(maps.numpy()), targets, predicted.tolist())
        out.append(metric.compute()[key])
    return out[0], out[1]


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
    parser.add_argument("--fidelity", metavar="CHECKPOINT", help="Faster vs exact Score-CAM here")
    parser.add_argument("--fidelity-root", help="dataset root for --fidelity (overrides the checkpoint's)")
    parser.add_argument("--fidelity-images", type=int, default=100, help="test images for --fidelity")
    parser.add_argument("--fidelity-n", type=int, nargs="+", default=[10, 32], help="Faster Score-CAM Ns")
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
    print(f"{'explainer':<15} {'ours s':>8} {'theirs s':>9} {'theirs/ours':>12} {'ours/fwd':>9}")
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
        print(f"{name:<15} {min(mine):8.3f} {their} {ratio} {min(mine) / min(fwd):9.2f}", flush=True)
    if args.fidelity:
        fidelity(args)


if __name__ == "__main__":
    main()
