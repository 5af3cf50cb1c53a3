"""Occlusion (Zeiler & Fergus, ECCV 2014, https://arxiv.org/abs/1311.2901).

A ``window x window`` square set to ``baseline`` slides over the image with ``stride``
(the last position is aligned with the far edge, so every pixel is covered); each
position's score drop ``S_c(X) - S_c(X occluded)`` is spread over the pixels it covers
and each pixel gets the mean drop of the windows covering it. Input resolution; the map
is signed (occluding a distractor can raise the score); ``target_layer`` is ignored.

Zeiler & Fergus plot the class probability as a function of the occluder's position
(a grey square); wsol uses the target logit, like the other explainers, and the mean
over windows to reach input resolution (as Captum's ``Occlusion``). ``baseline`` is in
the model's input units: 0 is the mean colour for mean/std-normalised images. The
occluded copies of all images are run in batches of ``batch_size``.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from wsol.errors import ConfigError, WSOLError
from wsol.explainers import EXPLAINERS
from wsol.explainers.base import Explainer, chunks


@EXPLAINERS.register("occlusion")
class Occlusion(Explainer):
    space = "input"
    non_negative = False

    def __init__(
        self,
        model: nn.Module,
        target_layer: nn.Module | str | None = None,
        window: int = 32,
        stride: int = 16,
        baseline: float = 0.0,
        batch_size: int = 16,
        *,
        differentiable: bool = False,
    ) -> None:
        super().__init__(model, target_layer, differentiable=differentiable)
        if min(window, stride, batch_size) < 1 or stride > window:
            raise ConfigError(
                f"occlusion needs positive window, stride and batch_size with stride <= window (so that "
                f"every pixel is covered), got {window}, {stride}, {batch_size}"
            )
        self.window, self.stride, self.baseline, self.batch_size = window, stride, baseline, batch_size

    def explain(self, images: Tensor, targets: Tensor | None) -> Tensor:
        logits = self.forward(images)
        targets = self.resolve_targets(logits, targets)
        clean = logits.gather(1, targets[:, None])[:, 0]
        rows, cols = self.coverage(images.shape[-2], images), self.coverage(images.shape[-1], images)
        per_image = len(rows) * len(cols)
        drops = []
        for part in chunks(len(images) * per_image, self.batch_size):
            index = torch.arange(part.start, part.stop, device=images.device)
            b, r, c = index // per_image, index % per_image // len(cols), index % len(cols)
            square = (rows[r][:, :, None] * cols[c][:, None, :])[:, None]
            occluded = images[b] * (1 - square) + self.baseline * square
            drops.append(clean[b] - self.forward(occluded).gather(1, targets[b][:, None])[:, 0])
        drops = torch.cat(drops).view(len(images), len(rows), len(cols))
        count = rows.sum(0)[:, None] * cols.sum(0)[None, :]
        return torch.einsum("iy,bij,jx->byx", rows, drops, cols) / count

    def coverage(self, size: int, like: Tensor) -> Tensor:
        """``(positions, size)`` 0/1 matrix: which pixels of a side each window position covers."""
        if self.window > size:
            raise WSOLError(f"occlusion window {self.window} is larger than the {size}-pixel image side")
        starts = list(range(0, size - self.window + 1, self.stride))
        if starts[-1] + self.window < size:
            starts.append(size - self.window)
        pixel = torch.arange(size, device=like.device)
        first = torch.tensor(starts, device=like.device)[:, None]
        return ((pixel >= first) & (pixel < first + self.window)).to(like.dtype)
