"""Training throughput of a CAM-head model against the plain timm classifier, in one run.

    python benchmarks/bench_training.py                    # resnet18 + efficientnet_b0, 1 warm-up, 3 steps
    python benchmarks/bench_training.py --steps 20 --warmup 3 --backbones resnet18

For each backbone: ``wsol.models.build_model`` with the ``cam`` head (GAP pooling, the
main job's head) and ``timm.create_model(name)`` with the same number of classes (200,
CUB's), both from random weights, train on the same synthetic batches (224 px, batch
32, CPU, SGD, cross-entropy on the logits). After the warm-up steps the two models
alternate step by step (so both see the same machine load) and each step is timed
(wall); images/s is the batch size over the median step time. Prints images/s of both,
the ratio ``CAM / plain`` and one ``GOAL`` line per backbone (goal: ratio >= 0.95).

What differs between the two paths: the CAM model's backbone is timm's
``features_only`` version of the same network (returning every stage's output, which
costs nothing extra), and its head computes the ``(B, K, h, w)`` class maps next to the
logits (``K x C x h x w`` multiply-adds per image, about 0.3 % of resnet18's forward pass
at K = 200; no backward pass, as the loss does not use them with GAP pooling). For
efficientnet_b0 the features end at the last block (320 channels), before timm's
``conv_head`` (1x1 to 1280 channels), so the CAM model is the cheaper one.

Measured with the machine otherwise idle (2-core CPU, 2026-12-07; the other jobs on it paused
with SIGSTOP for the run): default run resnet18 0.986, efficientnet_b0 1.010; ``--steps 8
--warmup 2`` 0.998 / 1.002; ``--threads 1 --backbones efficientnet_b0 --steps 5`` 1.014. An
earlier 0.878 for efficientnet_b0 was measured while up to nine jobs shared the two cores:
interleaving the steps does not cancel contention that changes within a step, so run this
benchmark on an idle machine.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import timm
import torch
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script without installing wsol
    sys.path.insert(0, str(ROOT))

from wsol.config.schema import BackboneConfig, ModelConfig  # noqa: E402
from wsol.models.wsol_model import build_model  # noqa: E402

NUM_CLASSES = 200
GOAL = 0.95


class Trainer:
    """One model, its optimiser and a timed training step on a given batch."""

    def __init__(self, model: nn.Module, logits_of: Callable[[Any], torch.Tensor]) -> None:
        self.model = model.train()
        self.logits_of = logits_of
        self.optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        self.times: list[float] = []

    def step(self, images: torch.Tensor, labels: torch.Tensor, timed: bool) -> None:
        start = time.perf_counter()
        self.optimizer.zero_grad(set_to_none=True)
        loss = nn.functional.cross_entropy(self.logits_of(self.model(images)), labels)
        loss.backward()
        self.optimizer.step()
        if timed:
            self.times.append(time.perf_counter() - start)

    def images_per_second(self, batch: int) -> float:
        return batch / statistics.median(self.times)


def compare(name: str, args: argparse.Namespace) -> float:
    """Images/s of the CAM model over the plain classifier's, steps interleaved."""
    torch.manual_seed(0)
    cam_model = build_model(ModelConfig(backbone=BackboneConfig(name=name)), NUM_CLASSES)
    cam = Trainer(cam_model, lambda output: output.logits)
    plain = Trainer(timm.create_model(name, pretrained=False, num_classes=NUM_CLASSES), lambda logits: logits)
    generator = torch.Generator().manual_seed(0)
    for i in range(args.warmup + args.steps):
        images = torch.randn(args.batch, 3, args.size, args.size, generator=generator)
        labels = torch.randint(0, NUM_CLASSES, (args.batch,), generator=generator)
        order = (cam, plain) if i % 2 == 0 else (plain, cam)
        for trainer in order:
            trainer.step(images, labels, timed=i >= args.warmup)
    ours, theirs = cam.images_per_second(args.batch), plain.images_per_second(args.batch)
    ratio = ours / theirs
    print(f"{name}: CAM model {ours:.1f} images/s, plain timm {theirs:.1f} images/s, ratio {ratio:.3f}")
    return ratio


def main() -> None:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--backbones", nargs="+", default=["resnet18", "efficientnet_b0"])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--warmup", type=int, default=1, help="untimed steps per model (default 1)")
    parser.add_argument("--steps", type=int, default=3, help="timed steps per model (default 3)")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(
        f"batch {args.batch}, {args.size} px, {torch.get_num_threads()} threads, "
        f"{args.warmup} warm-up + {args.steps} timed steps per model (median step)"
    )
    ratios = {name: compare(name, args) for name in args.backbones}
    for name, ratio in ratios.items():
        verdict = "met" if ratio >= GOAL else "NOT met"
        print(f"GOAL {name} CAM-head training images/s vs plain timm: {ratio:.3f} (goal {GOAL}) {verdict}")


if __name__ == "__main__":
    main()
