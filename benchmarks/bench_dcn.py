"""Compute a Dynamic Capacity Network saves against its fine network on the whole image.

    python benchmarks/bench_dcn.py            # batch 16, 128 and 256 px, best of 5, 2 threads
    python benchmarks/bench_dcn.py --quick    # batch 4, 128 px, best of 2

Models: the DCN of ``configs/synthparts/dcn.yaml`` (coarse convnet width 8 on the whole
image, the fine convnet width 24 on k=6 patches of 32 px) and the main job's CAM model
``configs/synthparts/cam.yaml`` (the same fine convnet on the whole image, GAP + linear),
both randomly initialised, in eval mode. Cost of one inference forward of the batch:

* FLOPs counted by ``torch.utils.flop_counter.FlopCounterMode`` (convolutions and matrix
  products; DCN's count includes the backward pass through its top layers that the
  entropy-gradient saliency needs);
* wall time, best of ``--repeats`` with the two models interleaved so both see the same load.

Goals at 128 px (SynthParts' size): DCN needs at most half the fine network's FLOPs and
less of its time.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from wsol.config import load_config
from wsol.models import build_model

CONFIGS = Path(__file__).resolve().parents[1] / "configs" / "synthparts"
FLOPS_GOAL, TIME_GOAL = 0.5, 1.0


def model(name: str) -> nn.Module:
    torch.manual_seed(0)
    return build_model(load_config(CONFIGS / f"{name}.yaml").model, num_classes=10).eval()


def flops(net: nn.Module, images: torch.Tensor) -> int:
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        net(images)
    return counter.get_total_flops()


def seconds(net: nn.Module, images: torch.Tensor) -> float:
    start = time.perf_counter()
    with torch.no_grad():
        net(images)
    return time.perf_counter() - start


def goal(what: str, ratio: float, target: float) -> str:
    return f"GOAL {what}: {ratio:.2f}x (goal < {target:g}x) {'met' if ratio < target else 'NOT met'}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="batch 4, 128 px, best of 2")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 256])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    if args.quick:
        args.batch, args.sizes, args.repeats = 4, [128], 2
    torch.set_num_threads(args.threads)
    dcn, fine = model("dcn"), model("cam")
    print(f"batch {args.batch}, threads {args.threads}, best of {args.repeats} (wall time), k={dcn.head.k}")
    header = ("size", "DCN GFLOP", "fine GFLOP", "ratio", "DCN s", "fine s", "ratio")
    print(" ".join(f"{h:>{w}}" for h, w in zip(header, (5, 10, 11, 6, 8, 8, 6), strict=True)))
    ratios = {}
    for size in args.sizes:
        images = torch.randn(args.batch, 3, size, size, generator=torch.Generator().manual_seed(size))
        f_dcn, f_fine = flops(dcn, images), flops(fine, images)
        times: dict[str, list[float]] = {"dcn": [], "fine": []}
        seconds(dcn, images), seconds(fine, images)  # warm-up
        for _ in range(args.repeats):
            times["dcn"].append(seconds(dcn, images))
            times["fine"].append(seconds(fine, images))
        t_dcn, t_fine = min(times["dcn"]), min(times["fine"])
        ratios[size] = (f_dcn / f_fine, t_dcn / t_fine)
        print(
            f"{size:>5} {f_dcn / 1e9:>10.3f} {f_fine / 1e9:>11.3f} {f_dcn / f_fine:>6.2f} "
            f"{t_dcn:>8.4f} {t_fine:>8.4f} {t_dcn / t_fine:>6.2f}",
            flush=True,
        )
    size = args.sizes[0]
    print(goal(f"DCN/fine-network FLOPs at {size} px", ratios[size][0], FLOPS_GOAL))
    print(goal(f"DCN/fine-network forward time at {size} px", ratios[size][1], TIME_GOAL))


if __name__ == "__main__":
    main()
