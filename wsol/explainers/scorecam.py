"""Score-CAM (Wang et al., CVPR Workshops 2020, https://arxiv.org/abs/1910.01279).

Each channel ``A_k`` of the target layer is upsampled to the input size (bilinear) and
min-max normalised to a mask ``H_k`` in [0, 1]; its score is the target logit of the
masked image, ``s_k = S_c(X ⊙ H_k)``. The map is ``ReLU(sum_k softmax(s)_k A_k)`` at the
target layer's resolution. The paper scores a channel by its increase in confidence
over a baseline image, ``S_c(X ⊙ H_k) - S_c(X_b)``: a shift common to all channels,
which the softmax over channels removes.

Cost: one forward pass per (image, channel) pair, which no implementation avoids, run
in batches of ``batch_size`` pairs drawn across images and channels (default 16 on CPU,
where larger batches ran slower per image for resnet18 at 224 px, and 256 on a GPU,
which pytorch-grad-cam keeps at 16 masked copies of one image per pass).
``faster_scorecam`` (:mod:`wsol.explainers.faster_scorecam`) scores only a few channels. Each
mask is computed once, straight into its batch (nothing of size ``B x C x H x W`` is
kept; pytorch-grad-cam materialises ``B x C x 3 x H x W`` masked images, 4.9 GB for 16
images of 224 px and 512 channels), and masked images keep the input's memory format.
A constant channel (e.g. all zero) has the all-zero mask; its score, the logit of a
blank image, is computed once for all such channels instead of once per channel.

Reference code. pytorch-grad-cam's ``ScoreCAM`` weights channels the same way but
upsamples with ``align_corners=True`` (wsol: ``False``, as the authors' code and
``cv2.resize``) and adds 1e-8 to the normalisation's denominator (wsol: exact; a
constant map becomes 0). The authors' code (haofanwang/Score-CAM) weights each channel
by the softmax class probability of its masked image instead (no normalisation over
channels), skips constant channels and returns an input-resolution map.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from wsol.errors import ConfigError
from wsol.explainers import EXPLAINERS
from wsol.explainers.base import Explainer, chunks, min_max_normalize


@EXPLAINERS.register("scorecam")
class ScoreCAM(Explainer):
    """Score-CAM over every channel of the target layer (see the module docstring).

    Args:
        batch_size: masked images per forward pass, drawn across images and channels;
            None: 16 on CPU, 256 on other devices (a GPU needs large batches to be busy).
            The maps do not depend on it beyond floating-point rounding.
    """

    def __init__(
        self,
        model: nn.Module,
        target_layer: nn.Module | str | None = None,
        batch_size: int | None = None,
        *,
        differentiable: bool = False,
    ) -> None:
        super().__init__(model, target_layer, differentiable=differentiable)
        if batch_size is not None and batch_size < 1:
            raise ConfigError(f"scorecam batch_size must be positive, got {batch_size}")
        self.batch_size = batch_size

    def explain(self, images: Tensor, targets: Tensor | None) -> Tensor:
        logits, acts = self.capture(images)
        targets = self.resolve_targets(logits, targets)
        scores = self.channel_scores(images, acts, targets, self.select_channels(acts))
        weights = scores.softmax(1)
        return torch.relu(torch.einsum("bk,bkhw->bhw", weights, acts))

    def select_channels(self, acts: Tensor) -> Tensor:
        """``(B, C)`` bool: the channels each image's map combines (Score-CAM: all)."""
        return torch.ones(acts.shape[:2], dtype=torch.bool, device=acts.device)

    def channel_scores(self, images: Tensor, acts: Tensor, targets: Tensor, selected: Tensor) -> Tensor:
        """``(B, C)`` target logit of each image masked by each selected channel; -inf
        elsewhere (weight 0 after the softmax). Constant channels share the blank image's score."""
        flat = acts.flatten(2)
        informative = (flat.amax(2) > flat.amin(2)) & selected
        scores = acts.new_zeros(acts.shape[:2])
        if not informative[selected].all():
            blank = self.forward(torch.zeros_like(images[:1]))[0]
            scores = scores + blank[targets][:, None]
        image_idx, channel_idx = informative.nonzero(as_tuple=True)
        size = self.batch_size or (16 if images.device.type == "cpu" else 256)
        for part in chunks(len(image_idx), size):
            i, k = image_idx[part], channel_idx[part]
            up = F.interpolate(acts[i, k][:, None], images.shape[-2:], mode="bilinear", align_corners=False)
            masked = images[i] * min_max_normalize(up)
            score = self.forward(masked).gather(1, targets[i][:, None])[:, 0]
            scores = scores.index_put((i, k), score)
        return scores.masked_fill(~selected, float("-inf"))
